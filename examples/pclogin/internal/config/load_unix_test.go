//go:build unix

package config

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/securefile"
)

// TestLoadRefusesUntrustedFiles: pclogin runs as root and trusts the
// mapping; a file or directory another user owns or may write lets that
// user map their card to root.
func TestLoadRefusesUntrustedFiles(t *testing.T) {
	const nobody = 65534
	chown := func(t *testing.T, p string) {
		t.Helper()
		if os.Geteuid() != 0 {
			t.Skip("needs root to give a file to another user")
		}
		require.NoError(t, os.Chown(p, nobody, nobody))
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, dir, p string)
		want  securefile.Problem // 0: accepted
	}{
		{"0644, ours", func(*testing.T, string, string) {}, 0},
		{"0664: group-writable is allowed", func(t *testing.T, _, p string) { require.NoError(t, os.Chmod(p, 0o664)) }, 0},
		{"0646: writable by others", func(t *testing.T, _, p string) { require.NoError(t, os.Chmod(p, 0o646)) }, securefile.WorldWritable},
		{"owned by an ordinary user", func(t *testing.T, _, p string) { chown(t, p) }, securefile.BadOwner},
		{"in a world-writable directory", func(t *testing.T, dir, _ string) { require.NoError(t, os.Chmod(dir, 0o777)) }, securefile.DirWorldWritable},
		{"in a directory of an ordinary user", func(t *testing.T, dir, _ string) { chown(t, dir) }, securefile.DirBadOwner},
		{"a symbolic link to a good file", func(t *testing.T, dir, p string) {
			good := filepath.Join(dir, "real.json")
			require.NoError(t, os.Rename(p, good))
			require.NoError(t, os.Symlink(good, p))
		}, securefile.Symlink},
		{"a FIFO", func(t *testing.T, _, p string) {
			require.NoError(t, os.Remove(p))
			require.NoError(t, syscall.Mkfifo(p, 0o600))
		}, securefile.NotRegular},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "etc")
			require.NoError(t, os.Mkdir(dir, 0o755))
			p := filepath.Join(dir, "pclogin.json")
			require.NoError(t, os.WriteFile(p, []byte(sample), 0o644))
			tc.setup(t, dir, p)
			_, err := Load(p)
			if tc.want == 0 {
				require.NoError(t, err)
				return
			}
			var se *securefile.Error
			require.ErrorAs(t, err, &se)
			assert.ErrorIs(t, err, ErrInsecure)
			assert.Equal(t, tc.want, se.Problem, "%v", err)
			assert.Equal(t, p, se.Path)
		})
	}
	_, err := Load(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
