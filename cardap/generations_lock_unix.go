//go:build unix

package cardap

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mynacard/freespace/securefile"
)

// lockGenerations takes an exclusive lock on path (created 0600 when
// missing), without waiting: a second process on the same directory is
// refused.
func lockGenerations(path string) (io.Closer, error) {
	f, err := securefile.OpenFile(path, securefile.Policy{}, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is held by another process: %w", path, err)
	}
	return f, nil
}
