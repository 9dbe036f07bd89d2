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
	"github.com/mynacard/freespace/keys/keystest"
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
// U-0003, whose card is revoked), the operator's key file beside it
// (keysOf) and a revocation store, and returns the mapping file, the mock
// card state path (no card yet) and a function that inserts a Type A card
// loaded with the operator's keys.
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
	require.NoError(t, keystest.WriteFile(keysOf(cfgPath), 0))
	state = filepath.Join(dir, stateName)
	require.NoError(t, os.MkdirAll(filepath.Dir(state), 0o700))
	insert = func(userID string, c profile.CUID) { insertCard(t, state, userID, c, "") }
	return cfgPath, state, insert
}

// keysOf is the operator's key file that setup writes beside cfgPath.
func keysOf(cfgPath string) string { return filepath.Join(filepath.Dir(cfgPath), "keys.json") }

// insertCard writes a mock card with a Type A AP loaded with the
// operator's keys (testkeys) to state; password, when not empty, protects
// the AP.
func insertCard(t *testing.T, state, userID string, c profile.CUID, password string) {
	t.Helper()
	id := profile.Identity{UserID: userID}
	cfg := mockcard.TypeA{Identity: id, CUID: c, Keys: mockcard.APKeys{Masters: keystest.Store(0)}}
	if password != "" {
		cfg.Password = &mockcard.APPassword{Value: profile.Password(password)}
	}
	mc, err := mockcard.New(mockcard.WithTypeA(cfg))
	require.NoError(t, err)
	require.NoError(t, mc.Save(state))
}

// insertTypeCClone writes a mock card with only a Type C AP carrying
// userID and CUID c: what anyone makes of a card's keyless read (a blank
// card or a phone answering with the same ID and the same CUID).
func insertTypeCClone(t *testing.T, state, userID string, c profile.CUID) {
	t.Helper()
	mc, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: userID}, CUID: c}))
	require.NoError(t, err)
	require.NoError(t, mc.Save(state))
}

// env returns vars as an environment (KEY=VALUE entries).
func env(vars map[string]string) func() ([]string, error) {
	var out []string
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return environ(out...)
}

// environ returns an environment of the given entries, in order.
func environ(entries ...string) func() ([]string, error) {
	return func() ([]string, error) { return entries, nil }
}

func TestPAMInProcess(t *testing.T) {
	cfgPath, state, insert := setup(t, "")
	pam := func(user, pamType string, stdin string, extra ...string) (int, string) {
		var stderr bytes.Buffer
		args := append([]string{"pam", "--config", cfgPath, "--keys", keysOf(cfgPath), "--mock-state", state}, extra...)
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

	// With expose_authtok: the card's password, read and never shown.
	insertCard(t, state, "U-0001", cuid(1), "hunter2")
	code, msg = pam("alice", "auth", "hunter2\x00", "--read-authtok")
	assert.Equal(t, exitOK, code, msg)
	assert.NotContains(t, msg, "hunter2")
	code, msg = pam("alice", "auth", "hunter3\x00", "--read-authtok")
	assert.Equal(t, exitDenied, code, "a wrong password")
	assert.NotContains(t, msg, "hunter")
	code, _ = pam("alice", "auth", "")
	assert.Equal(t, exitDenied, code, "a card with a password, no password given")
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
	assert.Equal(t, exitUsage, run(context.Background(), []string{"pam", "--config", cfgPath, "--keys", keysOf(cfgPath)}, env(nil), nil, &stderr, &stderr))
	assert.Equal(t, exitUsage, run(context.Background(), []string{"pam", "--mock-state", state, "--keys", keysOf(cfgPath)}, env(map[string]string{"PAM_USER": "alice"}), nil, &stderr, &stderr))
	stderr.Reset()
	assert.Equal(t, exitUsage, run(context.Background(), []string{"pam", "--config", cfgPath, "--mock-state", state}, env(map[string]string{"PAM_USER": "alice"}), nil, &stderr, &stderr))
	assert.Contains(t, stderr.String(), "give --keys FILE", "no keys and no --allow-type-c: nothing to read cards with")
	assert.Equal(t, exitUsage, run(context.Background(), []string{"bogus", "--mock-state", state}, env(nil), nil, &stderr, &stderr))
	require.NoError(t, os.Chmod(cfgPath, 0o666))
	code, msg = pam("alice", "auth", "")
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, fmt.Sprintf("pclogin: config: %s is writable by others (mode 0666) (to fix: chmod o-w %s)\n", cfgPath, cfgPath), msg)
}

// TestPAMRefusesUntrustedMapping: pclogin runs as root; a mapping file an
// ordinary user owns, or one in a directory others may write, lets that
// user map their card to root. Refused, with the fix on the same line.
func TestPAMRefusesUntrustedMapping(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the mapping file to another user")
	}
	const nobody = 65534
	cfgPath, state, insert := setup(t, "")
	insert("U-0001", cuid(1))
	pam := func() (int, string) {
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"pam", "--config", cfgPath, "--keys", keysOf(cfgPath), "--mock-state", state},
			env(map[string]string{"PAM_USER": "alice", "PAM_TYPE": "auth"}), nil, &bytes.Buffer{}, &stderr)
		return code, stderr.String()
	}
	code, msg := pam()
	require.Equal(t, exitOK, code, msg)

	require.NoError(t, os.Chown(cfgPath, nobody, nobody))
	code, msg = pam()
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, fmt.Sprintf("pclogin: config: %s is owned by another user (owner uid %d) (to fix: chown 0 %s)\n", cfgPath, nobody, cfgPath), msg)
	require.NoError(t, os.Chown(cfgPath, 0, 0))

	dir := filepath.Dir(cfgPath)
	require.NoError(t, os.Chmod(dir, 0o777))
	code, msg = pam()
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, fmt.Sprintf("pclogin: config: %s is in a directory writable by others (%s: owner uid 0, mode 0777) (to fix: chmod o-w %s)\n", cfgPath, dir, dir), msg)
}

// TestPAMTypeCClone: a Type C card made from a keyless read of alice's card
// carries her user ID and her CUID, so the mapping's CUID pin does not stop
// it. pclogin refuses it by default (it proves nothing); only
// --allow-type-c accepts it, and then every decision carries the warning.
func TestPAMTypeCClone(t *testing.T) {
	cfgPath, state, insert := setup(t, "")
	pam := func(extra ...string) (int, string) {
		var stderr bytes.Buffer
		args := append([]string{"pam", "--config", cfgPath, "--mock-state", state}, extra...)
		code := run(context.Background(), args, env(map[string]string{"PAM_USER": "alice", "PAM_TYPE": "auth"}), nil, &bytes.Buffer{}, &stderr)
		return code, stderr.String()
	}
	keys := []string{"--keys", keysOf(cfgPath)}
	insert("U-0001", cuid(1))
	code, msg := pam(keys...)
	require.Equal(t, exitOK, code, msg)

	insertTypeCClone(t, state, "U-0001", cuid(1))
	code, msg = pam(keys...)
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: denied: card unreadable\n", msg, "a client with keys reads Type A only")
	code, msg = pam(append(keys, "--allow-type-c")...)
	assert.Equal(t, exitOK, code, msg)
	assert.Equal(t, typeCWarning+"\n", msg)
	code, msg = pam("--allow-type-c")
	assert.Equal(t, exitOK, code, msg)
	assert.Equal(t, typeCWarning+"\n", msg)
	// The warning comes with every decision, a refusal too.
	var stderr bytes.Buffer
	code = run(context.Background(), []string{"pam", "--config", cfgPath, "--mock-state", state, "--allow-type-c"},
		env(map[string]string{"PAM_USER": "bob", "PAM_TYPE": "auth"}), nil, &bytes.Buffer{}, &stderr)
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, typeCWarning+"\npclogin: denied: card belongs to another account\n", stderr.String())
}

// TestPAMDuplicatedVariables: pam_exec puts the PAM environment (what
// pam_env or any module set) before its own PAM_USER and PAM_TYPE. A
// planted PAM_TYPE=open_session would skip the card check; a planted
// PAM_USER would check another account's card. Any PAM_* variable that
// appears twice is refused.
func TestPAMDuplicatedVariables(t *testing.T) {
	cfgPath, state, insert := setup(t, "")
	insert("U-0002", cuid(2)) // bob's card
	cases := []struct {
		name    string
		environ []string
		want    int
		msg     string
	}{
		{"pam_exec's variables only", []string{"PAM_SERVICE=login", "PAM_USER=bob", "PAM_TYPE=auth"}, exitOK, ""},
		{"a planted PAM_TYPE=open_session, no card check", []string{"PAM_TYPE=open_session", "PAM_USER=alice", "PAM_TYPE=auth"}, exitDenied,
			"pclogin: refused: PAM_TYPE appears 2 times in the environment\n"},
		{"a planted PAM_USER: bob's card for alice", []string{"PAM_USER=bob", "HOME=/", "PAM_USER=alice", "PAM_TYPE=auth"}, exitDenied,
			"pclogin: refused: PAM_USER appears 2 times in the environment\n"},
		{"another PAM_ variable twice", []string{"PAM_RHOST=a", "PAM_RHOST=b", "PAM_USER=bob", "PAM_TYPE=auth"}, exitDenied,
			"pclogin: refused: PAM_RHOST appears 2 times in the environment\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), []string{"pam", "--config", cfgPath, "--keys", keysOf(cfgPath), "--mock-state", state}, environ(tc.environ...),
				nil, &bytes.Buffer{}, &stderr)
			assert.Equal(t, tc.want, code, stderr.String())
			assert.Equal(t, tc.msg, stderr.String())
		})
	}
	// An environment that cannot be read with its duplicates refuses.
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"pam", "--config", cfgPath, "--keys", keysOf(cfgPath), "--mock-state", state},
		func() ([]string, error) { return nil, errors.New("no /proc") }, nil, &bytes.Buffer{}, &stderr)
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: refused: no /proc\n", stderr.String())

	_, err := pamEnv([]string{"PAM_TYPE=a", "PAM_TYPE=b", "PAM_TYPE=c"})
	var pe *pamEnvError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, pamEnvError{Name: "PAM_TYPE", Count: 3}, *pe)
}

func TestIdentify(t *testing.T) {
	cfgPath, state, insert := setup(t, "")
	insert("U-0002", cuid(2))
	var out, stderr bytes.Buffer
	code := run(context.Background(), []string{"identify", "--mock-state", state, "--config", cfgPath, "--keys", keysOf(cfgPath)}, env(nil), nil, &out, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	assert.Equal(t, "user_id\tU-0002\ncuid\t"+cuid(2).String()+"\nproof\tType A, mutual-auth\naccount\tbob\n", out.String())

	// A failed write of the output is an error, not a silent success.
	stderr.Reset()
	code = run(context.Background(), []string{"identify", "--mock-state", state, "--keys", keysOf(cfgPath)}, env(nil), nil, failingWriter{}, &stderr)
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
	pam := install(fmt.Sprintf("auth required pam_exec.so quiet %s pam --config %s --keys %s [--mock-state=%s]\n"+
		"account required pam_exec.so quiet %s pam --config %s --keys %s [--mock-state=%s]\n",
		bin, cfgPath, keysOf(cfgPath), state, bin, cfgPath, keysOf(cfgPath), state)).run

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

	// A Type C copy of alice's card (same user ID, same CUID).
	insertTypeCClone(t, state, "U-0001", cuid(1))
	ok, out = pam("alice", "authenticate")
	assert.False(t, ok, "a Type C clone of alice's card: %s", out)

	require.NoError(t, os.Remove(state))
	ok, out = pam("bob", "authenticate")
	assert.False(t, ok, "card removed: %s", out)
}

// TestPAMStackPlantedEnvironment: a pam_env line in the session stack sets
// PAM_TYPE or PAM_USER in the PAM environment; pam_exec then puts them
// before its own. A screen locker that opened the session and then
// authenticates again (pamtester open_session authenticate) must not skip
// the card check (a planted PAM_TYPE=open_session) nor check another
// account's card (a planted PAM_USER).
func TestPAMStackPlantedEnvironment(t *testing.T) {
	install := pamStack(t)
	bin := buildPCLogin(t)
	cfgPath, state, insert := setup(t, "")
	dir := t.TempDir()
	service := func(envConf string) func(user string, ops ...string) (bool, string) {
		conf := filepath.Join(dir, fmt.Sprintf("pam_env-%d.conf", len(envConf)))
		require.NoError(t, os.WriteFile(conf, []byte(envConf), 0o644))
		return install(fmt.Sprintf("session required pam_env.so readenv=0 conffile=%s\n"+
			"auth required pam_exec.so quiet stdout %s pam --config %s --keys %s --mock-state %s\n", conf, bin, cfgPath, keysOf(cfgPath), state)).run
	}

	harmless := service("FREESPACE_TEST DEFAULT=1\n")
	ok, out := harmless("alice", "open_session", "authenticate")
	assert.False(t, ok, "no card: %s", out)
	insert("U-0001", cuid(1))
	ok, out = harmless("alice", "open_session", "authenticate")
	assert.True(t, ok, "alice's card, pam_env setting another variable: %s", out)
	require.NoError(t, os.Remove(state))

	plantedType := service("PAM_TYPE DEFAULT=open_session\n")
	ok, out = plantedType("alice", "open_session", "authenticate")
	assert.False(t, ok, "a planted PAM_TYPE=open_session, no card: %s", out)
	assert.Contains(t, out, "pclogin: refused: PAM_TYPE appears 2 times in the environment")

	insert("U-0002", cuid(2)) // bob's card
	plantedUser := service("PAM_USER DEFAULT=bob\n")
	ok, out = plantedUser("alice", "open_session", "authenticate")
	assert.False(t, ok, "a planted PAM_USER=bob, bob's card, logging in as alice: %s", out)
	assert.Contains(t, out, "pclogin: refused: PAM_USER appears 2 times in the environment")
	ok, out = harmless("bob", "open_session", "authenticate")
	assert.True(t, ok, "bob's own card still logs bob in: %s", out)
}

// TestWatchPasswordNotInherited: the card password given with
// --password-env is removed from pclogin's environment once read, so the
// lock command (a child process) does not inherit it. (The kernel's copy
// of pclogin's initial environment, /proc/PID/environ, still holds it:
// readable by the same user and root only.)
func TestWatchPasswordNotInherited(t *testing.T) {
	bin := buildPCLogin(t)
	marker := filepath.Join(t.TempDir(), "lock-env")
	cfgPath, state, _ := setup(t, `,"poll_interval":"20ms","lock_command":["/usr/bin/env"]`)
	// The lock command writes its environment where the test can read it.
	lock := filepath.Join(filepath.Dir(cfgPath), "lock.sh")
	require.NoError(t, os.WriteFile(lock, []byte("#!/bin/sh\n/usr/bin/env > \""+marker+"\"\n"), 0o700))
	b, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfgPath, bytes.Replace(b, []byte(`"/usr/bin/env"`), []byte(fmt.Sprintf("%q", lock)), 1), 0o600))
	const password = "s3cret-pw-4711"
	insertCard(t, state, "U-0001", cuid(1), password)
	cmd := exec.Command(bin, "watch", "--config", cfgPath, "--keys", keysOf(cfgPath), "--mock-state", state,
		"--account", "alice", "--password-env", "PCLOGIN_TEST_PASSWORD", "-v")
	cmd.Env = append(os.Environ(), "PCLOGIN_TEST_PASSWORD="+password, "PCLOGIN_TEST_OTHER=kept")
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "armed") }, 15*time.Second, 10*time.Millisecond,
		"the card with its password arms the watcher: %s", stderr.String())
	require.NoError(t, os.Remove(state))
	var childEnv []byte
	require.Eventually(t, func() bool {
		childEnv, _ = os.ReadFile(marker)
		return strings.Contains(string(childEnv), "PCLOGIN_TEST_OTHER=kept")
	}, 15*time.Second, 10*time.Millisecond, "the lock command ran: %s", stderr.String())
	assert.NotContains(t, string(childEnv), "PCLOGIN_TEST_PASSWORD")
	assert.NotContains(t, string(childEnv), password)
	assert.NotContains(t, stderr.String(), password)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.NoError(t, cmd.Wait())
}

// TestWatchCommand runs `pclogin watch` as a process and checks the lock
// command runs when the card leaves.
func TestWatchCommand(t *testing.T) {
	bin := buildPCLogin(t)
	marker := filepath.Join(t.TempDir(), "locks")
	cfgPath, state, insert := setup(t, fmt.Sprintf(`,"poll_interval":"20ms","lock_command":["/bin/sh","-c","echo locked >> \"$0\"",%q]`, marker))
	insert("U-0001", cuid(1))
	cmd := exec.Command(bin, "watch", "--config", cfgPath, "--keys", keysOf(cfgPath), "--mock-state", state, "--account", "alice", "-v")
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
