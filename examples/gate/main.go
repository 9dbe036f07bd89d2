// Command gate is an entrance gate built on package cardap: a card is
// tapped, the cardap.Client identifies it (Type C AP), checks it against the
// revocation list (fail closed when the list is too old) and its expiry
// date, and the gate decides to open, stay shut or ask for another tap. Each
// decision is printed (one human line, or one JSON object per line with
// --json), optionally appended to an audit file (--audit, fsynced per
// line), and an open decision runs the door hook (--door-cmd, or any Door in
// Go).
//
// Without flags it runs on built-in mock cards and simulates a series of
// taps through cardap.Serve and cardap.TapSlot: a valid card, a card on the
// delivered revocation list, a card stopped locally, an expired card, a card
// without the AP, a card never personalized, a card with malformed data and
// a card pulled away in the middle of the read. The demo's revocation list
// is a real revocation store in a temporary directory.
//
//	CGO_ENABLED=0 go run ./examples/gate
//	go run ./examples/gate --json
//
// With --reader (or --all-readers) it runs cardap.ServePCSC on PC/SC
// readers until Ctrl-C; it then needs a revocation store (--revocation DIR)
// or an explicit --no-revocation.
//
//	go run ./examples/gate --reader "Virtual PCD 00 00" --revocation /var/lib/gate/revocation
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

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
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
	aid          profile.AID
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
	aidHex := fs.String("aid", "", "`AID` of the Type C AP (default: the profile's placeholder)")
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
	if *aidHex != "" {
		aid, err := profile.ParseAID(*aidHex)
		if err != nil {
			return usage("--aid: %v", err)
		}
		o.aid = aid
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
		now:       time.Now,
		log:       slog.New(slog.NewTextHandler(stderr, nil)),
		clientLog: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
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
	}
	if err := g.closeOutputs(); err != nil {
		fmt.Fprintf(stderr, "gate: %v\n", err)
		code = exitFailure
	}
	return code
}

// newClient builds the cardap client of the gate: the Type C AP, the
// revocation checker (nil: none), expiry checked on the gate's clock.
func (g *gate) newClient(o *options, rev cardap.RevocationChecker) (*cardap.Client, error) {
	return cardap.New(cardap.Config{
		APs:           []cardap.AP{cardap.TypeC(cardap.TypeCConfig{AID: o.aid})},
		AllowUnproven: true, // until the gate moves to Type A (issue 10 §2)
		Revocation:    rev,
		NoRevocation:  rev == nil,
		Now:           g.now,
		Logger:        g.clientLog,
	})
}

// openStore opens the revocation store in dir with the gate's freshness
// policy.
func (g *gate) openStore(dir string, o *options) (*revocation.Store, error) {
	return revocation.Open(dir, revocation.Options{
		Policy: revocation.Policy{MaxAge: o.maxListAge, AllowStale: o.allowStale},
		Logger: g.log,
		Now:    g.now,
	})
}
