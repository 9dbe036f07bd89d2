package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelpListsEveryFlag: the usage line that every subcommand's -h
// prints names each flag the subcommand accepts (the list under "flags:"
// comes from the flag set itself, so a flag missing from the usage line
// is one the synopsis forgot), and the short usage printed for a missing
// or unknown subcommand is the same as the full one.
func TestHelpListsEveryFlag(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	for _, args := range [][]string{
		{"readers"}, {"probe"}, {"typec", "read"}, {"typea", "read"},
		{"typed", "read"}, {"typed", "write"},
		{"password", "status"}, {"password", "change"}, {"password", "unblock"},
		{"personalize"}, {"mock", "serve"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, helpOut, errOut := runCLI(t, &mockSource{}, append(args, "-h")...)
			require.Equal(t, exitOK, code)
			assert.Empty(t, errOut, "help asked for goes to stdout")
			synopsis, list, ok := strings.Cut(helpOut, "\nflags:\n")
			require.True(t, ok, helpOut)
			require.True(t, strings.HasPrefix(synopsis, "usage: cardap "+strings.Join(args, " ")) ||
				strings.HasPrefix(synopsis, "usage: cardap "+args[0]+" "), synopsis)
			flags := flagLine.FindAllStringSubmatch(list, -1)
			require.NotEmpty(t, flags)
			for _, m := range flags {
				assert.Regexp(t, `--`+regexp.QuoteMeta(m[1])+`\b`, synopsis, "flag -%s is not in the usage line", m[1])
			}
			if len(args) == 2 {
				// `cardap typec` alone prints the usage of its subcommands.
				code, out, short := runCLI(t, &mockSource{}, args[0])
				assert.Equal(t, exitUsage, code)
				assert.Empty(t, out, "a usage error goes to stderr")
				for _, m := range flags {
					assert.Regexp(t, `--`+regexp.QuoteMeta(m[1])+`\b`, short, "flag -%s is not in the short usage of %q", m[1], args[0])
				}
			}
		})
	}
}

// TestHelpOnStdout: help asked for (`cardap --help`, `cardap help`,
// `cardap <cmd> --help`, `cardap <cmd> <sub> --help`) is printed on stdout
// with exit 0, for every command in the command list and every
// subcommand, so that `cardap --help | less` shows it; the same usage
// printed for a usage error goes to stderr with exit 2.
func TestHelpOnStdout(t *testing.T) {
	cases := [][]string{{"--help"}, {"-h"}, {"help"}}
	for _, cmd := range commands() {
		for _, h := range []string{"--help", "-h"} {
			cases = append(cases, []string{cmd.name, h})
			for _, sub := range cmd.subs {
				cases = append(cases, []string{cmd.name, sub, h})
			}
		}
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, &mockSource{}, args...)
			assert.Equal(t, exitOK, code)
			assert.Empty(t, errOut)
			assert.Contains(t, out, "usage: cardap")
		})
	}
	for _, args := range [][]string{{}, {"nosuch"}, {"typec"}, {"typec", "nosuch"}, {"revocation"}, {"readers", "--nosuch"}, {"revocation", "check", "--nosuch"}} {
		t.Run("usage error "+strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, &mockSource{}, args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "usage: cardap")
		})
	}
}
