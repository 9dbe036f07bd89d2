//go:build !unix

package revocation

import "os"

// mapMeta does nothing on systems without mmap: metadata is read with
// ReadAt on a hit.
func mapMeta(*base, *os.File) {}
