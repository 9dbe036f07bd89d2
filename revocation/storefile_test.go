package revocation

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Store files take the read and write bits of their directory, not
// os.CreateTemp's 0600 nor a fixed world-readable mode.
func TestFileModeIn(t *testing.T) {
	for dir, want := range map[os.FileMode]os.FileMode{0o755: 0o644, 0o750: 0o640, 0o700: 0o600, 0o711: 0o600, 0o775: 0o664} {
		assert.Equal(t, want, fileModeIn(dir|os.ModeDir), "directory %v", dir)
	}
}
