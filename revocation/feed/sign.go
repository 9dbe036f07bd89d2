package feed

import (
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"
	"io"

	"filippo.io/edwards25519"
)

// signReader signs the message that open returns (twice: Ed25519 reads its
// message in two passes) with key, in constant memory, giving the same
// signature as ed25519.Sign(key, message) byte for byte (RFC 8032
// section 5.1.6): crypto/ed25519 only signs a message held whole in
// memory, which at ten million entries is a list of 700 MB.
//
// open is called twice and must return the same bytes both times (the
// publisher's own temporary file, which nothing else writes).
func signReader(key ed25519.PrivateKey, open func() (io.ReadCloser, error)) (sig []byte, err error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: not an Ed25519 private key", ErrConfig)
	}
	h := sha512.Sum512(key[:ed25519.SeedSize])
	defer clear(h[:])
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		return nil, err
	}
	defer s.Set(edwards25519.NewScalar())
	// r = SHA-512(prefix || M), R = rB.
	mh := sha512.New()
	mh.Write(h[32:])
	if err := hashFrom(mh, open); err != nil {
		return nil, err
	}
	var digest [sha512.Size]byte
	defer clear(digest[:])
	r, err := edwards25519.NewScalar().SetUniformBytes(mh.Sum(digest[:0]))
	if err != nil {
		return nil, err
	}
	defer r.Set(edwards25519.NewScalar())
	R := (&edwards25519.Point{}).ScalarBaseMult(r)
	// k = SHA-512(R || A || M), S = k*s + r.
	kh := sha512.New()
	kh.Write(R.Bytes())
	kh.Write(key[ed25519.SeedSize:])
	if err := hashFrom(kh, open); err != nil {
		return nil, err
	}
	k, err := edwards25519.NewScalar().SetUniformBytes(kh.Sum(digest[:0]))
	if err != nil {
		return nil, err
	}
	S := edwards25519.NewScalar().MultiplyAdd(k, s, r)
	return append(R.Bytes(), S.Bytes()...), nil
}

// hashFrom copies what open returns into h.
func hashFrom(h io.Writer, open func() (io.ReadCloser, error)) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(h, rc)
	return err
}
