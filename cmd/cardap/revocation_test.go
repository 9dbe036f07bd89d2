package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/revocation"
)

func runCardap(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &cli{stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

// cliMaster returns a one-entry master list as of now: fresh for the
// freshness policy and not dated in the future (which a sync refuses).
func cliMaster() string {
	now := time.Now().UTC().Truncate(time.Second)
	return fmt.Sprintf("#freespace-revocation/1 list\n#seq 1\n#as-of %s\nkind,id,revoked_at,reason\ncuid,00112233445566778899aabbccddeeff,%s,lost\n#end 1\n",
		now.Format(time.RFC3339), now.Add(-time.Hour).Format(time.RFC3339))
}

func TestRevocationCLI(t *testing.T) {
	dir := t.TempDir()
	store, feed, key := filepath.Join(dir, "store"), filepath.Join(dir, "feed"), filepath.Join(dir, "feed.key")
	master := filepath.Join(dir, "master.csv")
	require.NoError(t, os.WriteFile(master, []byte(cliMaster()), 0o644))

	code, out, _ := runCardap(t, "revocation", "publish", "--new-key", key, "--json")
	require.Equal(t, exitOK, code)
	var kp map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &kp))
	pub := kp["public_key"]
	require.Len(t, pub, 64)
	seed, _ := os.ReadFile(key)
	assert.NotContains(t, out, strings.TrimSpace(string(seed)), "the private key is never printed")

	code, out, errs := runCardap(t, "revocation", "publish", "--master", master, "--out", feed, "--key", key, "--progress")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "published sequence 1")

	code, out, errs = runCardap(t, "revocation", "sync", "--store", store, "--from", feed, "--pubkey", pub)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "synced from sequence 0 to 1")

	code, out, _ = runCardap(t, "revocation", "check", "--store", store, "00112233445566778899aabbccddeeff")
	assert.Equal(t, exitRevoked, code)
	assert.Contains(t, out, "REVOKED (delivered, lost")

	// Upper-case hex, as readers and profile.ParseCUID print a CUID.
	code, out, _ = runCardap(t, "revocation", "check", "--store", store, "00112233445566778899AABBCCDDEEFF")
	assert.Equal(t, exitRevoked, code, out)

	code, out, _ = runCardap(t, "revocation", "check", "--store", store, "--json", "cuid:ffeeddccbbaa99887766554433221100")
	assert.Equal(t, exitOK, code)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	assert.Equal(t, true, res["allowed"])

	code, _, errs = runCardap(t, "revocation", "stop", "--store", store, "--reason", "stolen", "ffeeddccbbaa99887766554433221100")
	assert.Equal(t, exitUsage, code, "an operator name is required: a usage error, as a bad --reason is")
	assert.Contains(t, errs, "required")
	code, _, errs = runCardap(t, "revocation", "stop", "--store", store, "--by", "desk-1", "--why", "phoned", "--reason", "stolen", "ffeeddccbbaa99887766554433221100")
	require.Equal(t, exitOK, code, errs)
	code, out, _ = runCardap(t, "revocation", "check", "--store", store, "ffeeddccbbaa99887766554433221100")
	assert.Equal(t, exitRevoked, code)
	assert.Contains(t, out, "local-stop")

	code, _, errs = runCardap(t, "revocation", "unstop", "--store", store, "--by", "desk-1", "00112233445566778899aabbccddeeff")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "cannot be undone locally")
	code, _, errs = runCardap(t, "revocation", "unstop", "--store", store, "--by", "sup-2", "--why", "found", "ffeeddccbbaa99887766554433221100")
	require.Equal(t, exitOK, code, errs)

	code, out, _ = runCardap(t, "revocation", "status", "--store", store, "--audit", "--json")
	assert.Equal(t, exitOK, code)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	assert.Equal(t, float64(1), st["seq"])
	assert.Len(t, st["audit"], 2)

	// A malformed import is refused with its line and nothing applied.
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(cliMaster(), "#seq 1", "#seq 2", 1)[:120]), 0o644))
	code, _, errs = runCardap(t, "revocation", "sync", "--store", store, "--import", bad)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "line")
	assert.Contains(t, errs, "nothing applied")

	// A store never synced fails closed.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "empty"), 0o755))
	code, out, _ = runCardap(t, "revocation", "check", "--store", filepath.Join(dir, "empty"), "00112233445566778899aabbccddeeff")
	assert.Equal(t, exitRevoked, code)
	assert.Contains(t, out, "UNDECIDED")
	ents, err := os.ReadDir(filepath.Join(dir, "empty"))
	require.NoError(t, err)
	assert.Empty(t, ents, "check opens the store read-only: creates nothing")

	code, _, _ = runCardap(t, "revocation", "check", "--store", store, "not-an-id")
	assert.Equal(t, exitUsage, code)
	code, _, _ = runCardap(t, "revocation", "frobnicate")
	assert.Equal(t, exitUsage, code)
	code, _, _ = runCardap(t, "revocation", "sync", "--store", store)
	assert.Equal(t, exitUsage, code)
}

// TestCheckOutcome: the exit code of `revocation check` for each answer
// of the store, and for several identifiers the worst one. A revoked
// identifier whose details could not be read (Check returns Revoked and
// an error) is still exit 4, never a plain failure.
func TestCheckOutcome(t *testing.T) {
	ioErr := errors.New("revocation: read metadata: input/output error")
	stale := fmt.Errorf("%w: list sequence 3 is 72h0m0s old", revocation.ErrStale)
	tests := []struct {
		name string
		r    revocation.Result
		err  error
		code int
		msg  string
	}{
		{"not revoked", revocation.Result{Allowed: true}, nil, exitOK, ""},
		{"revoked", revocation.Result{Revoked: true}, nil, exitRevoked, ""},
		{"revoked, details unreadable", revocation.Result{Revoked: true}, ioErr, exitRevoked, "input/output"},
		{"list too old", revocation.Result{Stale: true}, stale, exitRevoked, "old"},
		{"other error", revocation.Result{}, ioErr, exitFailure, "input/output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, code := checkOutcome(tt.r, tt.err)
			assert.Equal(t, tt.code, code)
			if tt.msg == "" {
				assert.Empty(t, msg)
			} else {
				assert.Contains(t, msg, tt.msg)
			}
		})
	}
	assert.Equal(t, exitRevoked, worseCode(worseCode(exitOK, exitRevoked), exitFailure))
	assert.Equal(t, exitRevoked, worseCode(worseCode(exitOK, exitFailure), exitRevoked))
	assert.Equal(t, exitFailure, worseCode(exitOK, exitFailure))
	assert.Equal(t, exitOK, worseCode(exitOK, exitOK))
}

// The store's warnings reach the operator's terminal: a nil Logger
// discards (issue 14 §5), so the command gives the store one on stderr.
func TestRevocationCLIWarnsOnStderr(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	s, err := revocation.Open(store, revocation.Options{})
	require.NoError(t, err)
	old := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
	require.NoError(t, s.Apply(context.Background(), &revocation.Update{Full: true, Seq: 1, AsOf: old}))
	require.NoError(t, s.Close())

	code, out, errs := runCardap(t, "revocation", "check", "--store", store, "--allow-stale", "ffeeddccbbaa99887766554433221100")
	assert.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "STALE, allowed by --allow-stale")
	assert.Contains(t, errs, "list older than policy allows", "the store's warning is printed")
}
