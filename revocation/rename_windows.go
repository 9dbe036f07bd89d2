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
