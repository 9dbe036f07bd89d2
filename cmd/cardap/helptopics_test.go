package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelpTopics: every topic prints on stdout with exit 0 and nothing
// on stderr, and says what its page is for.
func TestHelpTopics(t *testing.T) {
	want := map[string][]string{
		"keys":            {"--keys FILE", "env:", "env:PREFIX", "pkcs11:", `"name"`, `"version"`, `"alg"`, `"key"`, "FREESPACE_KEY_", "0600"},
		"revocation-list": {"#freespace-revocation/1 list", "#end", "feed.json.sig", "delta-<seq>.csv", "key-compromise"},
		"exit-codes":      {"EXIT CODES"},
	}
	for _, topic := range topicNames() {
		t.Run(topic, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, "help", topic)
			assert.Equal(t, exitOK, code)
			assert.Empty(t, errOut)
			require.NotEmpty(t, want[topic], "a test for topic %s", topic)
			for _, s := range want[topic] {
				assert.Contains(t, out, s)
			}
		})
	}
	// The topics are listed in `cardap --help`.
	_, usageOut, _ := runCLI(t, nil, "--help")
	for _, topic := range topicNames() {
		assert.Contains(t, usageOut, "  "+topic+" ")
	}
}

// TestHelpExitCodesFromTheTable: the exit-code page is rendered from the
// one table (exitCodes) and names every stable error code
// (errorClasses) under its exit code.
func TestHelpExitCodesFromTheTable(t *testing.T) {
	_, out, _ := runCLI(t, nil, "help", "exit-codes")
	for _, e := range exitCodes() {
		assert.Contains(t, out, "  "+string(rune('0'+e.Code))+"  "+e.Meaning+"\n")
	}
	for _, ec := range errorClasses() {
		section := out[strings.Index(out, "  exit "+string(rune('0'+ec.exit))+":"):]
		if i := strings.Index(section[1:], "  exit "); i >= 0 {
			section = section[:i+1]
		}
		assert.Contains(t, section, " "+ec.code, "code %s under exit %d", ec.code, ec.exit)
	}
}

// TestHelpRevocationListMatchesProtocol: the list example of the
// revocation-list page is the one docs/PROTOCOL.md §9.1 gives, line for
// line, so the two cannot drift apart.
func TestHelpRevocationListMatchesProtocol(t *testing.T) {
	proto, err := os.ReadFile(filepath.Join("..", "..", "docs", "PROTOCOL.md"))
	require.NoError(t, err)
	_, out, _ := runCLI(t, nil, "help", "revocation-list")
	start := strings.Index(out, "  #freespace-revocation/1 list")
	end := strings.Index(out[start:], "#end 2\n")
	require.True(t, start >= 0 && end > 0)
	for _, l := range strings.Split(out[start:start+end+len("#end 2")], "\n") {
		assert.Contains(t, string(proto), "\n"+strings.TrimPrefix(l, "  ")+"\n", "line %q not in PROTOCOL.md", l)
	}
}

// TestHelpUnknownTopic: an unknown topic is a usage error (exit 2) with
// the topic list on stderr and nothing on stdout; under --json the one
// JSON error on stdout. `cardap help <command>` is that command's help.
func TestHelpUnknownTopic(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "help", "nosuch")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "exit-codes")
	code, out, _ = runCLI(t, nil, "help", "nosuch", "--json")
	assert.Equal(t, exitUsage, code)
	assertJSONError(t, out, "usage", exitUsage)
	code, out, errOut = runCLI(t, nil, "help", "typed")
	assert.Equal(t, exitOK, code)
	assert.Empty(t, errOut)
	assert.Contains(t, out, "usage: cardap typed")
}
