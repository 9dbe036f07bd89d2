package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/revocation"
)

// jpkiSource is a reader holding a mock card with the JPKI AP of cfg.
func jpkiSource(t *testing.T, cfg mockcard.JPKI) *mockSource {
	t.Helper()
	card, err := mockcard.NewJPKI(cfg)
	require.NoError(t, err)
	return &mockSource{slots: []mockSlot{{name: "JPKI Reader 00", card: card}}}
}

// jpkiRoots writes the test PKI's auth CA certificates as one PEM file.
func jpkiRoots(t *testing.T) string {
	t.Helper()
	pki := mockcard.MustLoadJPKITestPKI()
	var b bytes.Buffer
	for _, c := range []mockcard.JPKITestCert{pki.AuthCA2015, pki.AuthCA2023} {
		require.NoError(t, pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.DER}))
	}
	p := filepath.Join(t.TempDir(), "roots.pem")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p
}

func identityHex(c mockcard.JPKITestCert) string {
	sum := sha256.Sum256(c.Cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

func TestJPKICert(t *testing.T) {
	pki := mockcard.MustLoadJPKITestPKI()
	src := jpkiSource(t, mockcard.JPKI{})
	code, out, errs := runCLI(t, src, "jpki", "cert", "--json")
	require.Equal(t, exitOK, code, errs)
	var got jpkiCertJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, identityHex(pki.CardAuth), got.Identity)
	assert.Equal(t, "000A", got.EF)
	assert.Equal(t, len(pki.CardAuth.DER), got.Bytes)
	assert.Equal(t, 2+(len(pki.CardAuth.DER)+255)/256, got.APDUs)
	k, _ := revocation.CertificateKey(pki.CardAuth.Cert.RawIssuer, pki.CardAuth.Cert.SerialNumber)
	assert.Equal(t, hex.EncodeToString(k.Bytes()), got.RevocationKey)
	assert.Equal(t, 1, strings.Count(out, "\n"), "one line of JSON")

	code, out, _ = runCLI(t, src, "jpki", "cert", "--json", "--extended")
	require.Equal(t, exitOK, code)
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, 3, got.APDUs, "one extended READ")

	code, out, _ = runCLI(t, src, "jpki", "cert", "--ca", "--pem")
	require.Equal(t, exitOK, code)
	b, _ := pem.Decode([]byte(out))
	require.NotNil(t, b)
	assert.Equal(t, pki.AuthCA2023.DER, b.Bytes)

	code, out, _ = runCLI(t, src, "jpki", "cert")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "identity        "+identityHex(pki.CardAuth))
	assert.NotContains(t, out, pki.CardAuth.Cert.Subject.CommonName, "the opaque subject is not printed")
}

func TestJPKIStatus(t *testing.T) {
	src := jpkiSource(t, mockcard.JPKI{})
	code, out, errs := runCLI(t, src, "jpki", "status", "--json")
	require.Equal(t, exitOK, code, errs)
	assert.JSONEq(t, `{"reader":"JPKI Reader 00","tries_left":3,"blocked":false,"verified":false}`, out)
	code, out, _ = runCLI(t, src, "jpki", "status")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "3 tries left")
}

func TestJPKIVerify(t *testing.T) {
	pki := mockcard.MustLoadJPKITestPKI()
	roots := jpkiRoots(t)
	t.Setenv("JPKI_PIN", mockcard.JPKITestAuthPIN)
	t.Run("accepted", func(t *testing.T) {
		src := jpkiSource(t, mockcard.JPKI{})
		code, out, errs := runCLI(t, src, "jpki", "verify", "--roots", roots, "--no-revocation", "--pin-env", "JPKI_PIN", "--json")
		require.Equal(t, exitOK, code, errs+out)
		var got jpkiVerifyJSON
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		assert.Equal(t, identityHex(pki.CardAuth), got.Identity)
		assert.Equal(t, 15, got.APDUs)
		assert.Len(t, got.Chain, 1)
		assert.NotContains(t, out+errs, mockcard.JPKITestAuthPIN)
	})
	t.Run("PIN on stdin", func(t *testing.T) {
		src := jpkiSource(t, mockcard.JPKI{})
		code, out, errs := runWithStdin(t, src, mockcard.JPKITestAuthPIN+"\n", "jpki", "verify", "--roots", roots, "--no-revocation", "--stdin")
		require.Equal(t, exitOK, code, errs)
		assert.Contains(t, out, "identity        "+identityHex(pki.CardAuth))
	})
	t.Run("wrong PIN exits 5 with the tries left", func(t *testing.T) {
		src := jpkiSource(t, mockcard.JPKI{})
		code, out, _ := runWithStdin(t, src, "0000\n", "jpki", "verify", "--roots", roots, "--no-revocation", "--stdin", "--json")
		assert.Equal(t, exitPassword, code)
		var je jsonError
		require.NoError(t, json.Unmarshal([]byte(out), &je))
		assert.Equal(t, "password_refused", je.Code)
		require.NotNil(t, je.TriesLeft)
		assert.Equal(t, 2, *je.TriesLeft)
		assert.NotContains(t, out, "0000")
	})
	t.Run("PIN of the wrong form spends nothing", func(t *testing.T) {
		src := jpkiSource(t, mockcard.JPKI{})
		code, out, _ := runWithStdin(t, src, "12345\n", "jpki", "verify", "--roots", roots, "--no-revocation", "--stdin", "--json")
		assert.Equal(t, exitPassword, code)
		assert.Contains(t, out, `"code":"pin_format"`)
		code, out, _ = runCLI(t, src, "jpki", "status", "--json")
		require.Equal(t, exitOK, code)
		assert.Contains(t, out, `"tries_left":3`)
	})
	t.Run("revoked exits 4", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "rev")
		st, err := revocation.Open(dir, revocation.Options{})
		require.NoError(t, err)
		k, _ := revocation.CertificateKey(pki.CardAuth.Cert.RawIssuer, pki.CardAuth.Cert.SerialNumber)
		require.NoError(t, st.Apply(context.Background(), &revocation.Update{Full: true, Seq: 1, AsOf: time.Now().Add(-time.Hour),
			Add: []revocation.Record{{Key: k, RevokedAt: time.Now().Add(-2 * time.Hour).Unix(), Reason: revocation.ReasonStolen}}}))
		require.NoError(t, st.Close())
		src := jpkiSource(t, mockcard.JPKI{})
		code, out, _ := runCLI(t, src, "jpki", "verify", "--roots", roots, "--revocation", dir, "--pin-env", "JPKI_PIN", "--json")
		assert.Equal(t, exitRevoked, code, out)
		assert.Contains(t, out, `"code":"revoked"`)
	})
	t.Run("untrusted exits 1", func(t *testing.T) {
		src := jpkiSource(t, mockcard.JPKI{AuthCert: pki.RogueCardAuth.DER, AuthKey: pki.RogueCardAuth.Key})
		code, out, _ := runCLI(t, src, "jpki", "verify", "--roots", roots, "--no-revocation", "--pin-env", "JPKI_PIN", "--json")
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, out, `"code":"certificate_invalid"`)
	})
	t.Run("smartphone", func(t *testing.T) {
		src := jpkiSource(t, mockcard.JPKI{Smartphone: true})
		code, out, _ := runCLI(t, src, "jpki", "verify", "--roots", roots, "--no-revocation", "--pin-env", "JPKI_PIN", "--json")
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, out, `"code":"jpki_smartphone"`)
	})
	t.Run("usage", func(t *testing.T) {
		src := jpkiSource(t, mockcard.JPKI{})
		for _, args := range [][]string{
			{"jpki", "verify", "--no-revocation", "--pin-env", "JPKI_PIN"},
			{"jpki", "verify", "--roots", roots, "--pin-env", "JPKI_PIN"},
			{"jpki", "verify", "--roots", roots, "--no-revocation"},
			{"jpki", "verify", "--roots", roots, "--no-revocation", "--ocsp-soft-fail", "--pin-env", "JPKI_PIN"},
			{"jpki", "frobnicate"},
		} {
			code, _, _ := runCLI(t, src, args...)
			assert.Equal(t, exitUsage, code, "%q", args)
		}
	})
}

func TestJPKISign(t *testing.T) {
	pki := mockcard.MustLoadJPKITestPKI()
	t.Setenv("JPKI_PIN", mockcard.JPKITestAuthPIN)
	digest := sha256.Sum256([]byte("document"))
	src := jpkiSource(t, mockcard.JPKI{})
	code, out, errs := runCLI(t, src, "jpki", "sign", "--digest", hex.EncodeToString(digest[:]), "--pin-env", "JPKI_PIN", "--json")
	require.Equal(t, exitOK, code, errs+out)
	var got jpkiSignJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	sig, err := hex.DecodeString(got.Signature)
	require.NoError(t, err)
	require.NoError(t, rsa.VerifyPKCS1v15(pki.CardAuth.Cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig))

	in := filepath.Join(t.TempDir(), "doc.txt")
	require.NoError(t, os.WriteFile(in, []byte("document"), 0o644))
	code, out, _ = runCLI(t, src, "jpki", "sign", "--in", in, "--pin-env", "JPKI_PIN")
	require.Equal(t, exitOK, code)
	sig, err = hex.DecodeString(strings.TrimSpace(out))
	require.NoError(t, err)
	require.NoError(t, rsa.VerifyPKCS1v15(pki.CardAuth.Cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig))

	code, _, _ = runCLI(t, src, "jpki", "sign", "--digest", "abcd", "--pin-env", "JPKI_PIN")
	assert.Equal(t, exitUsage, code)
}

// TestJPKICRLImport: a JPKI CA's CRL imported with --format jpki-crl
// revokes the certificate by its revocation key, and `jpki verify` against
// that store exits 4; without --crl-issuer the import is refused.
func TestJPKICRLImport(t *testing.T) {
	pki := mockcard.MustLoadJPKITestPKI()
	dir := t.TempDir()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(5), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(23 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: pki.CardAuth.Cert.SerialNumber, RevocationTime: time.Now().Add(-2 * time.Hour)}},
	}, pki.AuthCA2023.Cert, pki.AuthCA2023.Key)
	require.NoError(t, err)
	crl := filepath.Join(dir, "auth.crl")
	require.NoError(t, os.WriteFile(crl, der, 0o600))
	ca := filepath.Join(dir, "ca.der")
	require.NoError(t, os.WriteFile(ca, pki.AuthCA2023.DER, 0o600))
	store := filepath.Join(dir, "rev")

	code, _, _ := runCLI(t, nil, "revocation", "sync", "--store", store, "--import", crl, "--format", "jpki-crl")
	assert.Equal(t, exitUsage, code)
	code, out, errs := runCLI(t, nil, "revocation", "sync", "--store", store, "--import", crl, "--format", "jpki-crl", "--crl-issuer", ca)
	require.Equal(t, exitOK, code, out+errs)

	k, _ := revocation.CertificateKey(pki.CardAuth.Cert.RawIssuer, pki.CardAuth.Cert.SerialNumber)
	code, _, _ = runCLI(t, nil, "revocation", "check", "--store", store, "cuid:"+hex.EncodeToString(k.Bytes()))
	assert.Equal(t, exitRevoked, code)

	t.Setenv("JPKI_PIN", mockcard.JPKITestAuthPIN)
	code, out, _ = runCLI(t, jpkiSource(t, mockcard.JPKI{}), "jpki", "verify", "--roots", jpkiRoots(t), "--revocation", store, "--pin-env", "JPKI_PIN", "--json")
	assert.Equal(t, exitRevoked, code, out)
	code, out, _ = runCLI(t, jpkiSource(t, mockcard.JPKI{AuthCert: pki.Card2Auth.DER, AuthKey: pki.Card2Auth.Key}), "jpki", "verify", "--roots", jpkiRoots(t), "--revocation", store, "--pin-env", "JPKI_PIN", "--json")
	assert.Equal(t, exitOK, code, out)
}
