package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// everyCommandLine lists every command line of the command table: each
// command alone when it has no subcommands, else each "command sub".
func everyCommandLine() [][]string {
	var lines [][]string
	for _, cmd := range commands() {
		if len(cmd.subs) == 0 {
			lines = append(lines, []string{cmd.name})
			continue
		}
		for _, sub := range cmd.subs {
			lines = append(lines, []string{cmd.name, sub})
		}
	}
	return lines
}

// snakeKey is a JSON key in the one style.
var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// assertJSONLines checks that out is one or more lines, each one JSON
// object whose keys (at every depth) are snake_case, and returns them.
func assertJSONLines(t *testing.T, out string, msg ...any) []map[string]any {
	t.Helper()
	require.True(t, strings.HasSuffix(out, "\n"), "JSON output ends its line: %q %v", out, msg)
	var objs []map[string]any
	for line := range strings.SplitSeq(strings.TrimSuffix(out, "\n"), "\n") {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v), "one JSON object per line: %q %v", line, msg)
		walkKeys(t, v, msg...)
		objs = append(objs, v)
	}
	return objs
}

func walkKeys(t *testing.T, v any, msg ...any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			assert.Regexp(t, snakeKey, k, "JSON keys are snake_case %v", msg)
			walkKeys(t, x, msg...)
		}
	case []any:
		for _, x := range v {
			walkKeys(t, x, msg...)
		}
	}
}

// assertJSONError checks that out is exactly one JSON error object with
// the given code and exit status.
func assertJSONError(t *testing.T, out, code string, exit int, msg ...any) map[string]any {
	t.Helper()
	objs := assertJSONLines(t, out, msg...)
	require.Len(t, objs, 1, "one error object %v", msg)
	e := objs[0]
	assert.NotEmpty(t, e["error"], "%v", msg)
	assert.Equal(t, code, e["code"], "%v", msg)
	assert.Equal(t, float64(exit), e["exit"], "%v", msg)
	return e
}

// TestUsageErrorsEverywhere: on every command line, an unknown flag and a
// bad flag value exit 2 with the usage on stderr and nothing on stdout;
// with --json the same error is one JSON object on stdout (code "usage").
func TestUsageErrorsEverywhere(t *testing.T) {
	for _, line := range everyCommandLine() {
		t.Run(strings.Join(line, " "), func(t *testing.T) {
			args := append(append([]string{}, line...), "--no-such-flag")
			code, out, errOut := runCLI(t, &mockSource{}, args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "usage: cardap")

			code, out, errOut = runCLI(t, &mockSource{}, append(args, "--json")...)
			assert.Equal(t, exitUsage, code)
			assertJSONError(t, out, "usage", exitUsage, args)
			assert.Contains(t, errOut, "usage: cardap", "the usage stays on stderr")
		})
	}
	// An unknown command or subcommand, under --json.
	for _, args := range [][]string{{"nosuch", "--json"}, {"revocation", "nosuch", "--json"}, {"typed", "nosuch", "--json"}, {"password", "--json"}} {
		code, out, _ := runCLI(t, &mockSource{}, args...)
		assert.Equal(t, exitUsage, code, "%q", args)
		assertJSONError(t, out, "usage", exitUsage, args)
	}
}

// TestExitCodeTable: the README, the package documentation and the usage
// show the one exit-code table (exitCodes), and every error class maps to
// a code of that table.
func TestExitCodeTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	mainGo, err := os.ReadFile("main.go")
	require.NoError(t, err)
	_, usageOut, _ := runCLI(t, nil, "--help")
	known := map[int]bool{}
	for _, e := range exitCodes() {
		known[e.Code] = true
		assert.Contains(t, string(readme), fmt.Sprintf("| %d | %s |", e.Code, e.Meaning), "README's exit-code table")
		assert.Contains(t, string(mainGo), fmt.Sprintf("//\t%d  %s\n", e.Code, e.Meaning), "the package comment's table")
		assert.Contains(t, usageOut, fmt.Sprintf("  %d  %s\n", e.Code, e.Meaning), "cardap --help")
	}
	rows := regexp.MustCompile(`(?m)^\| (\d+) \| `).FindAllStringSubmatch(string(readme), -1)
	n := 0
	for _, r := range rows {
		if len(r[1]) == 1 {
			n++
		}
	}
	assert.Equal(t, len(exitCodes()), n, "README lists no other exit code")
	seen := map[string]bool{}
	for _, ec := range errorClasses() {
		assert.True(t, known[ec.exit], "class %s exits %d, not in the table", ec.code, ec.exit)
		assert.Regexp(t, snakeKey, ec.code)
		assert.False(t, seen[ec.code], "code %s appears twice", ec.code)
		seen[ec.code] = true
	}
}

// TestSecretFileRule: every flag that names a secret file (operator keys,
// the feed's signing key) refuses a file readable by others and a
// symbolic link with the same exit code (1), the same stable code
// (untrusted_file) and the same remedy, as text and as JSON.
func TestSecretFileRule(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes; the Windows ACL rule is tested in package securefile")
	}
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	withAudit(t)
	dir := t.TempDir()
	feedKey := filepath.Join(dir, "feed.key")
	code, _, errOut := runCLI(t, src, "revocation", "publish", "--new-key", feedKey)
	require.Equal(t, exitOK, code, errOut)
	master := filepath.Join(dir, "master.csv")
	require.NoError(t, os.WriteFile(master, []byte(cliMaster()), 0o644))

	cases := []struct {
		file string
		args []string
	}{
		{kf, []string{"typea", "read", "--keys", kf, "--password-mode", "none"}},
		{kf, []string{"typed", "read", "--keys", kf}},
		{kf, []string{"typed", "write", "--keys", kf, "--data-file", master}},
		{kf, []string{"password", "status", "--type", "a", "--keys", kf}},
		{kf, []string{"password", "unblock", "--type", "d", "--keys", kf, "--new-env", "FS_NONE"}},
		{kf, []string{"personalize", "--type", "a", "--user-id", "U", "--keys", kf}},
		{kf, []string{"mock", "serve", "--keys", kf, "--vpcd", "127.0.0.1:1"}},
		{feedKey, []string{"revocation", "publish", "--master", master, "--out", filepath.Join(dir, "feed"), "--key", feedKey}},
	}
	for _, tc := range cases {
		name := strings.Join(tc.args[:2], " ")
		require.NoError(t, os.Chmod(tc.file, 0o644))
		code, out, errOut := runCLI(t, src, tc.args...)
		assert.Equal(t, exitFailure, code, "%s: %s", name, errOut)
		assert.Empty(t, out, name)
		assert.Contains(t, errOut, "cardap: to fix it: chmod 600 "+tc.file, name)
		code, out, _ = runCLI(t, src, append(tc.args, "--json")...)
		assert.Equal(t, exitFailure, code, name)
		e := assertJSONError(t, out, "untrusted_file", exitFailure, name)
		assert.Equal(t, "chmod 600 "+tc.file, e["remedy"], name)
		require.NoError(t, os.Chmod(tc.file, 0o600))

		link := tc.file + ".link"
		require.NoError(t, os.Symlink(tc.file, link))
		args := make([]string, len(tc.args))
		for i, a := range tc.args {
			args[i] = strings.ReplaceAll(a, tc.file, link)
		}
		code, out, _ = runCLI(t, src, append(args, "--json")...)
		assert.Equal(t, exitFailure, code, name)
		e = assertJSONError(t, out, "untrusted_file", exitFailure, name)
		assert.Contains(t, e["error"], "symbolic link", name)
		require.NoError(t, os.Remove(link))
	}
	assert.NoDirExists(t, filepath.Join(dir, "feed"), "nothing published with an untrusted key")
}

// TestKeySourceSyntax: --keys takes a file, env: (FREESPACE_KEY_*) or
// env:PREFIX, and reads the same keys from each; a bad prefix is a usage
// error.
func TestKeySourceSyntax(t *testing.T) {
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	withAudit(t)
	t.Setenv("FS_PW", "Kx7#pass")
	code, _, errOut := runCLI(t, src, "personalize", "--type", "a", "--keys", kf, "--user-id", "U-ENV", "--password-env", "FS_PW")
	require.Equal(t, exitOK, code, errOut)

	// The key file's entries as variables, under the default and a custom
	// prefix.
	raw, err := os.ReadFile(kf)
	require.NoError(t, err)
	var file struct {
		Keys []struct {
			Name    string `json:"name"`
			Version int    `json:"version"`
			Alg     string `json:"alg"`
			Key     string `json:"key"`
		} `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(raw, &file))
	for _, k := range file.Keys {
		name := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(k.Name))
		v := fmt.Sprintf("%s:%s", k.Alg, k.Key)
		t.Setenv(fmt.Sprintf("FREESPACE_KEY_%s_V%d", name, k.Version), v)
		t.Setenv(fmt.Sprintf("GATE7_%s_V%d", name, k.Version), v)
	}
	for _, spec := range []string{kf, "env:", "env:GATE7_"} {
		t.Setenv("FS_PW", "Kx7#pass")
		code, out, errOut := runCLI(t, src, "typea", "read", "--keys", spec, "--password-env", "FS_PW", "--json")
		require.Equal(t, exitOK, code, "%s: %s", spec, errOut)
		objs := assertJSONLines(t, out, spec)
		assert.Equal(t, "U-ENV", objs[0]["user_id"], spec)
	}
	// A prefix naming no variables finds no keys: the key set is refused
	// before any authentication (not a usage error).
	t.Setenv("FS_PW", "Kx7#pass")
	code, out, _ := runCLI(t, src, "typea", "read", "--keys", "env:NOTHING_HERE_", "--password-env", "FS_PW", "--json")
	assert.Equal(t, exitFailure, code)
	assertJSONError(t, out, "key_set_refused", exitFailure)
	code, out, _ = runCLI(t, src, "typea", "read", "--keys", "env:bad-prefix", "--json")
	assert.Equal(t, exitUsage, code)
	assertJSONError(t, out, "usage", exitUsage)
}

// TestJSONShapes: the success output of each command under --json is
// JSON lines with snake_case keys, and a refused password carries
// tries_left.
func TestJSONShapes(t *testing.T) {
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	withAudit(t)
	t.Setenv("FS_PW", "Kx7#pass")
	t.Setenv("FS_BAD", "Wrong#Pw")
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	feedDir := filepath.Join(dir, "feed")
	feedKey := filepath.Join(dir, "feed.key")
	master := filepath.Join(dir, "master.csv")
	require.NoError(t, os.WriteFile(master, []byte(cliMaster()), 0o644))
	data := filepath.Join(dir, "data.bin")
	require.NoError(t, os.WriteFile(data, []byte("hello"), 0o644))

	steps := [][]string{
		{"readers"},
		{"probe"},
		{"version"},
		{"personalize", "--type", "a", "--keys", kf, "--user-id", "U-J", "--attr", "role=staff", "--password-env", "FS_PW"},
		{"personalize", "--type", "d", "--keys", kf, "--user-id", "U-J", "--password-env", "FS_PW"},
		{"personalize", "--type", "c", "--user-id", "U-J"},
		{"typec", "read"},
		{"typea", "read", "--keys", kf, "--password-env", "FS_PW"},
		{"typed", "write", "--keys", kf, "--password-env", "FS_PW", "--data-file", data},
		{"typed", "read", "--keys", kf, "--password-env", "FS_PW"},
		{"password", "status", "--type", "a", "--keys", kf},
		{"revocation", "publish", "--new-key", feedKey},
	}
	for _, args := range steps {
		code, out, errOut := runCLI(t, src, append(args, "--json")...)
		require.Equal(t, exitOK, code, "%q: %s", args, errOut)
		assertJSONLines(t, out, args)
	}
	var kp map[string]any
	_, out, _ := runCLI(t, src, "revocation", "publish", "--new-key", filepath.Join(dir, "other.key"), "--json")
	require.NoError(t, json.Unmarshal([]byte(out), &kp))
	for _, args := range [][]string{
		{"revocation", "publish", "--master", master, "--out", feedDir, "--key", feedKey},
		{"revocation", "sync", "--store", store, "--from", feedDir, "--pubkey", pubOf(t, feedKey)},
		{"revocation", "stop", "--store", store, "--by", "desk", "--why", "phoned", "ffeeddccbbaa99887766554433221100"},
		{"revocation", "unstop", "--store", store, "--by", "desk", "--why", "found", "ffeeddccbbaa99887766554433221100"},
		{"revocation", "status", "--store", store, "--audit"},
		{"revocation", "check", "--store", store, "ffeeddccbbaa99887766554433221100", "0123456789abcdef0123456789abcdef"},
	} {
		code, out, errOut := runCLI(t, src, append(args, "--json")...)
		require.Equal(t, exitOK, code, "%q: %s", args, errOut)
		objs := assertJSONLines(t, out, args)
		if args[1] == "check" {
			assert.Len(t, objs, 2, "one line per identifier")
		}
	}
	// A refused password: exit 5, code and tries_left.
	code, out, _ := runCLI(t, src, "typea", "read", "--keys", kf, "--password-env", "FS_BAD", "--json")
	assert.Equal(t, exitPassword, code)
	e := assertJSONError(t, out, "password_refused", exitPassword)
	assert.Equal(t, float64(2), e["tries_left"])
	assert.NotContains(t, out, "Wrong#Pw")
	// No card: exit 3.
	code, out, _ = runCLI(t, &mockSource{}, "typec", "read", "--json")
	assert.Equal(t, exitNoCard, code)
	assertJSONError(t, out, "no_card", exitNoCard)
	// A revoked identifier: exit 4, and the list itself is the answer.
	code, _, _ = runCLI(t, src, "revocation", "check", "--store", store, "00112233445566778899aabbccddeeff", "--json")
	assert.Equal(t, exitRevoked, code)
	// A store never synced: exit 4 with its code.
	code, out, _ = runCLI(t, src, "revocation", "check", "--store", filepath.Join(dir, "empty"), "ffeeddccbbaa99887766554433221100", "--json")
	assert.Contains(t, []int{exitRevoked, exitFailure}, code)
	assertJSONLines(t, out)
}

// pubOf returns the public key of the feed signing seed in path.
func pubOf(t *testing.T, path string) string {
	t.Helper()
	priv, err := readPrivateKey(path)
	require.NoError(t, err)
	defer clear(priv)
	return fmt.Sprintf("%x", priv.Public())
}

// TestWantsJSON: --json as the flag package reads a boolean, before "--".
func TestWantsJSON(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"readers", "--json"}, true},
		{[]string{"-json"}, true},
		{[]string{"--json=true"}, true},
		{[]string{"--json=1"}, true},
		{[]string{"-json=T"}, true},
		{[]string{"--json=false"}, false},
		{[]string{"--json=maybe"}, false},
		{[]string{"--", "--json"}, false},
		{[]string{"--jsonx"}, false},
		{nil, false},
	} {
		assert.Equal(t, tc.want, wantsJSON(tc.args), "%q", tc.args)
	}
}
