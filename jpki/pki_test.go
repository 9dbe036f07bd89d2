package jpki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
)

// testNow is the verification time of the tests.
var testNow = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// testKeys are generated once per test binary: rsa.GenerateKey ignores
// its random source in Go 1.26, so nothing here is reproducible bit for
// bit, and nothing needs to be (the mock card's committed fixtures are).
var testKeys = sync.OnceValue(func() [4]*rsa.PrivateKey {
	var ks [4]*rsa.PrivateKey
	var wg sync.WaitGroup
	for i := range ks {
		wg.Go(func() {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			ks[i] = k
		})
	}
	wg.Wait()
	return ks
})

// testPKI is a root (the J-LIS authentication CA of the tests), a card's
// key and its authentication certificate, and a stranger root.
type testPKI struct {
	root, other       *x509.Certificate
	rootKey, otherKey *rsa.PrivateKey
	cardKey           *rsa.PrivateKey
	leaf              *x509.Certificate
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	ks := testKeys()
	p := &testPKI{rootKey: ks[0], cardKey: ks[1], otherKey: ks[2]}
	p.root = selfSigned(t, "JPKI for user authentication (test)", p.rootKey)
	p.other = selfSigned(t, "Stranger CA (test)", p.otherKey)
	p.leaf = p.issue(t, p.root, p.rootKey, &p.cardKey.PublicKey, leafTemplate(1900))
	return p
}

func selfSigned(t testing.TB, ou string, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{Country: []string{"JP"}, Organization: []string{"JPKI"}, OrganizationalUnit: []string{ou}},
		NotBefore:    testNow.AddDate(-2, 0, 0), NotAfter: testNow.AddDate(8, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// leafTemplate is an authentication certificate padded (by a non-critical
// private extension) to about size bytes, as real ones are about 1.9 KB.
func leafTemplate(size int) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x0705d990),
		Subject:      pkix.Name{Country: []string{"JP"}, CommonName: "8439TESTOPAQUE00000A"},
		NotBefore:    testNow.AddDate(0, -1, 0), NotAfter: testNow.AddDate(4, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if pad := size - 900; pad > 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: make([]byte, pad)}}
	}
	return tmpl
}

func (p *testPKI) issue(t testing.TB, parent *x509.Certificate, parentKey *rsa.PrivateKey, pub any, tmpl *x509.Certificate) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
