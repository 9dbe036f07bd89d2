//go:build !windows

package revocation

import "os"

// replaceFile renames from over to: rename(2) is atomic, and the caller
// makes it durable by syncing the directory.
func replaceFile(from, to string) error { return os.Rename(from, to) }

// openShared opens a store file for reading; on Unix an open file never
// keeps another process from removing or replacing it.
func openShared(name string) (*os.File, error) { return os.Open(name) }
