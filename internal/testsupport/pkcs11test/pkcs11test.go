// Package pkcs11test is test support for tests that use a real PKCS#11
// token (SoftHSM2). scripts/test.sh installs SoftHSM2 when missing,
// checks that it can create a token in a temporary directory with its own
// SOFTHSM2_CONF (never the system one) and sets
//
//	FREESPACE_PKCS11=1                   SoftHSM2 works
//	FREESPACE_REQUIRE_PKCS11=1           the PKCS#11 tests are required
//	FREESPACE_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so
//	SOFTHSM2_CONF, FREESPACE_PKCS11_TOKEN, FREESPACE_PKCS11_PIN
//	                                     its token (for benchmarks run
//	                                     with scripts/test.sh -- ...)
//
// A PKCS#11 module reads its configuration once per process, and go test
// runs packages in parallel processes, so each test binary gets a token
// of its own: a package's TestMain calls Main, which creates a fresh
// token in a temporary directory, points SOFTHSM2_CONF at it for the
// process, runs the tests and removes it. Get then returns that token, or
// skips the test (fails it when FREESPACE_REQUIRE_PKCS11=1 or CI is set).
package pkcs11test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Environment variables of scripts/test.sh and Main.
const (
	EnvEnable  = "FREESPACE_PKCS11"
	EnvRequire = "FREESPACE_REQUIRE_PKCS11"
	EnvModule  = "FREESPACE_PKCS11_MODULE"
	EnvToken   = "FREESPACE_PKCS11_TOKEN"
	EnvPIN     = "FREESPACE_PKCS11_PIN"
	EnvConf    = "SOFTHSM2_CONF"
)

// DefaultModule is SoftHSM2's module on Debian.
const DefaultModule = "/usr/lib/softhsm/libsofthsm2.so"

// howToRun is the hint given when no token is available.
const howToRun = "PKCS#11 tests need SoftHSM2: run scripts/test.sh (it installs softhsm2 when missing and creates a temporary token)"

// Token is a SoftHSM2 token for the tests of one process.
type Token struct {
	// Module is the absolute path of the PKCS#11 module.
	Module string
	// Label is the token label.
	Label string
	// PIN is the user PIN (a random test PIN), also in $FREESPACE_PKCS11_PIN.
	PIN string
}

// URI returns a pkcs11: URI of the token (object may be empty) whose PIN
// comes from $FREESPACE_PKCS11_PIN.
func (t Token) URI(object string) string {
	u := "pkcs11:token=" + url.PathEscape(t.Label)
	if object != "" {
		u += ";object=" + url.PathEscape(object)
	}
	return u + "?module-path=" + url.QueryEscape(t.Module) + "&pin-source=env:" + EnvPIN
}

// required reports whether a missing token fails the test.
func required() bool { return os.Getenv(EnvRequire) == "1" || os.Getenv("CI") != "" }

// Main creates the process's token when FREESPACE_PKCS11=1, runs the tests
// and removes the token. Use it from TestMain: os.Exit(pkcs11test.Main(m)).
func Main(m *testing.M) int {
	if os.Getenv(EnvEnable) != "1" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "freespace-softhsm-")
	if err == nil {
		defer os.RemoveAll(dir)
		err = create(dir)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pkcs11test: cannot create a SoftHSM2 token: %v\n", err)
		if required() {
			return 1
		}
		os.Unsetenv(EnvEnable)
	}
	return m.Run()
}

// create makes a token in dir and sets the process environment to it.
func create(dir string) error {
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return err
	}
	pin, so := randHex(8), randHex(8)
	label := fmt.Sprintf("freespace-test-%d", os.Getpid())
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so)
	cmd.Env = append(os.Environ(), EnvConf+"="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("softhsm2-util --init-token: %v: %s", err, out)
	}
	if os.Getenv(EnvModule) == "" {
		os.Setenv(EnvModule, DefaultModule)
	}
	os.Setenv(EnvConf, conf)
	os.Setenv(EnvToken, label)
	os.Setenv(EnvPIN, pin)
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Get returns the process's token, or skips the test (fails it when the
// token is required).
func Get(t testing.TB) Token {
	t.Helper()
	if os.Getenv(EnvEnable) != "1" || os.Getenv(EnvToken) == "" {
		why := "no SoftHSM2 token (" + EnvEnable + " unset, or the test package has no TestMain calling pkcs11test.Main)"
		if required() {
			t.Fatalf("pkcs11test: %s (%s=1 or CI set: the PKCS#11 tests are required). %s", why, EnvRequire, howToRun)
		}
		t.Skipf("pkcs11test: %s. %s", why, howToRun)
	}
	mod := os.Getenv(EnvModule)
	if mod == "" {
		mod = DefaultModule
	}
	return Token{Module: mod, Label: os.Getenv(EnvToken), PIN: os.Getenv(EnvPIN)}
}
