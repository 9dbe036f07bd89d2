package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTypedReadOutIsASecret: `typed read --out FILE` writes decrypted
// card data. It creates a new file of mode 0600, exclusively, without
// following a symlink: a file planted beforehand (world-readable, or a
// symlink to a file root would overwrite) is refused and left untouched,
// and so is the symlink's target.
func TestTypedReadOutIsASecret(t *testing.T) {
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	t.Setenv("FS_PW", "Kx7#pass")
	dir := t.TempDir()
	data := filepath.Join(dir, "data.bin")
	require.NoError(t, os.WriteFile(data, []byte("evacuee record"), 0o600))
	code, _, errOut := runCLI(t, src, "personalize", "--type", "d", "--keys", kf, "--user-id", "U-OUT", "--data-file", data, "--password-env", "FS_PW", "--no-audit")
	require.Equal(t, exitOK, code, errOut)
	read := func(out string) (int, string) {
		code, _, errOut := runCLI(t, src, "typed", "read", "--keys", kf, "--password-env", "FS_PW", "--out", out)
		return code, errOut
	}

	fresh := filepath.Join(dir, "fresh.bin")
	code, errOut = read(fresh)
	require.Equal(t, exitOK, code, errOut)
	got, err := os.ReadFile(fresh)
	require.NoError(t, err)
	assert.Equal(t, "evacuee record", string(got))
	fi, err := os.Stat(fresh)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	planted := filepath.Join(dir, "planted.bin")
	require.NoError(t, os.WriteFile(planted, []byte("planted"), 0o600))
	require.NoError(t, os.Chmod(planted, 0o666))
	target := filepath.Join(dir, "target")
	require.NoError(t, os.WriteFile(target, []byte("not yours"), 0o600))
	link := filepath.Join(dir, "link.bin")
	require.NoError(t, os.Symlink(target, link))
	dangling := filepath.Join(dir, "dangling.bin")
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere"), dangling))
	for _, bad := range []string{planted, link, dangling, fresh} {
		code, errOut := read(bad)
		assert.Equal(t, exitFailure, code, "%s: %s", bad, errOut)
		assert.Contains(t, errOut, "--out")
	}
	got, err = os.ReadFile(planted)
	require.NoError(t, err)
	assert.Equal(t, "planted", string(got), "an existing file is not overwritten")
	got, err = os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "not yours", string(got), "a symlink's target is not written")
	_, err = os.Lstat(filepath.Join(dir, "nowhere"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a dangling symlink creates no file")
}
