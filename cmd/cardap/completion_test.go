package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// complete runs `cardap __complete -- words...` and returns its lines.
func complete(t *testing.T, words ...string) []string {
	t.Helper()
	code, out, errOut := runCLI(t, nil, append([]string{completeCommand, "--"}, words...)...)
	require.Equal(t, exitOK, code, errOut)
	if out == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// TestCompletionScripts: `cardap completion bash|zsh` prints a script
// naming every command of the command table (and help) on stdout with
// exit 0; bash (and zsh, where installed) accept its syntax.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			code, script, errOut := runCLI(t, nil, "completion", shell)
			require.Equal(t, exitOK, code, errOut)
			assert.Empty(t, errOut)
			for _, cmd := range commands() {
				assert.Regexp(t, `\b`+regexp.QuoteMeta(cmd.name)+`\b`, script, "command %s missing", cmd.name)
			}
			assert.Contains(t, script, "help")
			assert.Contains(t, script, completeCommand, "flags are asked of cardap")
			sh, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("%s not installed: syntax not checked", shell)
			}
			f := filepath.Join(t.TempDir(), "cardap."+shell)
			require.NoError(t, os.WriteFile(f, []byte(script), 0o644))
			out, err := exec.Command(sh, "-n", f).CombinedOutput()
			require.NoError(t, err, "%s -n: %s", shell, out)
		})
	}
}

// TestBashCompletionCompletes: the bash script, sourced, completes the
// words a user types through `cardap __complete` (here the test's own
// completion function stands in for the binary).
func TestBashCompletionCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	_, script, _ := runCLI(t, nil, "completion", "bash")
	dir := t.TempDir()
	f := filepath.Join(dir, "cardap.bash")
	require.NoError(t, os.WriteFile(f, []byte(script), 0o644))
	// A stand-in cardap that answers __complete as the real one does for
	// these words.
	fake := filepath.Join(dir, "cardap")
	answers := strings.Join(complete(t, "revocation", "sync", "--pub"), "\n")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\n[ \"$1\" = "+completeCommand+" ] && printf '%s\\n' '"+answers+"'\n"), 0o755))
	for _, tc := range []struct {
		words string
		cword int
		want  string
	}{
		{fake + " rev", 1, "revocation"},
		{fake + " com", 1, "completion"},
		{fake + " revocation sync --pub", 3, "--pubkey --pubkey-file"},
	} {
		cmd := exec.Command(bash, "-c", `source "$1"; COMP_WORDS=($2); COMP_CWORD=$3; _cardap; echo "${COMPREPLY[*]}"`, "x", f, tc.words, string(rune('0'+tc.cword)))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Equal(t, tc.want, strings.TrimSpace(string(out)), tc.words)
	}
}

// TestCompleteWords: what each position completes to.
func TestCompleteWords(t *testing.T) {
	var names []string
	for _, cmd := range commands() {
		names = append(names, cmd.name)
	}
	// help completes to commands and topics, a word once (the command
	// keys and the topic keys are one word).
	helpWords := slices.Clone(names)
	for _, tp := range topicNames() {
		if !slices.Contains(helpWords, tp) {
			helpWords = append(helpWords, tp)
		}
	}
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{""}, append(slices.Clone(names), "help")},
		{[]string{"re"}, []string{"revocation", "readers", "rekey"}},
		{[]string{"-"}, []string{"--help", "--version"}},
		{[]string{"revocation", ""}, []string{"sync", "check", "stop", "unstop", "status", "publish"}},
		{[]string{"typed", "w"}, []string{"write"}},
		{[]string{"typed", "read", "--k"}, []string{"--keys"}},
		{[]string{"revocation", "check", "--store", "st", "--js"}, []string{"--json"}},
		{[]string{"revocation", "sync", "--store", ""}, nil}, // a value: file names
		{[]string{"revocation", "sync", "--json", ""}, nil},  // a positional: none
		{[]string{"help", ""}, helpWords},
		{[]string{"help", "ex"}, []string{"exit-codes"}},
		{[]string{"completion", ""}, []string{"bash", "zsh"}},
		{[]string{"nosuch", "--"}, nil},
		{[]string{"typed", "nosuch", "--"}, nil},
	} {
		assert.Equal(t, tc.want, complete(t, tc.words...), "%q", tc.words)
	}
}

// TestCompleteAsksEachCommandsFlags: for every command line of the
// command table, the flags completed are exactly those its own help lists
// (both come from the command's flag set), so a command added to the
// table completes without any change to completion.
func TestCompleteAsksEachCommandsFlags(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	for _, line := range everyCommandLine() {
		t.Run(strings.Join(line, " "), func(t *testing.T) {
			code, help, _ := runCLI(t, &mockSource{}, append(slices.Clone(line), "-h")...)
			require.Equal(t, exitOK, code)
			want := []string{}
			for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
				want = append(want, "--"+m[1])
			}
			want = append(want, "--help")
			got := complete(t, append(slices.Clone(line), "--")...)
			assert.ElementsMatch(t, want, got)
		})
	}
}
