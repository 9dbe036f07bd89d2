//go:build !unix && !windows

package securefile

import (
	"io/fs"
	"os"
)

// Owner and ACL checks for these platforms are not implemented yet: only the
// file type is checked.

func checkOwnerMode(path string, fi fs.FileInfo, p Policy, isDir bool) error { return nil }

func checkDirOf(path, dir string, fi fs.FileInfo, p Policy) error { return nil }

func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &Error{Path: path, Problem: Symlink, Owner: -1, Mode: fi.Mode()}
	}
	return os.OpenFile(path, flag, perm)
}

func createExcl(path string, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
}

func isSymlinkErr(path string, err error) bool {
	fi, lerr := os.Lstat(path)
	return lerr == nil && fi.Mode()&fs.ModeSymlink != 0
}

func clearNonblock(f *os.File) error { return nil }

func remedy(e *Error) string { return "" }
