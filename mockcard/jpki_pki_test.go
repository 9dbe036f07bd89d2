package mockcard

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

func TestJPKITestPKIChains(t *testing.T) {
	p, err := LoadJPKITestPKI()
	if err != nil {
		t.Fatal(err)
	}
	pool := func(cs ...JPKITestCert) *x509.CertPool {
		cp := x509.NewCertPool()
		for _, c := range cs {
			cp.AddCert(c.Cert)
		}
		return cp
	}
	at := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name    string
		leaf    JPKITestCert
		roots   *x509.CertPool
		when    time.Time
		wantErr bool
	}{
		{"card by current CA", p.CardAuth, pool(p.AuthCA2023), at(2026, 12, 6), false},
		{"second card", p.Card2Auth, pool(p.AuthCA2023), at(2026, 12, 6), false},
		{"card with both generations trusted", p.CardAuth, pool(p.AuthCA2015, p.AuthCA2023), at(2026, 12, 6), false},
		{"old card in its time", p.OldCardAuth, pool(p.AuthCA2015), at(2024, 6, 1), false},
		{"old card after expiry", p.OldCardAuth, pool(p.AuthCA2015), at(2026, 12, 6), true},
		{"card against the old generation only", p.CardAuth, pool(p.AuthCA2015), at(2026, 12, 6), true},
		{"rogue card against the real CA", p.RogueCardAuth, pool(p.AuthCA2023), at(2026, 12, 6), true},
		{"card against the rogue CA", p.CardAuth, pool(p.RogueAuthCA), at(2026, 12, 6), true},
		{"signing cert by its CA", p.CardSign, pool(p.SignCA2023), at(2026, 12, 6), false},
		{"signing cert against the auth CA", p.CardSign, pool(p.AuthCA2023), at(2026, 12, 6), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.leaf.Cert.Verify(x509.VerifyOptions{Roots: tc.roots, CurrentTime: tc.when, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			if (err != nil) != tc.wantErr {
				t.Fatalf("Verify: %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestJPKITestPKIAuthCertShape(t *testing.T) {
	p := MustLoadJPKITestPKI()
	for _, c := range []JPKITestCert{p.CardAuth, p.Card2Auth, p.OldCardAuth, p.RogueCardAuth} {
		if n := len(c.DER); n < 1800 || n > 2000 {
			t.Errorf("%s: %d bytes, want a JPKI-sized ~1.9 KB certificate", c.Name, n)
		}
		if c.Cert.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Errorf("%s: key usage %v, want digitalSignature only", c.Name, c.Cert.KeyUsage)
		}
		s := c.Cert.Subject
		if len(s.Names) != 2 || len(s.Country) != 1 || s.CommonName == "" {
			t.Errorf("%s: subject %v, want only C and an opaque CN", c.Name, s)
		}
		if len(c.Cert.DNSNames)+len(c.Cert.EmailAddresses)+len(c.Cert.URIs) != 0 {
			t.Errorf("%s: subjectAltName present", c.Name)
		}
		if c.Key.N.BitLen() != 2048 {
			t.Errorf("%s: %d-bit key", c.Name, c.Key.N.BitLen())
		}
	}
	// Fresh copies: changing one does not change the next load.
	p.CardAuth.DER[0] ^= 0xFF
	if q := MustLoadJPKITestPKI(); q.CardAuth.DER[0] != 0x30 {
		t.Fatal("LoadJPKITestPKI shares its buffers")
	}
	if _, err := loadJPKIFixture("nope"); err == nil || errors.Is(err, nil) {
		t.Fatal("missing fixture loaded")
	}
}
