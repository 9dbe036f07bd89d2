//go:build !unix

package cardap

import (
	"io"
	"os"

	"github.com/mynacard/freespace/securefile"
)

// lockGenerations opens the lock file; locking is not available here.
func lockGenerations(path string) (io.Closer, error) {
	return securefile.OpenFile(path, securefile.Policy{}, os.O_RDWR|os.O_CREATE, 0o600)
}
