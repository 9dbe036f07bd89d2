package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
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

// jpkiGateFiles writes the auth CA certificates, a revocation store
// revoking the second test card's certificate, and a PIN pad script that
// types pin and counts its runs in the returned file.
func jpkiGateFiles(t *testing.T, pin string) (roots, revDir, pinCmd, runs string) {
	t.Helper()
	pki := mockcard.MustLoadJPKITestPKI()
	dir := t.TempDir()
	roots = filepath.Join(dir, "roots.pem")
	var b bytes.Buffer
	for _, c := range []mockcard.JPKITestCert{pki.AuthCA2015, pki.AuthCA2023} {
		require.NoError(t, pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.DER}))
	}
	require.NoError(t, os.WriteFile(roots, b.Bytes(), 0o644))
	revDir = filepath.Join(dir, "revocation")
	st, err := revocation.Open(revDir, revocation.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	k, err := revocation.CertificateKey(pki.Card2Auth.Cert.RawIssuer, pki.Card2Auth.Cert.SerialNumber)
	require.NoError(t, err)
	now := time.Now()
	require.NoError(t, st.Apply(context.Background(), &revocation.Update{Full: true, Seq: 1, AsOf: now.Add(-time.Hour),
		Add: []revocation.Record{{Key: k, RevokedAt: now.Add(-2 * time.Hour).Unix(), Reason: revocation.ReasonLost}}}))
	require.NoError(t, st.Close())
	runs = filepath.Join(dir, "pinpad.runs")
	pinCmd = filepath.Join(dir, "pinpad.sh")
	require.NoError(t, os.WriteFile(pinCmd, []byte(fmt.Sprintf("#!/bin/sh\necho \"$GATE_PIN_AP\" >> %s\necho %s\n", runs, pin)), 0o755))
	return roots, revDir, pinCmd, runs
}

func pinPadRuns(t *testing.T, runs string) int {
	b, err := os.ReadFile(runs)
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(t, err)
	return strings.Count(string(b), "JPKI\n")
}

func TestJPKIFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--jpki-roots", "x.pem"},                                                  // simulation
		{"--reader", "R", "--no-revocation", "--jpki-roots", "x.pem"},              // no PIN source
		{"--reader", "R", "--no-revocation", "--keys", "k", "--pin-cmd", "pinpad"}, // PIN pad without JPKI
		{"--reader", "R", "--no-revocation", "--jpki-roots", "x.pem", "--pin-cmd", "p", "--pin-timeout", "0s"},
	} {
		var stderr bytes.Buffer
		assert.Equal(t, exitUsage, run(context.Background(), args, &bytes.Buffer{}, &stderr), "%q", args)
		assert.Contains(t, stderr.String(), "gate: ")
	}
}

func TestCmdPINPad(t *testing.T) {
	_, _, pinCmd, runs := jpkiGateFiles(t, "1234")
	pin, err := (&CmdPINPad{Argv: []string{pinCmd}, Timeout: 10 * time.Second}).PIN(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "1234", string(pin))
	assert.Equal(t, 1, pinPadRuns(t, runs))
	_, err = (&CmdPINPad{Argv: []string{"false"}, Timeout: 10 * time.Second}).PIN(context.Background())
	require.ErrorIs(t, err, errPINPad)
	_, err = (&CmdPINPad{Argv: []string{"sleep", "5"}, Timeout: 50 * time.Millisecond}).PIN(context.Background())
	require.ErrorIs(t, err, errPINPad)
	_, err = (&CmdPINPad{Argv: []string{"true"}, Timeout: 10 * time.Second}).PIN(context.Background())
	require.ErrorIs(t, err, errPINPad, "no PIN entered")
}

// TestGateJPKIOnReader runs `gate --reader --jpki-roots --pin-cmd
// --revocation --json` through a real pcscd: a My Number Card (the mock
// JPKI AP) opens after the PIN pad's PIN; a card whose certificate is
// revoked is refused without the PIN pad being run.
func TestGateJPKIOnReader(t *testing.T) {
	slot := pcsctest.Acquire(t)
	roots, revDir, pinCmd, runs := jpkiGateFiles(t, mockcard.JPKITestAuthPIN)
	pki := mockcard.MustLoadJPKITestPKI()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errb := newSyncBuffer(), newSyncBuffer()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--reader", slot.ReaderName, "--jpki-roots", roots, "--pin-cmd", pinCmd, "--revocation", revDir, "--json"}, out, errb)
	}()
	conn := slot.Attach(t, mockcard.MustNew(mockcard.WithJPKI(mockcard.JPKI{})))
	lines := waitLines(t, out, 1)
	require.Len(t, lines, 1, errb.lines())
	var d Decision
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &d))
	assert.Equal(t, Open, d.Outcome, lines[0])
	assert.Equal(t, "JPKI", d.AP)
	assert.Equal(t, "signature", d.Proof)
	assert.True(t, d.PasswordVerified)
	sum := sha256.Sum256(pki.CardAuth.Cert.RawSubjectPublicKeyInfo)
	assert.Equal(t, hex.EncodeToString(sum[:]), d.UserID)
	assert.Equal(t, pki.CardAuth.Cert.SerialNumber.Text(16), d.JPKISerial)
	assert.Empty(t, d.CUID)
	assert.Equal(t, 1, pinPadRuns(t, runs))
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)

	slot.Attach(t, mockcard.MustNew(mockcard.WithJPKI(mockcard.JPKI{AuthCert: pki.Card2Auth.DER, AuthKey: pki.Card2Auth.Key})))
	lines = waitLines(t, out, 2)
	require.Len(t, lines, 2, errb.lines())
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &d))
	assert.Equal(t, Deny, d.Outcome)
	assert.Equal(t, "revoked", d.Reason)
	assert.Equal(t, 1, pinPadRuns(t, runs), "the PIN pad is not run for a revoked card")
	cancel()
	assert.Equal(t, exitOK, <-done, errb.lines())
}
