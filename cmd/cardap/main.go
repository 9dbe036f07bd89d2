// Command cardap is the freespace command-line tool: it lists readers, probes
// cards for known card APs, reads and writes the standard Type A, C and D
// APs, serves the built-in mock card to a real PC/SC stack through vpcd, and
// manages revocation lists.
//
// Usage:
//
//	cardap [global flags] <command> [subcommand] [flags]
//
// Help asked for (--help, -h, help) is printed on stdout with exit 0; the
// same usage printed for a usage error goes to stderr with exit 2.
// `cardap version` (or --version) prints the build information. Flags may
// follow positional arguments; "--" ends the flags.
//
// Exit codes:
//
//	0  success
//	1  the operation failed (card error, authentication failure, ...)
//	2  usage error (unknown command, bad flag)
//	3  no card or no reader
//	4  the card or identifier is revoked, or the list is too old to decide
//
// With --json the card commands (readers, probe, typec, typea, typed,
// password, personalize) print one line of JSON on stdout: the result, or
// {"error": "...", "exit": N} for any error found after the flags were
// parsed (a flag the flag parser refuses is reported on stderr). The
// revocation subcommands print their results as indented JSON.
//
// personalize, password unblock and typed write append a durable audit
// record (JSON lines, fsynced before success is reported) to --audit FILE
// for --operator ID (defaults $CARDAP_AUDIT, $CARDAP_OPERATOR); without
// them they stop with a usage error unless --no-audit is given.
// Passwords read from an environment variable (--password-env, ...) are
// removed from the environment once read: child processes do not inherit
// them, though the kernel's copy of the initial environment stays.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, documented in the package comment and the README.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitNoCard  = 3
	exitRevoked = 4
)

// cli is what every subcommand gets: its output streams.
type cli struct {
	stdout io.Writer
	stderr io.Writer
}

// command is one top-level subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c *cli, args []string) int
}

// commands lists the top-level subcommands; each lives in its own file.
func commands() []command {
	return []command{
		// Each file adds its entry here, one line each.
		{name: "revocation", summary: "sync, check and manage the revocation list", run: runRevocation},
		{"readers", "list readers, card presence and ATR", cmdReaders},
		{"probe", "report which known card APs the card carries", cmdProbe},
		{"typec", "Type C AP: read (CUID and identity)", cmdTypeC},
		{"mock", "mock card: serve (attach the built-in mock card to vpcd)", cmdMock},
		{"personalize", "personalize a fresh Type A, C or D AP and seal it", cmdPersonalize},
		{"typea", "Type A AP: read (mutual authentication, records)", cmdTypeA},
		{"typed", "Type D AP: read, write (encrypted binary data)", cmdTypeD},
		{"password", "AP password: status, change, unblock", cmdPassword},
		{"version", "print the version, commit, Go version and reader binding (also --version)", cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &cli{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, c *cli, args []string) int {
	if len(args) == 0 || isHelp(args[0]) {
		w, code := c.helpOrUsage(args)
		usage(w)
		return code
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	for _, cmd := range commands() {
		if cmd.name == args[0] {
			out := &outputWriter{w: c.stdout}
			code := cmd.run(ctx, &cli{stdout: out, stderr: c.stderr}, args[1:])
			if out.err != nil && code == exitOK {
				// A command that failed has reported its error already.
				fmt.Fprintf(c.stderr, "cardap: writing the output: %v\n", out.err)
				code = exitFailure
			}
			return code
		}
	}
	fmt.Fprintf(c.stderr, "cardap: unknown command %q\n\n", args[0])
	usage(c.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cardap <command> [flags]\n       cardap --help | --version\n\ncommands:")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintln(w, "\nexit codes: 0 ok, 1 failure, 2 usage, 3 no card or reader, 4 revoked or list too old")
}

// outputWriter is a command's stdout: it remembers the first write error
// (a closed pipe, a full disk) and fails every write after it, so that run
// reports it and the command does not exit 0 with its output lost.
type outputWriter struct {
	w   io.Writer
	err error
}

// Write writes p unless an earlier write failed.
func (o *outputWriter) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	o.err = err
	return n, err
}

// closeAfter closes what a command opened, once the command is done (use
// it deferred, with the command's named result). A failure to close (a
// reader that does not release the card, a store that cannot release its
// lock) is reported on stderr and turns success into exitFailure.
func (c *cli) closeAfter(code *int, what string, cl io.Closer) {
	if err := cl.Close(); err != nil {
		fmt.Fprintf(c.stderr, "cardap: closing the %s: %v\n", what, err)
		if *code == exitOK {
			*code = exitFailure
		}
	}
}
