package mockcard

import (
	"crypto/rsa"
	"crypto/x509"
	"embed"
	"encoding/pem"
	"fmt"
)

// The test PKI of the mock JPKI AP, made once by mockcard/internal/jpkigen
// (rsa.GenerateKey in Go 1.26 ignores the random source it is given, so it
// cannot be derived from a seed) and committed. See testdata/jpki/README.md.
//
//go:embed testdata/jpki/*.der testdata/jpki/*.key.pem
var jpkiFixtures embed.FS

// JPKITestCert is one certificate of the JPKI test PKI with its private
// key. The keys are public test fixtures: trust them nowhere but in tests.
type JPKITestCert struct {
	// Name is the fixture's file name without extension, e.g. "card-auth".
	Name string
	// DER is the certificate as stored on the card.
	DER []byte
	// Cert is DER parsed.
	Cert *x509.Certificate
	// Key is the certificate's RSA-2048 private key.
	Key *rsa.PrivateKey
}

// String names the fixture without its key.
func (c JPKITestCert) String() string { return "mockcard.JPKITestCert{" + c.Name + "}" }

// GoString is String, so that %#v prints no key either.
func (c JPKITestCert) GoString() string { return c.String() }

// JPKITestPKI is the test PKI shaped like JPKI's (docs/PROTOCOL.md chapter
// 10): self-signed CAs per purpose and generation, as J-LIS runs them, and
// card certificates issued by them. Dates are fixed (tests inject a clock):
//
//	AuthCA2015   self-signed auth CA, previous generation  2015-10-19 .. 2025-10-19 (expired)
//	AuthCA2023   self-signed auth CA, current generation   2023-07-15 .. 2033-07-15
//	SignCA2023   self-signed signing CA                    2023-07-15 .. 2033-07-15
//	RogueAuthCA  same name, serial and dates as AuthCA2023, another key (issuer-name attacks)
//	CardAuth     auth certificate of the default mock card, by AuthCA2023, 1896 bytes,
//	             2025-01-06 .. 2030-01-06, serial 10000001, keyUsage digitalSignature
//	Card2Auth    a second card's auth certificate, by AuthCA2023, serial 10000002
//	OldCardAuth  a card of the previous generation, by AuthCA2015, 2020-03-02 .. 2025-03-02
//	RogueCardAuth same subject and serial as CardAuth, issued by RogueAuthCA
//	CardSign     signing certificate of the default mock card, by SignCA2023, with
//	             fictitious personal attributes in subjectAltName
//
// Auth certificates carry no personal data: their subject is C=JP and an
// opaque CN.
type JPKITestPKI struct {
	AuthCA2015, AuthCA2023, SignCA2023, RogueAuthCA JPKITestCert
	CardAuth, Card2Auth, OldCardAuth, RogueCardAuth JPKITestCert
	CardSign                                        JPKITestCert
}

// LoadJPKITestPKI parses the embedded test PKI. Every call returns fresh
// copies (callers may modify them).
func LoadJPKITestPKI() (*JPKITestPKI, error) {
	var p JPKITestPKI
	for _, f := range []struct {
		name string
		dst  *JPKITestCert
	}{
		{"auth-ca-2015", &p.AuthCA2015}, {"auth-ca-2023", &p.AuthCA2023}, {"sign-ca-2023", &p.SignCA2023},
		{"rogue-auth-ca-2023", &p.RogueAuthCA}, {"card-auth", &p.CardAuth}, {"card2-auth", &p.Card2Auth},
		{"card-old-auth", &p.OldCardAuth}, {"rogue-card-auth", &p.RogueCardAuth}, {"card-sign", &p.CardSign},
	} {
		c, err := loadJPKIFixture(f.name)
		if err != nil {
			return nil, err
		}
		*f.dst = c
	}
	return &p, nil
}

// MustLoadJPKITestPKI is LoadJPKITestPKI for tests: the fixtures are part of
// the package, so an error is a broken build.
func MustLoadJPKITestPKI() *JPKITestPKI {
	p, err := LoadJPKITestPKI()
	if err != nil {
		panic(err)
	}
	return p
}

func loadJPKIFixture(name string) (JPKITestCert, error) {
	der, err := jpkiFixtures.ReadFile("testdata/jpki/" + name + ".der")
	if err != nil {
		return JPKITestCert{}, fmt.Errorf("mockcard: JPKI test PKI: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return JPKITestCert{}, fmt.Errorf("mockcard: JPKI test PKI %s: %w", name, err)
	}
	kp, err := jpkiFixtures.ReadFile("testdata/jpki/" + name + ".key.pem")
	if err != nil {
		return JPKITestCert{}, fmt.Errorf("mockcard: JPKI test PKI: %w", err)
	}
	blk, _ := pem.Decode(kp)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return JPKITestCert{}, fmt.Errorf("mockcard: JPKI test PKI %s: no PKCS#8 PEM key", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return JPKITestCert{}, fmt.Errorf("mockcard: JPKI test PKI %s: %w", name, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || !rk.PublicKey.Equal(cert.PublicKey) {
		return JPKITestCert{}, fmt.Errorf("mockcard: JPKI test PKI %s: key does not match the certificate", name)
	}
	return JPKITestCert{Name: name, DER: der, Cert: cert, Key: rk}, nil
}
