// Command gate is an entrance gate built on package cardap: a card is
// tapped, the cardap.Client authenticates it (Type A AP: mutual
// authentication with keys diversified from the operator's master keys)
// and reads its identity, checks it against the revocation list (fail
// closed when the list is too old) and its expiry date, and the gate
// decides to open, stay shut or ask for another tap. Each decision is
// printed (one human line, or one JSON object per line with --json),
// optionally appended to an audit file (--audit, fsynced per line), and an
// open decision runs the door hook (--door-cmd, or any Door in Go).
//
// A Type C card (ID only, read without authentication) proves nothing:
// anyone can read its ID and copy it to a blank card or a phone. The gate
// recognises it and refuses it as unproven, unless --allow-type-c says to
// accept such cards, which then logs a warning on every decision.
//
// Without flags it runs on built-in mock cards and simulates a series of
// taps through cardap.Serve and cardap.TapSlot: a valid card, a card on the
// delivered revocation list, a card stopped locally, an expired card, a card
// without the AP, a card never personalized, a card with malformed data, a
// card pulled away in the middle of the read, and a Type C copy of the
// valid card. The demo's operator keys are made in memory for the run; its
// revocation list is a real revocation store in a temporary directory.
//
//	CGO_ENABLED=0 go run ./examples/gate
//	go run ./examples/gate --json
//
// With --reader (or --all-readers) it runs pcsc.Serve (package cardap/pcsc) on PC/SC
// readers until Ctrl-C; it then needs the operator's key file (--keys
// FILE) and a revocation store (--revocation DIR, opened read-only unless
// --feed makes the gate sync it) or an explicit --no-revocation.
//
//	go run ./examples/gate --reader "Virtual PCD 00 00" --keys keys.json --revocation /var/lib/gate/revocation
//
// Cards with a password: --password-env VAR reads it once from the
// environment and removes VAR, so that the door command does not inherit
// it (the kernel's copy of the initial environment keeps it: README.md).
//
// My Number Cards through their public JPKI AP: --jpki-roots FILES (the
// J-LIS authentication CA certificates, PEM or DER, comma-separated) opens
// for a card whose certificate chains to them, is not revoked (by its
// certificate revocation key, in the same --revocation store) and which
// signed the gate's fresh challenge after its holder typed the 4-digit PIN
// on the gate's PIN pad: --pin-cmd ARGV runs the PIN pad's driver once per
// tap (no shell) and reads the PIN from the first line of its stdout; it
// runs only once the certificate was checked, outside any PC/SC
// transaction. Without --pin-cmd the PIN comes from --password-env
// (tests and demos).
//
// See README.md beside this file for the flags, the audit format and the
// door hook.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mynacard/freespace/examples/internal/demo"
	"github.com/mynacard/freespace/reader"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/jpki"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/typea"
)

// Exit codes, as cardap's table has them (README).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// exitNoReader: no PC/SC in this build (no cgo) or no service.
	exitNoReader = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// readerList is the repeatable --reader flag.
type readerList []string

func (r *readerList) String() string { return strings.Join(*r, ", ") }

func (r *readerList) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty reader name")
	}
	*r = append(*r, s)
	return nil
}

// options are the parsed flags.
type options struct {
	readers      readerList
	allReaders   bool
	revDir       string
	noRevocation bool
	feed         string
	feedKey      ed25519.PublicKey
	syncEvery    time.Duration
	maxListAge   time.Duration
	allowStale   bool
	json         bool
	audit        string
	doorCmd      string
	doorTimeout  time.Duration
	aid          profile.AID // of the Type A AP
	typeCAID     profile.AID // of the Type C AP
	keysFile     string
	allowTypeC   bool
	passwordEnv  string
	jpkiRoots    string
	pinCmd       string
	pinTimeout   time.Duration
}

// simulated reports whether the gate runs the demo instead of readers.
func (o *options) simulated() bool { return len(o.readers) == 0 && !o.allReaders }

// parseFlags parses args; a nil options with exitOK means -h was asked.
func parseFlags(args []string, stderr io.Writer) (*options, int) {
	var o options
	fs := flag.NewFlagSet("gate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.readers, "reader", "serve the PC/SC reader `NAME` (repeatable); without --reader or --all-readers the gate simulates taps on mock cards")
	fs.BoolVar(&o.allReaders, "all-readers", false, "serve every PC/SC reader, including readers plugged in later")
	fs.StringVar(&o.revDir, "revocation", "", "revocation store `DIR` (see `cardap revocation sync`); required with readers unless --no-revocation")
	fs.BoolVar(&o.noRevocation, "no-revocation", false, "run on readers without a revocation list (revoked cards are NOT refused)")
	fs.StringVar(&o.feed, "feed", "", "keep the --revocation store up to date from the signed feed at `SRC` (an http(s) URL or a directory)")
	feedKey := fs.String("feed-pubkey", "", "the feed's Ed25519 public `KEY`: 64 hex digits or a file holding them (required with --feed)")
	fs.DurationVar(&o.syncEvery, "sync-every", 15*time.Minute, "how often to sync from --feed")
	fs.DurationVar(&o.maxListAge, "max-list-age", revocation.DefaultMaxAge, "refuse every card (fail closed) when the revocation list is older than this")
	fs.BoolVar(&o.allowStale, "allow-stale", false, "accept cards with a warning instead of refusing them when the list is too old")
	fs.BoolVar(&o.json, "json", false, "write decisions to stdout as JSON lines (the audit format) instead of human lines")
	fs.StringVar(&o.audit, "audit", "", "append every decision as a JSON line to `FILE`, fsynced before the door opens")
	fs.StringVar(&o.doorCmd, "door-cmd", "", "run `ARGV` (no shell; quotes group words) on every open decision, the decision as JSON on stdin and GATE_* env vars")
	fs.DurationVar(&o.doorTimeout, "door-timeout", 5*time.Second, "kill the door command after this long")
	aidHex := fs.String("aid", "", "`AID` of the Type A AP (default: the profile's placeholder)")
	typeCAIDHex := fs.String("type-c-aid", "", "`AID` of the Type C AP (default: the profile's placeholder)")
	fs.StringVar(&o.keysFile, "keys", "", "the operator's key `FILE` (JSON key store, mode 0600): the Type A master keys cards are authenticated with; required with readers unless --allow-type-c")
	fs.BoolVar(&o.allowTypeC, "allow-type-c", false, "also OPEN for Type C cards, which prove nothing: their ID is readable by anyone and a copy on a blank card or a phone opens the gate as the original does. Logs a warning on every decision")
	fs.StringVar(&o.passwordEnv, "password-env", "", "the Type A cards' password, read from the environment variable `VAR` and removed from the environment (a real gate asks each holder on a PIN pad); without it the Type A AP is read in no-password mode")
	fs.StringVar(&o.jpkiRoots, "jpki-roots", "", "J-LIS authentication CA certificate `FILES` (PEM or DER, comma-separated): also open for My Number Cards through their JPKI AP, after the holder's 4-digit PIN (--pin-cmd)")
	fs.StringVar(&o.pinCmd, "pin-cmd", "", "the PIN pad: run `ARGV` (no shell) once per JPKI tap, the PIN on the first line of its stdout; without it --password-env gives the PIN")
	fs.DurationVar(&o.pinTimeout, "pin-timeout", 30*time.Second, "kill the --pin-cmd PIN pad after this long (the tap is then refused)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK
		}
		return nil, exitUsage
	}
	usage := func(format string, a ...any) (*options, int) {
		fmt.Fprintf(stderr, "gate: "+format+"\n", a...)
		return nil, exitUsage
	}
	if fs.NArg() > 0 {
		return usage("unexpected arguments %q", fs.Args())
	}
	for _, a := range []struct {
		flag, hex string
		to        *profile.AID
	}{{"--aid", *aidHex, &o.aid}, {"--type-c-aid", *typeCAIDHex, &o.typeCAID}} {
		if a.hex == "" {
			continue
		}
		aid, err := profile.ParseAID(a.hex)
		if err != nil {
			return usage("%s: %v", a.flag, err)
		}
		*a.to = aid
	}
	if o.feed != "" {
		if o.revDir == "" {
			return usage("--feed needs --revocation DIR (the store it keeps up to date)")
		}
		if *feedKey == "" {
			return usage("--feed needs --feed-pubkey: an unsigned feed is never applied")
		}
		k, err := readPublicKey(*feedKey)
		if err != nil {
			return usage("--feed-pubkey: %v", err)
		}
		o.feedKey = k
	}
	switch {
	case len(o.readers) > 0 && o.allReaders:
		return usage("--reader and --all-readers exclude each other")
	case o.revDir != "" && o.noRevocation:
		return usage("--revocation and --no-revocation exclude each other")
	case o.simulated() && (o.revDir != "" || o.noRevocation):
		return usage("--revocation and --no-revocation apply to --reader/--all-readers; the simulation uses its own demo revocation store")
	case o.simulated() && o.keysFile != "":
		return usage("--keys applies to --reader/--all-readers; the simulation makes its own operator keys")
	case !o.simulated() && o.keysFile == "" && o.jpkiRoots == "" && !o.allowTypeC:
		return usage("a gate on real readers authenticates cards: give --keys FILE (Type A with the operator's keys), --jpki-roots FILES (My Number Cards through JPKI), or --allow-type-c to accept Type C cards, which prove nothing")
	case o.simulated() && (o.jpkiRoots != "" || o.pinCmd != ""):
		return usage("--jpki-roots and --pin-cmd apply to --reader/--all-readers")
	case o.pinCmd != "" && o.jpkiRoots == "":
		return usage("--pin-cmd is the JPKI PIN pad: give --jpki-roots too")
	case o.jpkiRoots != "" && o.pinCmd == "" && o.passwordEnv == "":
		return usage("--jpki-roots needs the holder's PIN: give --pin-cmd ARGV (the PIN pad) or --password-env VAR")
	case o.pinTimeout <= 0:
		return usage("--pin-timeout must be positive")
	case !o.simulated() && o.revDir == "" && !o.noRevocation:
		return usage("a gate on real readers must refuse revoked cards: give --revocation DIR (a store kept up to date with `cardap revocation sync`), or --no-revocation to run without one")
	case o.maxListAge <= 0:
		return usage("--max-list-age must be positive")
	case o.syncEvery <= 0:
		return usage("--sync-every must be positive")
	case o.doorTimeout <= 0:
		return usage("--door-timeout must be positive")
	}
	return &o, exitOK
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, code := parseFlags(args, stderr)
	if o == nil {
		return code
	}
	g := &gate{
		now:        time.Now,
		log:        slog.New(slog.NewTextHandler(stderr, nil)),
		clientLog:  slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		allowTypeC: o.allowTypeC,
	}
	if o.passwordEnv != "" {
		pw, err := demo.PasswordFromEnv(o.passwordEnv)
		if err != nil {
			fmt.Fprintf(stderr, "gate: --password-env: %v\n", err)
			return exitUsage
		}
		defer pw.Zero()
		g.password = pw
	}
	if o.jpkiRoots != "" {
		roots, err := jpki.LoadCertificates(strings.Split(o.jpkiRoots, ",")...)
		if err != nil {
			fmt.Fprintf(stderr, "gate: --jpki-roots: %v\n", err)
			return exitUsage
		}
		g.jpkiRoots = roots
	}
	if o.pinCmd != "" {
		argv, err := splitArgs(o.pinCmd)
		if err != nil || len(argv) == 0 {
			fmt.Fprintf(stderr, "gate: --pin-cmd: %v\n", err)
			return exitUsage
		}
		g.pinPad = &CmdPINPad{Argv: argv, Timeout: o.pinTimeout}
	}
	if o.allowTypeC {
		g.log.Warn(typeCWarning)
	}
	if err := g.setOutputs(o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "gate: %v\n", err)
		return exitFailure
	}
	var err error
	if o.simulated() {
		err = g.simulate(ctx, o)
	} else {
		err = g.serveReaders(ctx, o)
	}
	code = exitOK
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "gate: %v\n", err)
		code = exitFailure
		if errors.Is(err, reader.ErrNoCgo) {
			code = exitNoReader
		}
	}
	if err := g.closeOutputs(); err != nil {
		fmt.Fprintf(stderr, "gate: %v\n", err)
		code = exitFailure
	}
	return code
}

// newClient builds the cardap client of the gate: the Type A AP with the
// operator's keys (ks; nil: none, only with --allow-type-c) and the gate's
// password (none: no-password mode), then the Type C AP, so that a Type C
// card is recognised and refused as unproven unless --allow-type-c; the
// revocation checker (nil: none); expiry checked on the gate's clock.
func (g *gate) newClient(o *options, ks keys.Provider, rev cardap.RevocationChecker) (*cardap.Client, error) {
	var aps []cardap.AP
	if ks != nil {
		cfg := cardap.TypeAConfig{Config: typea.Config{AID: o.aid, Keys: ks, Password: profile.PasswordNone}}
		if g.password != nil {
			// After mutual authentication, under secure messaging: the
			// password goes encrypted, and only to a card that proved it
			// holds the operator's keys.
			cfg.Config.Password = profile.PasswordAfterAuth
			cfg.PasswordFunc = g.passwordFunc
		}
		aps = append(aps, cardap.TypeA(cfg))
	}
	if len(g.jpkiRoots) > 0 {
		// After the free-space Type A AP: a card carrying both is decided
		// by the operator's own AP; every My Number Card carries JPKI.
		aps = append(aps, cardap.JPKI(cardap.JPKIConfig{Roots: g.jpkiRoots, PasswordFunc: g.pinFunc}))
	}
	aps = append(aps, cardap.TypeC(cardap.TypeCConfig{AID: o.typeCAID}))
	return cardap.New(cardap.Config{
		APs:           aps,
		AllowUnproven: o.allowTypeC,
		Revocation:    rev,
		NoRevocation:  rev == nil,
		Now:           g.now,
		Logger:        g.clientLog,
	})
}

// openStore opens the revocation store in dir with the gate's freshness
// policy. Read-only unless the gate syncs the store itself (writable):
// a read-only open never creates the store, so a mistyped path is an
// empty, never-synced store that refuses every card, not a new store.
func (g *gate) openStore(dir string, o *options, writable bool) (*revocation.Store, error) {
	opts := revocation.Options{
		Policy: revocation.Policy{MaxAge: o.maxListAge, AllowStale: o.allowStale},
		Logger: g.log,
		Now:    g.now,
	}
	opts.ReadOnly = !writable
	return revocation.Open(dir, opts)
}
