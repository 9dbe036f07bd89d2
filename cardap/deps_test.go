package cardap_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoPCSCDependency proves that a program importing cardap does not
// link the PC/SC library: neither package reader nor its cgo binding
// (github.com/ebfe/scard) is among cardap's dependencies; cardap/pcsc is
// the package that brings them.
func TestNoPCSCDependency(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		require.NoError(t, err, "go list -deps %s", pkg)
		return strings.Fields(string(out))
	}
	const (
		reader = "github.com/mynacard/freespace/reader"
		scard  = "github.com/ebfe/scard"
	)
	got := deps("github.com/mynacard/freespace/cardap")
	require.Contains(t, got, "github.com/mynacard/freespace/apdu", "go list answered something else")
	assert.NotContains(t, got, reader)
	assert.NotContains(t, got, scard)
	assert.Contains(t, deps("github.com/mynacard/freespace/cardap/pcsc"), reader)
}
