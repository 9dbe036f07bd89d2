package conformance_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/mynacard/freespace/conformance"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite docs/PROTOCOL.md Appendix A from the table")

const (
	beginMarker = "<!-- BEGIN card-behaviour-table -->\n"
	endMarker   = "<!-- END card-behaviour-table -->"
)

// TestAppendixA: docs/PROTOCOL.md Appendix A shows exactly the table the
// mock card's tests and the runner use (go test ./conformance -update
// rewrites it).
func TestAppendixA(t *testing.T) {
	const path = "../docs/PROTOCOL.md"
	doc, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(doc)
	i := strings.Index(s, beginMarker)
	j := strings.Index(s, endMarker)
	require.True(t, i >= 0 && j > i, "Appendix A markers missing in %s", path)
	want := conformance.Markdown()
	got := s[i+len(beginMarker) : j]
	if *update && got != want {
		require.NoError(t, os.WriteFile(path, []byte(s[:i+len(beginMarker)]+want+s[j:]), 0o644))
		return
	}
	assert.Equal(t, want, got, "docs/PROTOCOL.md Appendix A differs from conformance.Table(); run go test ./conformance -update")
}

// TestTableWellFormed: unique IDs, known sections and AP letters,
// commands and patterns that parse.
func TestTableWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range conformance.Table() {
		assert.False(t, seen[r.ID], "ID %s twice", r.ID)
		seen[r.ID] = true
		assert.NotEmpty(t, r.Section, r.ID)
		assert.NotEmpty(t, r.APs, r.ID)
		assert.Empty(t, strings.Trim(r.APs, "ACD"), "%s: APs %q", r.ID, r.APs)
		for _, s := range []*conformance.Step{&r.Step, r.Then} {
			if s == nil {
				continue
			}
			assert.NoError(t, conformance.CheckStep(*s), r.ID)
		}
	}
}
