// Command cardap is the freespace command-line tool: it lists readers, probes
// cards for known card APs, reads and writes the standard Type A, C and D
// APs, serves the built-in mock card to a real PC/SC stack through vpcd,
// manages revocation lists, and runs key ceremonies (keys) on a key file or
// a PKCS#11 token.
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
// Exit codes (the one table: errors.go; README and `cardap help
// exit-codes` show it):
//
//	0  success
//	1  the operation failed (card error, authentication failure, bad data, untrusted file, ...)
//	2  usage error (unknown command or flag, bad flag value, missing required flag)
//	3  no card, no reader, no PC/SC service or no token (or no reader binding in this build)
//	4  the card or identifier is revoked, or the revocation list is too old (or absent) to decide
//	5  password or PIN needed, refused, blocked, or at its last try (not spent)
//	6  conformance: at least one requirement failed
//
// With --json every command prints one JSON object per line on stdout
// (snake_case keys): its result, or for any error, usage errors included,
// {"error": "...", "code": "<stable code>", "exit": N} with "remedy" when
// one is known and "tries_left" for a refused password. Operator keys come
// from --keys SPEC: a key file, env:, env:PREFIX or pkcs11:<RFC 7512 URI>
// (master keys in a token that diversifies them; keys/pkcs11).
// --suite names the cipher suite the AP's keys were loaded with
// (aes128, the default, aes192, aes256 or 3des).
//
// personalize, rekey, password unblock, typed write and every keys subcommand append a durable audit
// record (JSON lines, fsynced before success is reported) to --audit FILE
// for --operator ID (defaults $CARDAP_AUDIT, $CARDAP_OPERATOR); without
// them they stop with a usage error unless --no-audit is given.
// Passwords read from an environment variable (--password-env, ...) are
// removed from the environment once read: child processes do not inherit
// them, though the kernel's copy of the initial environment stays.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// cli is what every subcommand gets: its output streams.
type cli struct {
	stdout io.Writer
	stderr io.Writer
	// flagProbe, when set, receives the command's flag set in place of a
	// parse (parseInterspersed), which then stops the command as help
	// would: shell completion asks each command for its flags this way.
	flagProbe func(*flag.FlagSet)
}

// command is one top-level subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c *cli, args []string) int
	// subs lists its subcommands (none: the command takes flags only).
	// Tests and shell completion walk every command line through it.
	subs []string
}

// commands lists the top-level subcommands; each lives in its own file.
func commands() []command {
	return []command{
		// Each file adds its entry here, one line each.
		{name: "revocation", summary: "sync, check and manage the revocation list", run: runRevocation,
			subs: []string{"sync", "check", "stop", "unstop", "status", "publish"}},
		{name: "readers", summary: "list readers, card presence and ATR", run: cmdReaders},
		{name: "probe", summary: "report which known card APs the card carries", run: cmdProbe},
		{name: "typec", summary: "Type C AP: read (CUID and identity)", run: cmdTypeC, subs: []string{"read"}},
		{name: "mock", summary: "mock card: serve (attach the built-in mock card to vpcd)", run: cmdMock, subs: []string{"serve"}},
		{name: "personalize", summary: "personalize a fresh Type A, C or D AP and seal it", run: cmdPersonalize},
		{name: "rekey", summary: "load a new card-key set into a Type A or D AP in place", run: cmdRekey},
		{name: "typea", summary: "Type A AP: read (mutual authentication, records)", run: cmdTypeA, subs: []string{"read"}},
		{name: "typed", summary: "Type D AP: read, write (encrypted binary data)", run: cmdTypeD, subs: []string{"read", "write"}},
		{name: "password", summary: "AP password: status, change, unblock", run: cmdPassword, subs: []string{"status", "change", "unblock"}},
		{name: "conformance", summary: "check a card against the profile's card-behaviour table (exit 6 when a requirement fails)", run: cmdConformance},
		{name: "keys", summary: "key ceremonies: generate, import, list, rotate, export-public (key file or PKCS#11 token)", run: cmdKeys,
			subs: []string{"generate", "import", "list", "rotate", "export-public"}},
		{name: "jpki", summary: "JPKI AP of every My Number Card: cert, status, verify, sign (user authentication)", run: cmdJPKI,
			subs: []string{"cert", "status", "verify", "sign"}},
		{name: "completion", summary: "print a bash or zsh completion script (source <(cardap completion bash))", run: cmdCompletion, subs: []string{"bash", "zsh"}},
		{name: "version", summary: "print the version, commit, Go version and reader binding (also --version)", run: cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &cli{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, c *cli, args []string) int {
	if len(args) > 1 && args[0] == "help" {
		return cmdHelp(ctx, c, args[1:])
	}
	if len(args) > 0 && args[0] == completeCommand {
		return cmdComplete(ctx, c, args[1:])
	}
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
	c.usageJSON(args, fmt.Errorf("unknown command %q", args[0]))
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cardap <command> [flags]\n       cardap --help | --version\n\ncommands:")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintln(w, "\nhelp: cardap help <command> | cardap help <topic>; topics:")
	for _, t := range helpTopics() {
		fmt.Fprintf(w, "  %-16s %s\n", t.name, t.summary)
	}
	fmt.Fprintln(w, "\nexit codes:")
	for _, e := range exitCodes() {
		fmt.Fprintf(w, "  %d  %s\n", e.Code, e.Meaning)
	}
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
