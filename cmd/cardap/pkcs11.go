package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"io"

	"github.com/mynacard/freespace/keys/pkcs11"
)

// The pkcs11: key sources (RFC 7512 URIs, keys/pkcs11.ParseURI): the
// operator's master keys (--keys pkcs11:token=...?module-path=...&
// pin-source=env:VAR) and the revocation feed's signing key
// (revocation publish --key pkcs11:token=...;object=feed-signing?...).
// Without cgo keys/pkcs11 compiles and returns pkcs11.ErrNoCgo, so these
// functions need no build tag: such a cardap reports that it cannot load
// a PKCS#11 module.

// feedKeyLabel is the CKA_LABEL of the feed signing key when a URI names
// no object.
const feedKeyLabel = "feed-signing"

// openToken opens the token spec names and logs in with the PIN from its
// pin-source (stdin for pin-source=stdin). The PIN is wiped after login.
func openToken(ctx context.Context, spec string, stdin io.Reader) (*pkcs11.Provider, *pkcs11.URI, error) {
	u, err := pkcs11.ParseURI(spec)
	if err != nil {
		return nil, nil, err
	}
	pin, err := pkcs11.ReadPIN(u.PINSource, stdin)
	if err != nil {
		return nil, nil, err
	}
	defer clear(pin)
	p, err := pkcs11.Open(ctx, pkcs11.Config{ModulePath: u.ModulePath, Token: u.Token, Serial: u.Serial, PIN: pin})
	if err != nil {
		return nil, nil, err
	}
	return p, u, nil
}

// uriVersion is the key version a URI's id= names (4 bytes big-endian),
// 0 (the latest) without one.
func uriVersion(u *pkcs11.URI) (int, error) {
	if u.ID == nil {
		return 0, nil
	}
	if len(u.ID) != 4 || u.ID[0]&0x80 != 0 {
		return 0, errors.New("pkcs11 URI id= must be a key version: 4 bytes big-endian, e.g. id=%00%00%00%01")
	}
	return int(u.ID[0])<<24 | int(u.ID[1])<<16 | int(u.ID[2])<<8 | int(u.ID[3]), nil
}

// tokenSigner returns the feed signing key in the token spec names
// (object=, default "feed-signing"; id= a version, default the latest).
func tokenSigner(ctx context.Context, spec string) (crypto.Signer, io.Closer, error) {
	p, u, err := openToken(ctx, spec, stdinOf(ctx))
	if err != nil {
		return nil, nil, err
	}
	label := u.Object
	if label == "" {
		label = feedKeyLabel
	}
	v, err := uriVersion(u)
	if err == nil {
		var s *pkcs11.Signer
		if s, err = p.Signer(ctx, label, v); err == nil {
			return s, p, nil
		}
	}
	p.Close()
	return nil, nil, err
}

// tokenNewFeedKey generates the feed signing key pair inside the token
// (revocation publish --new-key pkcs11:...) and returns its public key.
func tokenNewFeedKey(ctx context.Context, spec string) (ed25519.PublicKey, error) {
	p, u, err := openToken(ctx, spec, stdinOf(ctx))
	if err != nil {
		return nil, err
	}
	defer p.Close()
	label := u.Object
	if label == "" {
		label = feedKeyLabel
	}
	v, err := uriVersion(u)
	if err != nil {
		return nil, err
	}
	if v == 0 {
		v = 1
	}
	return p.GenerateEd25519(ctx, label, v)
}

// isPKCS11 reports whether a key flag names a token.
func isPKCS11(spec string) bool {
	return len(spec) >= len(pkcs11.URIScheme) && spec[:len(pkcs11.URIScheme)] == pkcs11.URIScheme
}
