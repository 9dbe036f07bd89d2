//go:build unix || windows

package revocation

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The writer-lock contract both implementations (flock(2) on Unix,
// LockFileEx on Windows) keep: the lock belongs to the open file, so a
// second handle on the same file (another Store, another process) is
// refused without blocking until the first unlocks or closes it.
func TestWriterLockContract(t *testing.T) {
	path := filepath.Join(t.TempDir(), lockName)
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open(), open()

	ok, err := tryLockFile(a)
	require.NoError(t, err)
	require.True(t, ok, "a free lock is taken")
	ok, err = tryLockFile(b)
	require.NoError(t, err, "a held lock is no error")
	assert.False(t, ok, "a second handle is refused while the first holds the lock")

	require.NoError(t, unlockFile(a))
	ok, err = tryLockFile(b)
	require.NoError(t, err)
	require.True(t, ok, "unlock releases the lock")
	ok, err = tryLockFile(a)
	require.NoError(t, err)
	assert.False(t, ok, "the first handle is now refused")

	require.NoError(t, b.Close())
	ok, err = tryLockFile(a)
	require.NoError(t, err)
	assert.True(t, ok, "closing the holder releases the lock (as a crash does)")
	require.NoError(t, unlockFile(a))
}

// The replace step of writeAtomic: the new file takes the name in one
// step, replacing an existing file, and a failed replace leaves the name as
// it was.
func TestReplaceFileContract(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "list-7.rvb")
	write := func(p, s string) { require.NoError(t, os.WriteFile(p, []byte(s), 0o644)) }
	read := func(p string) string {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return string(b)
	}

	write(dst, "old")
	tmp := filepath.Join(dir, ".list-7.rvb.tmp-1")
	write(tmp, "new")
	require.NoError(t, replaceFile(tmp, dst), "replacing an existing file")
	assert.Equal(t, "new", read(dst))
	_, err := os.Stat(tmp)
	assert.ErrorIs(t, err, os.ErrNotExist, "the temporary name is gone")

	err = replaceFile(filepath.Join(dir, ".missing.tmp-2"), dst)
	require.Error(t, err)
	assert.Equal(t, "new", read(dst), "a failed replace leaves the name untouched")
}
