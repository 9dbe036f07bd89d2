package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/revocation"
)

// jpkiSetup writes a mapping file tying the mock JPKI card's identity to
// alice and the second test card's to carol (revoked in the store), the
// auth CA certificates as PEM, and returns their paths.
func jpkiSetup(t *testing.T) (cfgPath, roots string) {
	t.Helper()
	pki := mockcard.MustLoadJPKITestPKI()
	dir := t.TempDir()
	idOf := func(c mockcard.JPKITestCert) string {
		sum := sha256.Sum256(c.Cert.RawSubjectPublicKeyInfo)
		return hex.EncodeToString(sum[:])
	}
	revDir := filepath.Join(dir, "revocation")
	rs, err := revocation.Open(revDir, revocation.Options{})
	require.NoError(t, err)
	k, err := revocation.CertificateKey(pki.Card2Auth.Cert.RawIssuer, pki.Card2Auth.Cert.SerialNumber)
	require.NoError(t, err)
	require.NoError(t, rs.Apply(context.Background(), &revocation.Update{Full: true, Seq: 1, AsOf: time.Now().Add(-time.Hour),
		Add: []revocation.Record{{Key: k, RevokedAt: time.Now().Add(-2 * time.Hour).Unix(), Reason: revocation.ReasonLost}}}))
	require.NoError(t, rs.Close())
	cfgPath = filepath.Join(dir, "pclogin.json")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`{"accounts":[
		{"user_id":"%s","account":"alice"},
		{"user_id":"%s","account":"carol"}],
		"revocation_dir":%q}`, idOf(pki.CardAuth), idOf(pki.Card2Auth), revDir)), 0o600))
	roots = filepath.Join(dir, "jpki-roots.pem")
	var b bytes.Buffer
	for _, c := range []mockcard.JPKITestCert{pki.AuthCA2015, pki.AuthCA2023} {
		require.NoError(t, pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.DER}))
	}
	require.NoError(t, os.WriteFile(roots, b.Bytes(), 0o644))
	return cfgPath, roots
}

// jpkiCard is the mock JPKI card of the test PKI (second: the revoked
// card2).
func jpkiCard(t *testing.T, second bool) *mockcard.Card {
	t.Helper()
	cfg := mockcard.JPKI{}
	if second {
		pki := mockcard.MustLoadJPKITestPKI()
		cfg.AuthCert, cfg.AuthKey = pki.Card2Auth.DER, pki.Card2Auth.Key
	}
	mc, err := mockcard.NewJPKI(cfg)
	require.NoError(t, err)
	return mc
}

// TestPAMJPKI: a My Number Card logs in through its JPKI AP with the
// 4-digit PIN typed at the PC (pam_exec's expose_authtok); a wrong PIN,
// another account and a revoked card are refused, and the PIN never
// shows.
func TestPAMJPKI(t *testing.T) {
	cfgPath, roots := jpkiSetup(t)
	state := filepath.Join(t.TempDir(), "card.json")
	pam := func(user, pin string) (int, string) {
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"pam", "--read-authtok", "--config", cfgPath, "--jpki-roots", roots, "--mock-state", state},
			env(map[string]string{"PAM_USER": user, "PAM_TYPE": "auth"}), strings.NewReader(pin+"\x00"), &bytes.Buffer{}, &stderr)
		return code, stderr.String()
	}
	require.NoError(t, jpkiCard(t, false).Save(state))
	code, msg := pam("alice", mockcard.JPKITestAuthPIN)
	assert.Equal(t, exitOK, code, msg)
	code, msg = pam("bob", mockcard.JPKITestAuthPIN)
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: denied: card belongs to another account\n", msg)
	code, msg = pam("alice", "9999")
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: denied: card unreadable\n", msg)
	assert.NotContains(t, msg, "9999")

	require.NoError(t, jpkiCard(t, true).Save(state))
	code, msg = pam("carol", mockcard.JPKITestAuthPIN)
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: denied: card revoked\n", msg)
}

// TestJPKIThroughPCSCD runs pclogin's JPKI mode through a real pcscd (the
// mock JPKI card in a vpcd slot): pam with the PIN, and identify.
func TestJPKIThroughPCSCD(t *testing.T) {
	slot := pcsctest.Acquire(t)
	cfgPath, roots := jpkiSetup(t)
	slot.Attach(t, jpkiCard(t, false))
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"pam", "--read-authtok", "--config", cfgPath, "--jpki-roots", roots, "--reader", slot.ReaderName},
		env(map[string]string{"PAM_USER": "alice", "PAM_TYPE": "auth"}), strings.NewReader(mockcard.JPKITestAuthPIN+"\x00"), &bytes.Buffer{}, &stderr)
	assert.Equal(t, exitOK, code, stderr.String())

	t.Setenv("JPKI_PIN", mockcard.JPKITestAuthPIN)
	var out bytes.Buffer
	require.Equal(t, exitOK, run(context.Background(), []string{"identify", "--config", cfgPath, "--jpki-roots", roots, "--password-env", "JPKI_PIN", "--reader", slot.ReaderName}, env(nil), nil, &out, &out), out.String())
	pki := mockcard.MustLoadJPKITestPKI()
	sum := sha256.Sum256(pki.CardAuth.Cert.RawSubjectPublicKeyInfo)
	assert.Contains(t, out.String(), "user_id\t"+hex.EncodeToString(sum[:])+"\nproof\tJPKI, signature\n")
	assert.Contains(t, out.String(), "account\talice\n")
}
