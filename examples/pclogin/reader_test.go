package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/examples/pclogin/internal/login"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestReaderThroughPCSCD runs pclogin's --reader path through a real pcscd:
// the mock card sits in a vpcd slot (scripts/test.sh starts the stack;
// skipped without it unless FREESPACE_REQUIRE_PCSC=1 or CI is set).
func TestReaderThroughPCSCD(t *testing.T) {
	slot := pcsctest.Acquire(t)
	cfgPath, _, _ := setup(t, "")
	mc := typeACard(t, "U-0001", cuid(1), "")

	pam := func(user string) (int, string) {
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"pam", "--config", cfgPath, "--keys", keysOf(cfgPath), "--reader", slot.ReaderName},
			env(map[string]string{"PAM_USER": user, "PAM_TYPE": "auth"}), nil, &bytes.Buffer{}, &stderr)
		return code, stderr.String()
	}
	code, msg := pam("alice")
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: denied: no card in the reader\n", msg)

	conn := slot.Attach(t, mc)
	code, msg = pam("alice")
	assert.Equal(t, exitOK, code, msg)
	code, _ = pam("bob")
	assert.Equal(t, exitDenied, code)

	var out bytes.Buffer
	require.Equal(t, exitOK, run(context.Background(), []string{"identify", "--keys", keysOf(cfgPath), "--reader", slot.ReaderName}, env(nil), nil, &out, &out))
	assert.Equal(t, "user_id\tU-0001\ncuid\t"+cuid(1).String()+"\nproof\tType A, mutual-auth\n", out.String())

	// Watch: pulling the card out of the reader runs the lock.
	client, err := login.NewClient(login.ClientConfig{Keys: keystest.Store(0)})
	require.NoError(t, err)
	events := make(chan login.Event, 4)
	w := &login.Watcher{Card: login.Reader{Name: slot.ReaderName, Client: client}, Interval: 50 * time.Millisecond,
		Lock: func(context.Context) error { return nil }, OnEvent: func(e login.Event, _ login.Card) { events <- e }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	require.Equal(t, login.CardArrived, <-events)
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)
	select {
	case e := <-events:
		assert.Equal(t, login.CardLeft, e)
	case <-time.After(pcsctest.Timeout):
		t.Fatal("the watcher did not notice the removal")
	}
}

// typeACard is a mock card with a Type A AP loaded with the operator's keys
// (testkeys); password, when not empty, protects it.
func typeACard(t *testing.T, userID string, c profile.CUID, password string) *mockcard.Card {
	t.Helper()
	id := profile.Identity{UserID: userID}
	cfg := mockcard.TypeA{Identity: id, CUID: c, Keys: mockcard.APKeys{Masters: keystest.Store(0)}}
	if password != "" {
		cfg.Password = &mockcard.APPassword{Value: profile.Password(password)}
	}
	mc, err := mockcard.New(mockcard.WithTypeA(cfg))
	require.NoError(t, err)
	return mc
}

// TestPAMStackReader runs the production path end to end: pamtester → a
// real PAM stack → pam_exec → the built pclogin with --reader → the
// private pcscd → a mock card attached to a vpcd slot. pam_exec runs its
// program with a clean environment, so the service file carries the
// private pcscd's socket with /usr/bin/env PCSCLITE_CSOCK_NAME=...; the
// `stdout` option of pam_exec hands pclogin's message to the application
// (pamtester prints it). Needs root, pamtester and the stack of
// scripts/test.sh (see pamStack and pcsctest.Acquire).
func TestPAMStackReader(t *testing.T) {
	install := pamStack(t)
	slot := pcsctest.Acquire(t)
	bin := buildPCLogin(t)
	cfgPath, _, _ := setup(t, "")
	envBin, err := exec.LookPath("env")
	require.NoError(t, err)
	sock := os.Getenv("PCSCLITE_CSOCK_NAME")
	prefix := envBin
	if sock != "" {
		prefix += " [PCSCLITE_CSOCK_NAME=" + sock + "]"
	}
	// The reader name has spaces: PAM's [...] argument syntax.
	cmd := fmt.Sprintf("pam_exec.so quiet stdout %s %s pam --config %s --keys %s [--reader=%s]", prefix, bin, cfgPath, keysOf(cfgPath), slot.ReaderName)
	pam := install("auth required " + cmd + "\naccount required " + cmd + "\n").run

	const denied = "pclogin: denied: "
	ok, out := pam("alice", "authenticate")
	assert.False(t, ok, "no card: %s", out)
	assert.Contains(t, out, denied+"no card in the reader", "a clear message for the user")

	conn := slot.Attach(t, typeACard(t, "U-0001", cuid(1), ""))
	ok, out = pam("alice", "authenticate", "acct_mgmt")
	assert.True(t, ok, "alice with her card: %s", out)
	assert.Contains(t, out, "successfully authenticated")
	assert.NotContains(t, out, denied)
	ok, out = pam("bob", "authenticate")
	assert.False(t, ok, "bob with alice's card: %s", out)
	assert.Contains(t, out, denied+"card belongs to another account")
	assert.NotContains(t, out, cuid(1).String(), "the CUID is not printed")

	// With expose_authtok (the form for an AP with a password), pam_exec
	// asks for the password and writes it to pclogin's stdin: accepted,
	// and the password never shows.
	const password = "hunter2-secret"
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)
	conn = slot.Attach(t, typeACard(t, "U-0001", cuid(1), password))
	withTok := install(fmt.Sprintf("auth required pam_exec.so quiet stdout expose_authtok %s %s pam --read-authtok --config %s --keys %s [--reader=%s]\n",
		prefix, bin, cfgPath, keysOf(cfgPath), slot.ReaderName))
	ok, out = withTok.runInput(password+"\n", "alice", "authenticate")
	assert.True(t, ok, "alice with her card and expose_authtok: %s", out)
	assert.NotContains(t, out, password)
	ok, out = withTok.runInput(password+"\n", "bob", "authenticate")
	assert.False(t, ok, "bob with alice's card and expose_authtok: %s", out)
	assert.Contains(t, out, denied+"card belongs to another account")
	assert.NotContains(t, out, password)

	// carol's card is on the local revocation list: refused without any
	// network (the store is a local directory, read only).
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)
	slot.Attach(t, typeACard(t, "U-0003", cuid(3), ""))
	ok, out = pam("carol", "authenticate")
	assert.False(t, ok, "carol's revoked card: %s", out)
	assert.Contains(t, out, denied+"card revoked")

	// Without the socket in the PAM line, pam_exec's clean environment
	// sends pclogin to the default pcscd socket, which does not serve this
	// reader: refused, and the message says it is the reader setup.
	if sock != "" && sock != "/run/pcscd/pcscd.comm" {
		bare := install(fmt.Sprintf("auth required pam_exec.so quiet stdout %s pam --config %s --keys %s [--reader=%s]\n", bin, cfgPath, keysOf(cfgPath), slot.ReaderName)).run
		ok, out = bare("carol", "authenticate")
		assert.False(t, ok, "without PCSCLITE_CSOCK_NAME: %s", out)
		assert.Contains(t, out, denied+"card reader unavailable")
	}
}
