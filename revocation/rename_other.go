//go:build !windows

package revocation

import "os"

// replaceFile renames from over to: rename(2) is atomic, and the caller
// makes it durable by syncing the directory.
func replaceFile(from, to string) error { return os.Rename(from, to) }
