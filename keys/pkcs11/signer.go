//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	p11 "github.com/miekg/pkcs11"

	"github.com/mynacard/freespace/keys"
)

// ed25519OID is the DER encoding of id-Ed25519 (1.3.101.112, RFC 8410),
// the CKA_EC_PARAMS of an Ed25519 key pair.
var ed25519OID = []byte{0x06, 0x03, 0x2B, 0x65, 0x70}

// GenerateEd25519 creates an Ed25519 key pair inside the token
// (CKM_EC_EDWARDS_KEY_PAIR_GEN) with CKA_LABEL label and CKA_ID the
// version's 4 bytes: the private key sensitive and never extractable, the
// public key readable. It returns the public key.
func (p *Provider) GenerateEd25519(ctx context.Context, label string, version int) (ed25519.PublicKey, error) {
	for _, m := range []uint{ckmECEdwardsKeyPairGen, ckmEdDSA} {
		if !p.HasMechanism(m) {
			return nil, &Error{Op: "generate", Token: p.cfg.Token, Object: label, Kind: ErrMechanism, Detail: mechName(m) + " missing"}
		}
	}
	var pub ed25519.PublicKey
	err := p.with(ctx, "generate", label, func(sh p11.SessionHandle) error {
		ref := refOf(label, version)
		if err := p.checkNew(sh, p11.CKO_PRIVATE_KEY, ref); err != nil {
			return err
		}
		id := versionID(version)
		pubT := []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, ckkECEdwards),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_VERIFY, true),
			p11.NewAttribute(p11.CKA_EC_PARAMS, ed25519OID),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, id),
		}
		privT := []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, ckkECEdwards),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_PRIVATE, true),
			p11.NewAttribute(p11.CKA_SENSITIVE, true),
			p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
			p11.NewAttribute(p11.CKA_SIGN, true),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, id),
		}
		hpub, _, err := p.mod.GenerateKeyPair(sh, []*p11.Mechanism{p11.NewMechanism(ckmECEdwardsKeyPairGen, nil)}, pubT, privT)
		if err != nil {
			return err
		}
		pub, err = p.publicKey(sh, hpub, label)
		return err
	})
	return pub, err
}

// publicKey reads an Ed25519 public key object (CKA_EC_POINT: the 32
// bytes, raw or as a DER OCTET STRING).
func (p *Provider) publicKey(sh p11.SessionHandle, h p11.ObjectHandle, label string) (ed25519.PublicKey, error) {
	a, err := p.mod.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_POINT, nil)})
	if err != nil {
		return nil, err
	}
	v := a[0].Value
	if len(v) == 2+ed25519.PublicKeySize && v[0] == 0x04 && v[1] == ed25519.PublicKeySize {
		v = v[2:]
	}
	if len(v) != ed25519.PublicKeySize {
		return nil, &Error{Op: "sign", Token: p.cfg.Token, Object: label, Kind: ErrUnsafeObject, Detail: fmt.Sprintf("CKA_EC_POINT of %d bytes is not an Ed25519 key", len(a[0].Value))}
	}
	return ed25519.PublicKey(append([]byte(nil), v...)), nil
}

// Signer is a crypto.Signer whose Ed25519 private key stays in the token
// (CKM_EDDSA). Every signature is checked against the public key before
// it is returned, so a faulty token cannot publish a bad signature.
type Signer struct {
	p     *Provider
	label string
	id    []byte
	pub   ed25519.PublicKey
}

// Signer finds the Ed25519 key pair with CKA_LABEL label (and CKA_ID
// the version's 4 bytes when version ≥ 1; the latest version when 0)
// and returns a signer for it.
func (p *Provider) Signer(ctx context.Context, label string, version int) (*Signer, error) {
	if !p.HasMechanism(ckmEdDSA) {
		return nil, &Error{Op: "sign", Token: p.cfg.Token, Object: label, Kind: ErrMechanism, Detail: "CKM_EDDSA missing"}
	}
	s := &Signer{p: p, label: label}
	err := p.with(ctx, "sign", label, func(sh p11.SessionHandle) error {
		ref, err := p.resolve(sh, p11.CKO_PUBLIC_KEY, refOf(label, version))
		if err != nil {
			return err
		}
		s.id = versionID(ref.Version)
		hs, err := p.find(sh, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, ckkECEdwards),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, s.id),
		})
		if err != nil {
			return err
		}
		if len(hs) != 1 {
			return &Error{Op: "sign", Token: p.cfg.Token, Object: ref.String(), Kind: ErrObjectMissing, Detail: fmt.Sprintf("%d Ed25519 public key objects", len(hs))}
		}
		s.pub, err = p.publicKey(sh, hs[0], label)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Public returns the ed25519.PublicKey.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// String names the key, never its bytes.
func (s *Signer) String() string {
	return fmt.Sprintf("pkcs11.Signer{token %q, object %q}", s.p.cfg.Token, s.label)
}

// Sign signs message with pure Ed25519 (opts must be crypto.Hash(0) or
// nil: Ed25519ph is not offered) inside the token.
func (s *Signer) Sign(_ io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.SignContext(context.Background(), message, opts)
}

// SignContext is Sign with a context.
func (s *Signer) SignContext(ctx context.Context, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts != nil && opts.HashFunc() != 0 {
		return nil, errors.New("pkcs11: Ed25519 signs the message itself: want crypto.Hash(0)")
	}
	var sig []byte
	obj := s.label
	err := s.p.with(ctx, "sign", obj, func(sh p11.SessionHandle) error {
		hs, err := s.p.find(sh, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, ckkECEdwards),
			p11.NewAttribute(p11.CKA_LABEL, s.label),
			p11.NewAttribute(p11.CKA_ID, s.id),
		})
		if err != nil {
			return err
		}
		if len(hs) != 1 {
			return &Error{Op: "sign", Token: s.p.cfg.Token, Object: obj, Kind: ErrObjectMissing, Detail: fmt.Sprintf("%d Ed25519 private key objects", len(hs))}
		}
		if err := s.p.mod.SignInit(sh, []*p11.Mechanism{p11.NewMechanism(ckmEdDSA, nil)}, hs[0]); err != nil {
			return err
		}
		sig, err = s.p.mod.Sign(sh, message)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(s.pub, message, sig) {
		return nil, &Error{Op: "sign", Token: s.p.cfg.Token, Object: obj, Kind: ErrToken, Detail: "the token's signature does not verify under its public key"}
	}
	return sig, nil
}

// refOf names an object by label and version.
func refOf(label string, version int) keys.KeyRef { return keys.KeyRef{Name: label, Version: version} }
