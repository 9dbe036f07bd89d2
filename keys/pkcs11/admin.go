//go:build cgo

package pkcs11

import (
	"context"
	"fmt"
	"sort"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/mynacard/freespace/keys"
)

// Object describes a key object on the token for listings (cardap keys
// list). It holds no key material.
type Object struct {
	// Class is "secret", "private" or "public".
	Class string `json:"class"`
	// Label is CKA_LABEL: the key name.
	Label string `json:"label"`
	// Version is read from CKA_ID (4 bytes big-endian); 0 when the ID is
	// not a version.
	Version int `json:"version"`
	// Algorithm is "aes", "3des", "ed25519" or "other".
	Algorithm string `json:"alg"`
	// Len is the key length in bytes (secret keys).
	Len int `json:"len,omitempty"`
	// Extractable and Sensitive are CKA_EXTRACTABLE and CKA_SENSITIVE
	// (secret and private keys).
	Extractable bool `json:"extractable"`
	Sensitive   bool `json:"sensitive"`
}

// secretTemplate is the template of a master key object: a token object,
// private, sensitive, never extractable, usable only for CMAC signing.
func secretTemplate(ref keys.KeyRef, kt uint) []*p11.Attribute {
	return []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, kt),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_SIGN, true),
		p11.NewAttribute(p11.CKA_VERIFY, false),
		p11.NewAttribute(p11.CKA_ENCRYPT, false),
		p11.NewAttribute(p11.CKA_DECRYPT, false),
		p11.NewAttribute(p11.CKA_WRAP, false),
		p11.NewAttribute(p11.CKA_UNWRAP, false),
		p11.NewAttribute(p11.CKA_DERIVE, false),
		p11.NewAttribute(p11.CKA_LABEL, ref.Name),
		p11.NewAttribute(p11.CKA_ID, versionID(ref.Version)),
	}
}

// checkNew refuses a reference without name or version and an existing
// object with the same label and ID.
func (p *Provider) checkNew(sh p11.SessionHandle, class uint, ref keys.KeyRef) error {
	if ref.Name == "" || ref.Version < 1 || len(ref.Name) > 64 {
		return fmt.Errorf("%w: key reference needs a name (at most 64 bytes) and a version ≥ 1", keys.ErrInvalidKey)
	}
	hs, err := p.find(sh, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, class),
		p11.NewAttribute(p11.CKA_LABEL, ref.Name),
		p11.NewAttribute(p11.CKA_ID, versionID(ref.Version)),
	})
	if err != nil {
		return err
	}
	if len(hs) > 0 {
		return &Error{Op: "create", Token: p.cfg.Token, Object: ref.String(), Kind: ErrObjectExists}
	}
	return nil
}

// Generate creates master key ref (Version ≥ 1) inside the token: AES of
// 16, 24 or 32 bytes (CKM_AES_KEY_GEN) or two-key 3DES (CKM_DES2_KEY_GEN),
// non-extractable. An existing object with the same label and ID is
// refused (ErrObjectExists).
func (p *Provider) Generate(ctx context.Context, ref keys.KeyRef, alg keys.Algorithm, n int) error {
	var mech, kt uint
	switch {
	case alg == keys.AES && (n == 16 || n == 24 || n == 32):
		mech, kt = p11.CKM_AES_KEY_GEN, p11.CKK_AES
	case alg == keys.TDES && n == 16:
		mech, kt = p11.CKM_DES2_KEY_GEN, p11.CKK_DES2
	default:
		return fmt.Errorf("%w: %s key of %d bytes", keys.ErrInvalidKey, alg, n)
	}
	if !p.HasMechanism(mech) {
		return &Error{Op: "generate", Token: p.cfg.Token, Object: ref.String(), Kind: ErrMechanism, Detail: mechName(mech) + " missing"}
	}
	return p.with(ctx, "generate", ref.String(), func(sh p11.SessionHandle) error {
		if err := p.checkNew(sh, p11.CKO_SECRET_KEY, ref); err != nil {
			return err
		}
		t := secretTemplate(ref, kt)
		if alg == keys.AES {
			t = append(t, p11.NewAttribute(p11.CKA_VALUE_LEN, n))
		}
		_, err := p.mod.GenerateKey(sh, []*p11.Mechanism{p11.NewMechanism(mech, nil)}, t)
		p.invalidateIndex()
		return err
	})
}

// Import creates master key ref (Version ≥ 1) on the token from k (for a
// key that exists outside, e.g. in a key file under a ceremony). The
// object is non-extractable from then on; the caller wipes k.
func (p *Provider) Import(ctx context.Context, ref keys.KeyRef, k keys.Key) error {
	var kt uint
	switch k.Algorithm() {
	case keys.AES:
		kt = p11.CKK_AES
	case keys.TDES:
		kt = p11.CKK_DES2
	default:
		return fmt.Errorf("%w: empty key for %s", keys.ErrInvalidKey, ref)
	}
	return p.with(ctx, "import", ref.String(), func(sh p11.SessionHandle) error {
		if err := p.checkNew(sh, p11.CKO_SECRET_KEY, ref); err != nil {
			return err
		}
		// A copy of the key for the template, wiped after the call (the
		// binding's own C copy is freed by it; Go cannot wipe that one).
		val := append([]byte(nil), k.Bytes()...)
		defer clear(val)
		_, err := p.mod.CreateObject(sh, append(secretTemplate(ref, kt), p11.NewAttribute(p11.CKA_VALUE, val)))
		p.invalidateIndex()
		return err
	})
}

// versionsTimeout bounds Versions, which has no context.
const versionsTimeout = 10 * time.Second

// Versions lists the versions of master key name on the token, ascending,
// as keys.Store.Versions does (typed resolves the latest data key with
// it); nil when there are none or the token cannot be asked (within 10 s).
// KeyVersions returns the error.
func (p *Provider) Versions(name string) []int {
	ctx, cancel := context.WithTimeout(context.Background(), versionsTimeout)
	defer cancel()
	vs, err := p.KeyVersions(ctx, name)
	if err != nil {
		p.log.Warn("pkcs11: versions", "name", name, "err", err)
		return nil
	}
	return vs
}

// KeyVersions lists the versions of master key name on the token,
// ascending.
//
// It implements keys.VersionLister, which hosts call on every tap to check
// that a card's key set is complete: the answer comes from an index of
// the token's master keys refreshed every Config.IndexTTL.
func (p *Provider) KeyVersions(ctx context.Context, name string) ([]int, error) {
	var vs []int
	err := p.with(ctx, "list", name, func(sh p11.SessionHandle) error {
		var err error
		vs, err = p.indexed(sh, name)
		return err
	})
	return vs, err
}

// List lists the key objects the user can see on the token (secret keys,
// private and public keys), sorted by label, version and class.
func (p *Provider) List(ctx context.Context) ([]Object, error) {
	var out []Object
	err := p.with(ctx, "list", "", func(sh p11.SessionHandle) error {
		out = out[:0]
		for _, class := range []uint{p11.CKO_SECRET_KEY, p11.CKO_PRIVATE_KEY, p11.CKO_PUBLIC_KEY} {
			hs, err := p.find(sh, []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, class)})
			if err != nil {
				return err
			}
			for _, h := range hs {
				o, err := p.describe(sh, class, h)
				if err != nil {
					return err
				}
				out = append(out, o)
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Label != b.Label {
			return a.Label < b.Label
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Class < b.Class
	})
	return out, err
}

func (p *Provider) describe(sh p11.SessionHandle, class uint, h p11.ObjectHandle) (Object, error) {
	o := Object{Class: map[uint]string{p11.CKO_SECRET_KEY: "secret", p11.CKO_PRIVATE_KEY: "private", p11.CKO_PUBLIC_KEY: "public"}[class]}
	want := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_LABEL, nil),
		p11.NewAttribute(p11.CKA_ID, nil),
		p11.NewAttribute(p11.CKA_KEY_TYPE, nil),
	}
	a, err := p.mod.GetAttributeValue(sh, h, want)
	if err != nil {
		return o, err
	}
	o.Label, o.Version = string(a[0].Value), idVersion(a[1].Value)
	switch attrUint(a[2]) {
	case p11.CKK_AES:
		o.Algorithm = "aes"
	case p11.CKK_DES2:
		o.Algorithm, o.Len = "3des", 16
	case ckkECEdwards:
		o.Algorithm = "ed25519"
	default:
		o.Algorithm = "other"
	}
	if class == p11.CKO_PUBLIC_KEY {
		return o, nil
	}
	more := []*p11.Attribute{p11.NewAttribute(p11.CKA_SENSITIVE, nil), p11.NewAttribute(p11.CKA_EXTRACTABLE, nil)}
	if o.Algorithm == "aes" {
		more = append(more, p11.NewAttribute(p11.CKA_VALUE_LEN, nil))
	}
	b, err := p.mod.GetAttributeValue(sh, h, more)
	if err != nil {
		return o, err
	}
	o.Sensitive, o.Extractable = attrBool(b[0]), attrBool(b[1])
	if o.Algorithm == "aes" {
		o.Len = int(attrUint(b[2]))
	}
	return o, nil
}
