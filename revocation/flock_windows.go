//go:build windows

package revocation

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// tryLockFile takes an exclusive LockFileEx lock on the first byte of f
// without blocking (a lock may lie beyond the end of the empty file).
// LockFileEx locks belong to the handle, so two Stores in one process (each
// with its own handle) exclude each other like two processes, as flock(2)
// locks do on Unix. Windows releases the lock when the handle is closed or
// the process ends, also when it crashes.
func tryLockFile(f *os.File) (bool, error) {
	ol := new(windows.Overlapped)
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	}
	return false, err
}

// unlockFile releases the lock taken by tryLockFile.
func unlockFile(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
}

// fileIdentity is not in a Windows FileInfo (the file index needs an open
// handle); the signature then relies on name, size and modification time,
// which suffices because store files are only created by rename, never
// changed in place, and the journal only grows.
func fileIdentity(fs.FileInfo) uint64 { return 0 }
