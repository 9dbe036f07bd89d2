//go:build unix

package sqlitedb

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/securefile"
)

// TestOpenCreatesPrivateFiles: the databases hold user IDs and CUIDs. In
// an existing 0755 directory with umask 022, SQLite alone creates them
// 0644 (readable by every local user); Open creates the database, its
// write-ahead log and its index 0600.
func TestOpenCreatesPrivateFiles(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "var")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	path := filepath.Join(dir, "car-12.db")
	ctx := context.Background()
	db, err := Open(ctx, path, []string{`CREATE TABLE IF NOT EXISTS t (user_id TEXT, cuid TEXT)`})
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO t VALUES ('U-0001', '00112233445566778899aabbccddeeff')`)
	require.NoError(t, err)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		require.NoError(t, err, p)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), p)
	}
	require.NoError(t, db.Close())

	// Reopened: still accepted.
	db, err = Open(ctx, path, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	// A database others may read is refused, with the facts.
	require.NoError(t, os.Chmod(path, 0o644))
	_, err = Open(ctx, path, nil)
	var se *securefile.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, securefile.SecretAccessible, se.Problem)
	assert.Equal(t, path, se.Path)
	// A symbolic link is not followed.
	require.NoError(t, os.Chmod(path, 0o600))
	link := filepath.Join(dir, "link.db")
	require.NoError(t, os.Symlink(path, link))
	_, err = Open(ctx, link, nil)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, securefile.Symlink, se.Problem)
}
