package jpki

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"
	"time"

	"github.com/mynacard/freespace/profile"
)

// BenchmarkHostVerify is the host CPU of one authentication once the card
// has answered, for a card seen before: the certificate's checks, its
// chain from the Authenticator's cache (validity dates at the new time),
// and the signature of the challenge (one RSA-2048 public-key operation).
// docs/PERFORMANCE.md quotes it beside BenchmarkX509Verify.
func BenchmarkHostVerify(b *testing.B) {
	p := newTestPKI(b)
	a, err := NewAuthenticator(AuthOptions{Roots: []*x509.Certificate{p.other, p.root}, Time: func() time.Time { return testNow }, NoRevocation: true})
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("challenge"))
	sig, err := rsa.SignPKCS1v15(nil, p.cardKey, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.VerifyCertificate(p.leaf); err != nil {
			b.Fatal(err)
		}
		if err := VerifySignature(p.leaf, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkX509Verify is crypto/x509's Verify of the same certificate
// against the same pool, alone (no key checks, no challenge signature):
// the reference for BenchmarkHostVerify.
func BenchmarkX509Verify(b *testing.B) {
	p := newTestPKI(b)
	pool := x509.NewCertPool()
	pool.AddCert(p.other)
	pool.AddCert(p.root)
	opts := x509.VerifyOptions{Roots: pool, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.leaf.Verify(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate is a whole authentication against the in-process
// fake card (its RSA signature included), reporting the APDUs sent.
func BenchmarkAuthenticate(b *testing.B) {
	p := newTestPKI(b)
	for _, bc := range []struct {
		name  string
		chunk int
	}{{"short", 0}, {"extended", 4096}} {
		b.Run(bc.name, func(b *testing.B) {
			a, err := NewAuthenticator(AuthOptions{Roots: []*x509.Certificate{p.root}, Time: func() time.Time { return testNow }, NoRevocation: true, Read: ReadOptions{MaxChunk: bc.chunk}})
			if err != nil {
				b.Fatal(err)
			}
			var apdus int
			for b.Loop() {
				card := newFakeCard(p)
				card.extended = bc.chunk > 0
				res, err := a.AuthenticateWithPIN(context.Background(), card, profile.Password("1234"))
				if err != nil {
					b.Fatal(err)
				}
				apdus = res.APDUs
			}
			b.ReportMetric(float64(apdus), "APDUs/op")
		})
	}
}

// BenchmarkVerifySignatureOnly is the challenge signature check alone
// (one RSA-2048 public-key operation).
func BenchmarkVerifySignatureOnly(b *testing.B) {
	p := newTestPKI(b)
	digest := sha256.Sum256([]byte("challenge"))
	sig, _ := rsa.SignPKCS1v15(nil, p.cardKey, crypto.SHA256, digest[:])
	for b.Loop() {
		if err := VerifySignature(p.leaf, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostVerifyFirstTap is BenchmarkHostVerify with the chain cache
// emptied each time: a card the Authenticator has not seen (two RSA-2048
// public-key operations: the CA's signature on the certificate and the
// card's on the challenge).
func BenchmarkHostVerifyFirstTap(b *testing.B) {
	p := newTestPKI(b)
	a, err := NewAuthenticator(AuthOptions{Roots: []*x509.Certificate{p.other, p.root}, Time: func() time.Time { return testNow }, NoRevocation: true})
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("challenge"))
	sig, err := rsa.SignPKCS1v15(nil, p.cardKey, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		a.chains = newChainCache(chainCacheSize)
		if _, err := a.VerifyCertificate(p.leaf); err != nil {
			b.Fatal(err)
		}
		if err := VerifySignature(p.leaf, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}
