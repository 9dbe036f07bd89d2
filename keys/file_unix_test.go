//go:build unix

package keys

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/securefile"
)

// TestLoadFileRefusesUntrustedFiles is issue 10 §5 for key files: a key
// file that another local user could have written or replaced is refused
// with ErrInsecureFile and the *securefile.Error with the facts, checked
// on the opened file: owned by another user, a symbolic link (not
// followed), a FIFO (no hang), or in a directory others may write.
func TestLoadFileRefusesUntrustedFiles(t *testing.T) {
	body := `{"keys":[{"name":"a","version":1,"alg":"aes","key":"` + fileSecret + `"}]}`
	tests := []struct {
		name    string
		setup   func(t *testing.T) string
		problem securefile.Problem
		root    bool // needs root (chown)
	}{
		{"owned by another user", func(t *testing.T) string {
			p := writeKeyFile(t, body, 0o600)
			require.NoError(t, os.Chown(p, 65534, 65534))
			return p
		}, securefile.BadOwner, true},
		{"symbolic link to a good key file", func(t *testing.T) string {
			target := writeKeyFile(t, body, 0o600)
			p := filepath.Join(t.TempDir(), "keys.json")
			require.NoError(t, os.Symlink(target, p))
			return p
		}, securefile.Symlink, false},
		{"FIFO", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "keys.json")
			require.NoError(t, syscall.Mkfifo(p, 0o600))
			return p
		}, securefile.NotRegular, false},
		{"directory writable by others", func(t *testing.T) string {
			p := writeKeyFile(t, body, 0o600)
			require.NoError(t, os.Chmod(filepath.Dir(p), 0o777))
			return p
		}, securefile.DirWorldWritable, false},
		{"directory owned by another user", func(t *testing.T) string {
			p := writeKeyFile(t, body, 0o600)
			require.NoError(t, os.Chown(filepath.Dir(p), 65534, 65534))
			return p
		}, securefile.DirBadOwner, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Geteuid() != 0 {
				t.Skip("needs root to chown")
			}
			p := tt.setup(t)
			done := make(chan error, 1)
			go func() { _, err := LoadFile(p); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("LoadFile hangs")
			}
			require.ErrorIs(t, err, ErrInsecureFile)
			require.ErrorIs(t, err, securefile.ErrInsecure)
			var se *securefile.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.problem, se.Problem, "%v", err)
			assert.NotContains(t, strings.ToUpper(err.Error()), fileSecret[:8])
		})
	}
}
