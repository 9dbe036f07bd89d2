package main

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersionCommand: `cardap --version` and `cardap version` print the
// same text on stdout with exit 0 (the Go version, cgo on or off and the
// reader binding of this build), and --json prints one line holding one
// object with snake_case keys.
func TestVersionCommand(t *testing.T) {
	code, text, errOut := runCLI(t, nil, "--version")
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, errOut)
	code, text2, _ := runCLI(t, nil, "version")
	require.Equal(t, exitOK, code)
	assert.Equal(t, text, text2)
	assert.True(t, strings.HasPrefix(text, "cardap "), text)
	assert.Contains(t, text, "readers: "+readerBinding+"\n")
	assert.Regexp(t, `, cgo (on|off)\n`, text)

	for _, args := range [][]string{{"version", "--json"}, {"--version", "--json"}} {
		code, out, errOut := runCLI(t, nil, args...)
		require.Equal(t, exitOK, code, errOut)
		require.Equal(t, 1, strings.Count(out, "\n"), "one line: %q", out)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &m))
		for _, k := range []string{"module", "version", "go_version", "cgo", "platform", "reader_binding"} {
			assert.Contains(t, m, k)
		}
		for k := range m {
			assert.Regexp(t, `^[a-z][a-z0-9_]*$`, k)
		}
		assert.Equal(t, readerBinding, m["reader_binding"])
	}
}

// TestBuildVersion: the fields come from the build information: module
// version, VCS revision and modified flag, Go version and CGO_ENABLED.
func TestBuildVersion(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/mynacard/freespace", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"},
			{Key: "vcs.modified", Value: "true"},
			{Key: "CGO_ENABLED", Value: "0"},
		},
	}
	v := buildVersion(bi)
	assert.Equal(t, "v1.2.3", v.Version)
	assert.Equal(t, "0123abcd", v.Revision)
	require.NotNil(t, v.Modified)
	assert.True(t, *v.Modified)
	assert.False(t, v.Cgo)
	assert.Equal(t, "go1.26.0", v.GoVersion)
	assert.Equal(t, "cardap v1.2.3 (commit 0123abcd, modified)\ngo1.26.0, "+runtime.GOOS+"/"+runtime.GOARCH+", cgo off\nreaders: "+readerBinding, v.String())

	bi.Settings = []debug.BuildSetting{{Key: "CGO_ENABLED", Value: "1"}}
	v = buildVersion(bi)
	assert.True(t, v.Cgo)
	assert.Empty(t, v.Revision)
	assert.Nil(t, v.Modified)
	assert.NotContains(t, v.String(), "commit")

	v = buildVersion(nil)
	assert.Equal(t, "unknown", v.Version)
	assert.Equal(t, runtime.Version(), v.GoVersion)
}
