package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseInterspersed: flags may come before, between and after the
// positional arguments; "--" ends the flags (what follows is positional,
// even when it looks like a flag); bad flags anywhere are errors.
func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		store      string
		json       bool
		positional []string
		err        bool
	}{
		{args: []string{"--store", "st", "a", "b"}, store: "st", positional: []string{"a", "b"}},
		{args: []string{"--store", "st", "a", "--json"}, store: "st", json: true, positional: []string{"a"}},
		{args: []string{"a", "--store=st", "b", "--json"}, store: "st", json: true, positional: []string{"a", "b"}},
		{args: []string{"a", "--store", "st", "--", "--json", "-x"}, store: "st", positional: []string{"a", "--json", "-x"}},
		{args: []string{"--", "a"}, positional: []string{"a"}},
		{args: []string{"a", "b"}, positional: []string{"a", "b"}},
		{args: nil, positional: []string{}},
		{args: []string{"a", "--nosuch"}, err: true},
		{args: []string{"a", "--store"}, err: true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			c := &cli{stdout: &out, stderr: &errb}
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			store := fs.String("store", "", "")
			js := fs.Bool("json", false, "")
			err := parseInterspersed(c, fs, tc.args)
			if tc.err {
				require.Error(t, err)
				assert.NotEmpty(t, errb.String(), "a parse error is reported on stderr")
				assert.Empty(t, out.String())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.store, *store)
			assert.Equal(t, tc.json, *js)
			assert.Equal(t, tc.positional, append([]string{}, fs.Args()...))
		})
	}
}

// TestFlagsAfterPositionals: the report of issue 15 item 2,
// `revocation check --store st <id> --json`, checks the identifier and
// prints JSON instead of refusing "--json" as an identifier; `stop` takes
// its flags after the identifier too; after "--" a flag-like argument is
// an identifier again (and refused as one).
func TestFlagsAfterPositionals(t *testing.T) {
	dir := t.TempDir()
	store, feed, key := filepath.Join(dir, "store"), filepath.Join(dir, "feed"), filepath.Join(dir, "feed.key")
	master := filepath.Join(dir, "master.csv")
	require.NoError(t, os.WriteFile(master, []byte(cliMaster()), 0o644))
	code, out, errs := runCardap(t, "revocation", "publish", "--new-key", key, "--json")
	require.Equal(t, exitOK, code, errs)
	var kp map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &kp))
	code, _, errs = runCardap(t, "revocation", "publish", "--master", master, "--out", feed, "--key", key)
	require.Equal(t, exitOK, code, errs)
	code, _, errs = runCardap(t, "revocation", "sync", "--store", store, "--from", feed, "--pubkey", kp["public_key"])
	require.Equal(t, exitOK, code, errs)

	code, out, errs = runCardap(t, "revocation", "check", "--store", store, "00112233445566778899aabbccddeeff", "--json")
	assert.Equal(t, exitRevoked, code, errs)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	assert.Equal(t, false, res["allowed"])

	code, out, errs = runCardap(t, "revocation", "check", "ffeeddccbbaa99887766554433221100", "--store", store, "--json")
	assert.Equal(t, exitOK, code, errs)
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	assert.Equal(t, true, res["allowed"])

	code, _, errs = runCardap(t, "revocation", "stop", "ffeeddccbbaa99887766554433221100", "--store", store, "--by", "desk-1", "--why", "phoned", "--reason", "stolen")
	require.Equal(t, exitOK, code, errs)
	code, _, _ = runCardap(t, "revocation", "check", "--store", store, "ffeeddccbbaa99887766554433221100")
	assert.Equal(t, exitRevoked, code)

	code, out, errs = runCardap(t, "revocation", "check", "--store", store, "--", "--json")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errs, `"--json"`)
}
