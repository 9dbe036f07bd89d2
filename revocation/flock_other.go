//go:build !unix && !windows

package revocation

import (
	"io/fs"
	"os"
)

// tryLockFile does nothing on systems without flock(2): writers are then
// serialized within one process only, and one writing process per store
// directory is the operator's responsibility.
func tryLockFile(*os.File) (bool, error) { return true, nil }

// unlockFile does nothing where tryLockFile does nothing.
func unlockFile(*os.File) error { return nil }

// fileIdentity is unknown here; size and modification time remain.
func fileIdentity(fs.FileInfo) uint64 { return 0 }
