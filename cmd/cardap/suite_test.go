package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
)

// suiteKey is one master key of suiteKeys.
type suiteKey struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Alg     string `json:"alg"`
	Key     string `json:"key"`
}

// suiteKeys returns the profile's master keys for suite (3des: 16-byte
// 3DES keys; aesN: N-bit AES keys) and an AES-256 data key, version 1.
func suiteKeys(suite string) []suiteKey {
	alg, n := "aes", 16
	switch suite {
	case "3des":
		alg = "3des"
	case "aes192":
		n = 24
	case "aes256":
		n = 32
	}
	key := func(name, alg string, n int) suiteKey {
		sum := sha256.Sum256([]byte("cardap suite test " + suite + " " + name))
		return suiteKey{name, 1, alg, hex.EncodeToString(sum[:n])}
	}
	var out []suiteKey
	for _, ap := range []string{"typea", "typed"} {
		for _, role := range []string{"auth", "update", "admin"} {
			for _, half := range []string{"enc", "mac"} {
				out = append(out, key(ap+"-"+role+"-"+half, alg, n))
			}
		}
	}
	return append(out, key("typed-data", "aes", 32))
}

// setSuiteKeys puts suiteKeys(suite) into FREESPACE_KEY_* variables for
// the test and returns a provider reading them.
func setSuiteKeys(t *testing.T, suite string) keys.Provider {
	t.Helper()
	for _, k := range suiteKeys(suite) {
		t.Setenv(keys.EnvName(keys.KeyRef{Name: k.Name, Version: k.Version}), k.Alg+":"+k.Key)
	}
	return keys.Env{}
}

// writeSuiteKeys writes suiteKeys(suite) as a key file and returns its
// path.
func writeSuiteKeys(t *testing.T, suite string) string {
	t.Helper()
	b, err := json.Marshal(struct {
		Keys []suiteKey `json:"keys"`
	}{suiteKeys(suite)})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

// TestMockServeSuite: `cardap mock serve --keys SPEC --suite SUITE` makes
// the demo card's Type A and D APs with keys of that suite, which the
// card commands reach with the same --suite.
func TestMockServeSuite(t *testing.T) {
	kf := writeSuiteKeys(t, "aes256")
	card, _, err := mockCard(context.Background(), "", "DEMO-256", kf, secure.AES256, nil)
	require.NoError(t, err)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	t.Setenv("FS_PW", demoPassword)
	for _, args := range [][]string{
		{"typea", "read", "--keys", kf, "--suite", "aes256", "--password-env", "FS_PW"},
		{"typed", "read", "--keys", kf, "--suite", "AES-256", "--password-env", "FS_PW"},
	} {
		code, out, errOut := runCLI(t, src, args...)
		require.Equal(t, exitOK, code, "%q: %s", args, errOut)
		assert.Contains(t, out, "DEMO-256", "%q", args)
	}
	code, _, _ := runCLI(t, src, "typea", "read", "--keys", kf, "--password-env", "FS_PW")
	assert.NotEqual(t, exitOK, code, "AES-128, the default, is not the card's suite")
}

// TestSuiteFlag: issue 11 §3.5. --suite reaches every cipher suite of the
// profile through the CLI: for each suite, with the keys from
// FREESPACE_KEY_* (--keys env:), Type A and Type D are personalized, read,
// written and asked for their password status against the mock card whose
// APs use that suite. Without the right --suite the card's keys do not
// match and authentication fails.
func TestSuiteFlag(t *testing.T) {
	for _, tc := range []struct{ flag, mock string }{
		{"3des", "3DES"}, {"aes128", "AES-128"}, {"aes192", "AES-192"}, {"aes256", "AES-256"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			prov := setSuiteKeys(t, tc.flag)
			pw := &mockcard.APPassword{Value: profile.Password("0000")}
			card := mockcard.MustNew(
				mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: prov, Suite: tc.mock}, Password: pw, Unsealed: true}),
				mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: prov, Suite: tc.mock}, Password: pw, Unsealed: true}),
			)
			src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
			withAudit(t)
			t.Setenv("FS_PW", "Kx7#pass")
			data := filepath.Join(t.TempDir(), "data.bin")
			require.NoError(t, os.WriteFile(data, []byte("suite "+tc.flag), 0o600))
			ok := func(args ...string) string {
				t.Helper()
				code, out, errOut := runCLI(t, src, args...)
				require.Equal(t, exitOK, code, "%v: %s%s", args, out, errOut)
				return out
			}
			ok("personalize", "--type", "a", "--keys", "env:", "--suite", tc.flag, "--user-id", "U-"+tc.flag, "--password-env", "FS_PW")
			ok("personalize", "--type", "d", "--keys", "env:", "--suite", tc.flag, "--user-id", "U-"+tc.flag, "--password-env", "FS_PW", "--data-file", data, "--data-key-version", "1")

			var id identityJSON
			require.NoError(t, json.Unmarshal([]byte(ok("typea", "read", "--keys", "env:", "--suite", tc.flag, "--password-env", "FS_PW", "--json")), &id))
			assert.Equal(t, "U-"+tc.flag, id.UserID)
			assert.Contains(t, ok("password", "status", "--type", "a", "--keys", "env:", "--suite", tc.flag), "3 tries left")

			require.NoError(t, os.WriteFile(data, []byte("rewritten "+tc.flag), 0o600))
			// The data key version: the latest the variables hold.
			ok("typed", "write", "--keys", "env:", "--suite", tc.flag, "--password-env", "FS_PW", "--data-file", data)
			id = identityJSON{}
			require.NoError(t, json.Unmarshal([]byte(ok("typed", "read", "--keys", "env:", "--suite", tc.flag, "--password-env", "FS_PW", "--json")), &id))
			assert.Equal(t, "U-"+tc.flag, id.UserID)
			assert.Equal(t, []byte("rewritten "+tc.flag), id.Data)

			if tc.flag != "aes128" {
				// The default suite (AES-128) is not the card's.
				code, out, errOut := runCLI(t, src, "typea", "read", "--keys", "env:", "--password-env", "FS_PW")
				assert.NotEqual(t, exitOK, code, "%s%s", out, errOut)
			}
		})
	}
}

// TestSuiteFlagValues: --suite takes the profile's suites by name and
// refuses anything else as a usage error, before any key or card is used.
func TestSuiteFlagValues(t *testing.T) {
	code, _, errOut := runCLI(t, nil, "typea", "read", "--keys", "env:", "--suite", "rc4")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "rc4")
	for _, s := range []string{"3des", "3DES", "aes128", "AES-128", "aes-192", "aes256"} {
		var sf suiteFlag
		require.NoError(t, sf.Set(s), s)
		assert.NotNil(t, sf.suite, s)
		assert.True(t, strings.EqualFold(strings.ReplaceAll(sf.String(), "-", ""), strings.ReplaceAll(s, "-", "")), fmt.Sprintf("%s -> %s", s, sf))
	}
}
