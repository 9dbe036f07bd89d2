//go:build windows

package revocation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/windows"
)

// The replace must overwrite and be on disk when it returns (os.Rename
// gives only the first).
func TestReplaceFlags(t *testing.T) {
	assert.NotZero(t, replaceFlags&windows.MOVEFILE_REPLACE_EXISTING)
	assert.NotZero(t, replaceFlags&windows.MOVEFILE_WRITE_THROUGH)
	assert.Zero(t, replaceFlags&windows.MOVEFILE_COPY_ALLOWED, "a copy across volumes is not atomic")
}
