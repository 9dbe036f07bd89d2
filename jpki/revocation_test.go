package jpki

import (
	"context"
	"crypto"
	"crypto/x509"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/mynacard/freespace/revocation"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ocspServer answers every request with resp (nil: HTTP 500).
func ocspServer(t *testing.T, resp func(req *ocsp.Request) []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil || r.Header.Get("Content-Type") != "application/ocsp-request" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		out := resp(req)
		if out == nil {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestOCSPChecker(t *testing.T) {
	p := newTestPKI(t)
	ctx := context.Background()
	sign := func(tmpl ocsp.Response, responder *x509.Certificate, key crypto.Signer) func(*ocsp.Request) []byte {
		return func(req *ocsp.Request) []byte {
			tmpl.SerialNumber = req.SerialNumber
			if responder == nil {
				responder = p.root
			} else {
				tmpl.Certificate = responder // embedded for the verifier
			}
			der, err := ocsp.CreateResponse(p.root, responder, tmpl, key)
			require.NoError(t, err)
			return der
		}
	}
	fresh := ocsp.Response{Status: ocsp.Good, ThisUpdate: testNow.Add(-time.Hour), NextUpdate: testNow.Add(time.Hour)}
	revoked := fresh
	revoked.Status, revoked.RevokedAt, revoked.RevocationReason = ocsp.Revoked, testNow.Add(-2*time.Hour), ocsp.KeyCompromise
	unknown := fresh
	unknown.Status = ocsp.Unknown
	old := fresh
	old.ThisUpdate, old.NextUpdate = testNow.Add(-72*time.Hour), time.Time{}
	past := fresh
	past.NextUpdate = testNow.Add(-time.Minute)
	noEKU := p.issue(t, p.root, p.rootKey, &p.otherKey.PublicKey, &x509.Certificate{
		SerialNumber: big.NewInt(99), NotBefore: testNow.AddDate(-1, 0, 0), NotAfter: testNow.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	})
	withEKU := p.issue(t, p.root, p.rootKey, &p.otherKey.PublicKey, &x509.Certificate{
		SerialNumber: big.NewInt(100), NotBefore: testNow.AddDate(-1, 0, 0), NotAfter: testNow.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
	})
	tests := []struct {
		name     string
		answer   func(*ocsp.Request) []byte
		softFail bool
		want     error
	}{
		{"good", sign(fresh, nil, p.rootKey), false, nil},
		{"good by delegated responder", sign(fresh, withEKU, p.otherKey), false, nil},
		{"revoked", sign(revoked, nil, p.rootKey), false, ErrRevoked},
		{"revoked even with soft fail", sign(revoked, nil, p.rootKey), true, ErrRevoked},
		{"unknown", sign(unknown, nil, p.rootKey), false, ErrRevocationUnknown},
		{"too old", sign(old, nil, p.rootKey), false, ErrRevocationUnknown},
		{"past nextUpdate", sign(past, nil, p.rootKey), false, ErrRevocationUnknown},
		{"signed by a stranger", sign(fresh, nil, p.otherKey), false, ErrRevocationUnknown},
		{"delegate without OCSP EKU", sign(fresh, noEKU, p.otherKey), false, ErrRevocationUnknown},
		{"responder down", func(*ocsp.Request) []byte { return nil }, false, ErrRevocationUnknown},
		{"responder down, soft fail", func(*ocsp.Request) []byte { return nil }, true, nil},
		{"garbage", func(*ocsp.Request) []byte { return []byte{0x30, 0x00} }, false, ErrRevocationUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &OCSPChecker{ResponderURL: ocspServer(t, tt.answer), Time: func() time.Time { return testNow }, SoftFail: tt.softFail}
			err := c.CheckCertificate(ctx, p.leaf, p.root)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			if tt.want == ErrRevoked {
				var re *RevokedError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, "ocsp", re.Source)
				assert.Equal(t, revocation.ReasonKeyCompromise, re.Reason)
			}
		})
	}
	require.ErrorIs(t, (&OCSPChecker{}).CheckCertificate(ctx, p.leaf, p.root), ErrRevocationUnknown)
}

func TestAllOf(t *testing.T) {
	p := newTestPKI(t)
	ctx := context.Background()
	good, bad := revokedStore(t, p, false), revokedStore(t, p, true)
	require.NoError(t, AllOf(good, good).CheckCertificate(ctx, p.leaf, p.root))
	require.ErrorIs(t, AllOf(good, bad).CheckCertificate(ctx, p.leaf, p.root), ErrRevoked)
	require.ErrorIs(t, AllOf().CheckCertificate(ctx, p.leaf, p.root), ErrRevocationUnknown)
	require.ErrorIs(t, AllOf(good, nil).CheckCertificate(ctx, p.leaf, p.root), ErrRevocationUnknown)
}
