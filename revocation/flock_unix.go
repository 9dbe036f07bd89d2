//go:build unix

package revocation

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// tryLockFile takes an exclusive flock(2) on f without blocking. flock
// locks belong to the open file description, so two Stores in one process
// (each with its own descriptor) exclude each other like two processes.
func tryLockFile(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}

// unlockFile releases the lock taken by tryLockFile.
func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// fileIdentity tells files apart across renames: the inode number.
func fileIdentity(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
