package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigMaster writes a master list of n entries (sequence seq) and returns
// its path.
func bigMaster(t *testing.T, dir string, seq, n int) string {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	var b strings.Builder
	fmt.Fprintf(&b, "#freespace-revocation/1 list\n#seq %d\n#as-of %s\nkind,id,revoked_at,reason\n", seq, now.Add(time.Duration(seq)*time.Second).Format(time.RFC3339))
	for i := range n {
		fmt.Fprintf(&b, "cuid,%032x,%s,lost\n", uint64(i*7919+seq), now.Add(-time.Hour).Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "#end %d\n", n)
	path := filepath.Join(dir, fmt.Sprintf("master-%d.csv", seq))
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// TestRevocationProgressPhases: with --progress (stderr not a terminal)
// publish shows reading the master, building and signing each file, and
// sync from a directory shows downloading (verifying) and applying it:
// one line per phase and file, the file name whole. Without --progress
// and without a terminal nothing is shown.
func TestRevocationProgressPhases(t *testing.T) {
	dir := t.TempDir()
	store, feedDir, key := filepath.Join(dir, "store"), filepath.Join(dir, "feed"), filepath.Join(dir, "feed.key")
	code, _, errs := runCardap(t, "revocation", "publish", "--new-key", key, "--json")
	require.Equal(t, exitOK, code, errs)
	pub := pubOf(t, key)

	m1 := bigMaster(t, dir, 1, 5000)
	code, _, errs = runCardap(t, "revocation", "publish", "--master", m1, "--out", feedDir, "--key", key)
	require.Equal(t, exitOK, code, errs)
	assert.Empty(t, errs, "no progress when stderr is not a terminal and --progress is not given")

	m2 := bigMaster(t, dir, 2, 6000)
	code, _, errs = runCardap(t, "revocation", "publish", "--master", m2, "--out", feedDir, "--key", key, "--progress")
	require.Equal(t, exitOK, code, errs)
	list, delta := "list-00000000000000000002.csv", "delta-00000000000000000002.csv"
	for _, want := range []string{"read     master-2.csv", "verify   list-00000000000000000001.csv", "build    " + list, "build    " + delta, "sign     " + list, "sign     " + delta} {
		assert.Contains(t, errs, want)
	}
	assert.Contains(t, errs, "100%")

	code, out, errs := runCardap(t, "revocation", "sync", "--store", store, "--from", feedDir, "--pubkey", pub, "--progress")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "synced from sequence 0 to 2")
	for _, want := range []string{"download " + list, "apply    list-00000000000000000002.rvb"} {
		assert.Contains(t, errs, want)
	}
	for _, l := range strings.Split(strings.TrimSuffix(errs, "\n"), "\n") {
		assert.True(t, strings.HasPrefix(l, "\r"), "each phase's line is redrawn in place: %q", l)
	}

	// Over HTTP the same phases, the names whole.
	srv := httptest.NewServer(http.FileServer(http.Dir(feedDir)))
	defer srv.Close()
	code, _, errs = runCardap(t, "revocation", "sync", "--store", filepath.Join(dir, "store-http"), "--from", srv.URL, "--pubkey", pub, "--progress")
	require.Equal(t, exitOK, code, errs)
	for _, want := range []string{"download " + list, "apply    list-00000000000000000002.rvb"} {
		assert.Contains(t, errs, want)
	}

	// --import of a file shows reading and applying it.
	store2 := filepath.Join(dir, "store2")
	code, _, errs = runCardap(t, "revocation", "sync", "--store", store2, "--import", m2, "--progress")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, errs, "read     master-2.csv")
	assert.Contains(t, errs, "apply    list-00000000000000000002.rvb")

	code, _, errs = runCardap(t, "revocation", "sync", "--store", filepath.Join(dir, "store3"), "--from", feedDir, "--pubkey", pub)
	require.Equal(t, exitOK, code, errs)
	assert.Empty(t, errs)
}
