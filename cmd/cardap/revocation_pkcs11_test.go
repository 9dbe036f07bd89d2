package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pkcs11test"
)

// TestRevocationPublishWithTokenKey: the feed signing key is generated in
// the token (--new-key pkcs11:...), the feed is published with it (--key
// pkcs11:...) and a terminal syncs it with the printed public key; no
// PIN reaches the output; a wrong PIN fails.
func TestRevocationPublishWithTokenKey(t *testing.T) {
	tok := pkcs11test.Get(t)
	dir := t.TempDir()
	store, feed := filepath.Join(dir, "store"), filepath.Join(dir, "feed")
	master := filepath.Join(dir, "master.csv")
	require.NoError(t, os.WriteFile(master, []byte(cliMaster()), 0o644))
	uri := tok.URI("feed-" + filepath.Base(dir))

	code, out, errs := runCardap(t, "revocation", "publish", "--new-key", uri, "--json")
	require.Equal(t, exitOK, code, errs)
	var kp map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &kp))
	pub := kp["public_key"]
	require.Len(t, pub, 64)

	code, out, errs = runCardap(t, "revocation", "publish", "--master", master, "--out", feed, "--key", uri)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "published sequence 1")
	code, out, errs = runCardap(t, "revocation", "sync", "--store", store, "--from", feed, "--pubkey", pub)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "synced from sequence 0 to 1")

	code, _, errs = runCardap(t, "revocation", "publish", "--master", master, "--out", feed, "--key", strings.Replace(uri, "feed-", "nofeed-", 1))
	assert.NotEqual(t, exitOK, code)
	assert.Contains(t, errs, "object not found")
	for _, s := range []string{out, errs} {
		assert.NotContains(t, s, tok.PIN)
	}
}
