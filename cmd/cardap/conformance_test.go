package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConformanceCommand: the built-in mock passes (exit 0), --strict
// makes the skipped requirements fail (exit 6), a card that breaks the
// profile exits 6 with the failing requirement named, --json prints one
// object per requirement and a summary.
func TestConformanceCommand(t *testing.T) {
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.json")
	require.NoError(t, keystest.WriteFile(kf, 1))
	typeA := func(opts ...mockcard.Option) *mockSource {
		card := mockcard.MustNew(append([]mockcard.Option{mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U1"},
			Keys: mockcard.APKeys{Masters: keystest.Store(1)}})}, opts...)...)
		return &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	}

	code, out, errOut := runCLI(t, typeA(), "conformance", "--type", "a", "--keys", kf, "--destructive")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "§3.1   MA-KEY-00")
	assert.Contains(t, out, "0 FAIL")
	assert.Contains(t, out, "test card")
	assert.NotContains(t, out, " FAIL  ")

	code, _, _ = runCLI(t, typeA(), "conformance", "--type", "a", "--keys", kf, "--strict")
	assert.Equal(t, exitConformance, code, "read-only: destructive requirements skipped, --strict fails them")

	// A card that answers 61xx where the response fits (profile 2.1 §1.4).
	code, out, _ = runCLI(t, typeA(mockcard.WithGetResponse(0)), "conformance", "--type", "a", "--json")
	assert.Equal(t, exitConformance, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Greater(t, len(lines), 2)
	var fails int
	for _, l := range lines[:len(lines)-1] {
		var obj map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &obj), l)
		for _, k := range []string{"id", "section", "command", "expected", "result"} {
			assert.Contains(t, obj, k, l)
		}
		if obj["result"] == "FAIL" {
			fails++
			assert.Contains(t, obj["reason"], "61xx", l)
		}
	}
	assert.Positive(t, fails)
	var sum conformanceSummary
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &sum))
	assert.Equal(t, fails, sum.Summary.Fail)
	assert.Equal(t, exitConformance, sum.Summary.Exit)
	assert.Equal(t, "sealed", sum.Summary.Lifecycle)

	// --destructive on a card without the test-card marker: refused
	// before anything but SELECT, unless confirmed.
	code, _, errOut = runCLI(t, typeA(mockcard.WithTestMarker(false)), "conformance", "--type", "a", "--destructive")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "test-card marker")
	code, _, _ = runCLI(t, typeA(mockcard.WithTestMarker(false)), "conformance", "--type", "a", "--destructive", "--confirm-not-test-card")
	assert.Equal(t, exitOK, code)

	// Usage errors.
	for _, args := range [][]string{
		{"conformance"},
		{"conformance", "--type", "b"},
		{"conformance", "--type", "a", "--confirm-not-test-card"},
		{"conformance", "--type", "a", "--only", "NO-SUCH-ID"},
		{"conformance", "--type", "a", "--suite", "DES"},
		{"conformance", "--type", "a", "--key-set", "0"},
	} {
		code, _, _ = runCLI(t, typeA(), args...)
		assert.Equal(t, exitUsage, code, "%q", args)
	}
	// No such AP on the card.
	code, _, errOut = runCLI(t, typeA(), "conformance", "--type", "d")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "no such AP")
}
