package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/syncbuf"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

func cuid(b byte) profile.CUID {
	var c profile.CUID
	for i := range c {
		c[i] = b ^ byte(0x70+i)
	}
	return c
}

// setup writes a mapping file (alice: U-0001 pinned; bob: U-0002; carol:
// U-0003, whose card is revoked) and a revocation store, and returns the
// mapping file, the mock card state path (no card yet) and a function that
// inserts a card.
func setup(t *testing.T, extra string) (cfgPath, state string, insert func(userID string, c profile.CUID)) {
	return setupIn(t, extra, "card.json")
}

// setupIn is setup with the card state file at stateName (relative to the
// test's directory; may contain spaces).
func setupIn(t *testing.T, extra, stateName string) (cfgPath, state string, insert func(userID string, c profile.CUID)) {
	t.Helper()
	dir := t.TempDir()
	revDir := filepath.Join(dir, "revocation")
	rs, err := revocation.Open(revDir, revocation.Options{})
	require.NoError(t, err)
	require.NoError(t, rs.Apply(context.Background(), &revocation.Update{Full: true, Seq: 1, AsOf: time.Now().Add(-time.Hour),
		Add: []revocation.Record{{Key: revocation.CUIDKey(cuid(3)), RevokedAt: time.Now().Add(-2 * time.Hour).Unix(), Reason: revocation.ReasonLost}}}))
	require.NoError(t, rs.Close())
	cfgPath = filepath.Join(dir, "pclogin.json")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`{"accounts":[
		{"user_id":"U-0001","account":"alice","cuid":"%s"},
		{"user_id":"U-0002","account":"bob"},
		{"user_id":"U-0003","account":"carol"}],
		"revocation_dir":%q%s}`, cuid(1), revDir, extra)), 0o600))
	state = filepath.Join(dir, stateName)
	require.NoError(t, os.MkdirAll(filepath.Dir(state), 0o700))
	insert = func(userID string, c profile.CUID) {
		mc, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: userID}, CUID: c}))
		require.NoError(t, err)
		require.NoError(t, mc.Save(state))
	}
	return cfgPath, state, insert
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestPAMInProcess(t *testing.T) {
	cfgPath, state, insert := setup(t, "")
	pam := func(user, pamType string, stdin string, extra ...string) (int, string) {
		var stderr bytes.Buffer
		args := append([]string{"pam", "--config", cfgPath, "--mock-state", state}, extra...)
		code := run(context.Background(), args, env(map[string]string{"PAM_USER": user, "PAM_TYPE": pamType}),
			strings.NewReader(stdin), &bytes.Buffer{}, &stderr)
		return code, stderr.String()
	}
	code, msg := pam("alice", "auth", "")
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: denied: no card in the reader\n", msg)

	insert("U-0001", cuid(1))
	code, msg = pam("alice", "auth", "")
	assert.Equal(t, exitOK, code, msg)
	assert.Empty(t, msg)
	code, _ = pam("alice", "account", "")
	assert.Equal(t, exitOK, code)
	code, msg = pam("bob", "auth", "")
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: denied: card belongs to another account\n", msg)
	code, _ = pam("alice", "open_session", "")
	assert.Equal(t, exitOK, code)
	code, _ = pam("alice", "password", "")
	assert.Equal(t, exitDenied, code)
	code, _ = pam("", "auth", "")
	assert.Equal(t, exitUsage, code)

	// With expose_authtok: the password is read and never shown.
	code, msg = pam("alice", "auth", "hunter2\x00", "--read-authtok")
	assert.Equal(t, exitOK, code)
	assert.NotContains(t, msg, "hunter2")
	code, msg = pam("alice", "auth", strings.Repeat("x", 600), "--read-authtok")
	assert.Equal(t, exitUsage, code)
	assert.NotContains(t, msg, "xxx")

	insert("U-0001", cuid(9))
	code, msg = pam("alice", "auth", "")
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: denied: mapping pinned to another card\n", msg)
	assert.NotContains(t, msg, cuid(9).String(), "the CUID is not printed")
	insert("U-0003", cuid(3))
	code, msg = pam("carol", "auth", "")
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: denied: card revoked\n", msg)

	// Usage and configuration errors.
	var stderr bytes.Buffer
	assert.Equal(t, exitUsage, run(context.Background(), []string{"pam", "--config", cfgPath}, env(nil), nil, &stderr, &stderr))
	assert.Equal(t, exitUsage, run(context.Background(), []string{"pam", "--mock-state", state}, env(map[string]string{"PAM_USER": "alice"}), nil, &stderr, &stderr))
	assert.Equal(t, exitUsage, run(context.Background(), []string{"bogus", "--mock-state", state}, env(nil), nil, &stderr, &stderr))
	assert.Equal(t, exitUsage, run(context.Background(), nil, env(nil), nil, &stderr, &stderr))
	require.NoError(t, os.Chmod(cfgPath, 0o666))
	code, msg = pam("alice", "auth", "")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, msg, "writable by group or others")
}

func TestIdentify(t *testing.T) {
	cfgPath, state, insert := setup(t, "")
	insert("U-0002", cuid(2))
	var out, stderr bytes.Buffer
	code := run(context.Background(), []string{"identify", "--mock-state", state, "--config", cfgPath}, env(nil), nil, &out, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	assert.Equal(t, "user_id\tU-0002\ncuid\t"+cuid(2).String()+"\naccount\tbob\n", out.String())

	// A failed write of the output is an error, not a silent success.
	stderr.Reset()
	code = run(context.Background(), []string{"identify", "--mock-state", state}, env(nil), nil, failingWriter{}, &stderr)
	assert.Equal(t, exitDenied, code)
	assert.Contains(t, stderr.String(), "writing the output")
}

// failingWriter fails every write, like a closed pipe.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// buildPCLogin builds the command into a temporary directory.
func buildPCLogin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pclogin")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// pamService is a PAM service file written for one test.
type pamService struct {
	pamtester, name string
}

// run runs pamtester on the service as user with ops (authenticate,
// acct_mgmt, ...): whether every operation succeeded, and the output.
func (p pamService) run(user string, ops ...string) (bool, string) {
	return p.runInput("", user, ops...)
}

// runInput is run with stdin as pamtester's input (the password it is
// asked for).
func (p pamService) runInput(stdin, user string, ops ...string) (bool, string) {
	cmd := exec.Command(p.pamtester, append([]string{"-v", p.name, user}, ops...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return err == nil, string(out)
}

// pamStack checks that a real PAM stack can be driven (root, pamtester,
// /etc/pam.d) and skips the test otherwise, unless FREESPACE_REQUIRE_PAM=1
// makes that a failure. It returns install, which writes a uniquely named
// service file /etc/pam.d/freespace-test-<random> with the given lines,
// removed when the test ends.
func pamStack(t *testing.T) (install func(lines string) pamService) {
	t.Helper()
	required := os.Getenv("FREESPACE_REQUIRE_PAM") == "1"
	skip := func(why string) {
		t.Helper()
		if required {
			t.Fatalf("FREESPACE_REQUIRE_PAM=1 but %s", why)
		}
		t.Skipf("skipping the PAM stack test: %s (set FREESPACE_REQUIRE_PAM=1 to make this an error)", why)
	}
	if os.Geteuid() != 0 {
		skip("not root (the test writes a service file to /etc/pam.d)")
	}
	pamtester, err := exec.LookPath("pamtester")
	if err != nil {
		skip("pamtester is not installed (apt-get install pamtester)")
	}
	if _, err := os.Stat("/etc/pam.d"); err != nil {
		skip("no /etc/pam.d")
	}
	return func(lines string) pamService {
		t.Helper()
		var rnd [6]byte
		_, err := rand.Read(rnd[:])
		require.NoError(t, err)
		service := "freespace-test-" + hex.EncodeToString(rnd[:])
		svcFile := filepath.Join("/etc/pam.d", service)
		require.NoError(t, os.WriteFile(svcFile, []byte(lines), 0o644))
		t.Cleanup(func() {
			if err := os.Remove(svcFile); err != nil {
				t.Errorf("removing the PAM service file: %v", err)
			}
		})
		return pamService{pamtester: pamtester, name: service}
	}
}

// TestPAMStack runs pclogin under a real PAM stack: pamtester with a private
// service file that calls pam_exec.so, the card a mock card state file.
func TestPAMStack(t *testing.T) {
	install := pamStack(t)
	bin := buildPCLogin(t)
	// The state file's path has a space: PAM's [...] argument syntax.
	cfgPath, state, insert := setupIn(t, "", "card slot/card.json")
	pam := install(fmt.Sprintf("auth required pam_exec.so quiet %s pam --config %s [--mock-state=%s]\n"+
		"account required pam_exec.so quiet %s pam --config %s [--mock-state=%s]\n",
		bin, cfgPath, state, bin, cfgPath, state)).run

	ok, out := pam("alice", "authenticate")
	assert.False(t, ok, "no card: %s", out)

	insert("U-0001", cuid(1))
	ok, out = pam("alice", "authenticate", "acct_mgmt")
	assert.True(t, ok, "alice with her card: %s", out)
	assert.Contains(t, out, "successfully authenticated")
	ok, out = pam("bob", "authenticate")
	assert.False(t, ok, "bob with alice's card: %s", out)

	insert("U-0001", cuid(5))
	ok, out = pam("alice", "authenticate")
	assert.False(t, ok, "a card claiming U-0001 with another CUID: %s", out)

	insert("U-0002", cuid(2))
	ok, out = pam("bob", "authenticate")
	assert.True(t, ok, "bob with his card: %s", out)

	insert("U-0003", cuid(3))
	ok, out = pam("carol", "authenticate")
	assert.False(t, ok, "carol's revoked card: %s", out)

	require.NoError(t, os.Remove(state))
	ok, out = pam("bob", "authenticate")
	assert.False(t, ok, "card removed: %s", out)
}

// TestWatchCommand runs `pclogin watch` as a process and checks the lock
// command runs when the card leaves.
func TestWatchCommand(t *testing.T) {
	bin := buildPCLogin(t)
	marker := filepath.Join(t.TempDir(), "locks")
	cfgPath, state, insert := setup(t, fmt.Sprintf(`,"poll_interval":"20ms","lock_command":["/bin/sh","-c","echo locked >> \"$0\"",%q]`, marker))
	insert("U-0001", cuid(1))
	cmd := exec.Command(bin, "watch", "--config", cfgPath, "--mock-state", state, "--account", "alice", "-v")
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; stderr: %s", what, stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	locks := func() int {
		b, _ := os.ReadFile(marker)
		return strings.Count(string(b), "locked")
	}
	waitFor("armed", func() bool { return strings.Contains(stderr.String(), "armed") })
	assert.Zero(t, locks())
	require.NoError(t, os.Remove(state))
	waitFor("the lock command", func() bool { return locks() == 1 })
	// bob's card does not arm a watcher for alice's session.
	insert("U-0002", cuid(2))
	waitFor("bob's card seen", func() bool { return strings.Contains(stderr.String(), "not accepted for this session") })
	assert.Equal(t, 1, strings.Count(stderr.String(), "armed"))
	insert("U-0001", cuid(1))
	waitFor("armed again", func() bool { return strings.Count(stderr.String(), "armed") == 2 })
	require.NoError(t, os.Remove(state))
	waitFor("the second lock", func() bool { return locks() == 2 })
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.NoError(t, cmd.Wait())
}
