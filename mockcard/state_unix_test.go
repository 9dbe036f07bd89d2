//go:build unix

package mockcard

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A FIFO in place of the state file is refused, not opened: opening it for
// reading would block until a writer comes.
func TestLoadRefusesFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	_, err := Load(path)
	assert.ErrorIs(t, err, ErrStateFile)
}
