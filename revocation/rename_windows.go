//go:build windows

package revocation

import (
	"os"

	"golang.org/x/sys/windows"
)

// replaceFlags makes MoveFileEx replace the destination (atomically, on
// one volume) and return only once the move is on disk: without
// MOVEFILE_WRITE_THROUGH (os.Rename's behaviour) the rename may still be
// in the cache when the write is reported done.
const replaceFlags = windows.MOVEFILE_REPLACE_EXISTING | windows.MOVEFILE_WRITE_THROUGH

// replaceFile renames from over to, atomically and durably.
func replaceFile(from, to string) error {
	f, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	t, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	if err := windows.MoveFileEx(f, t, replaceFlags); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// openShared opens a store file for reading so that other processes may
// still delete or replace it (FILE_SHARE_DELETE, which os.Open does not
// give): a checker keeping an old list open must not keep a writer's
// clean-up from removing it, as on Unix.
func openShared(name string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(h), name), nil
}
