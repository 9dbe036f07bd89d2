package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/reader"
)

// readerInfo is one reader as the readers command shows it.
type readerInfo struct {
	Name    string `json:"reader"`
	Present bool   `json:"card_present"`
	ATR     string `json:"atr,omitempty"`
	State   string `json:"state"`
}

// card is a connected card: a transport with its reader's name and ATR.
type card interface {
	apdu.Transport
	Reader() string
	ATR() []byte
	Close() error
}

// cardSource is where the commands find readers and cards: PC/SC in
// production, in-process mock cards in tests (see withSource).
type cardSource interface {
	Readers(ctx context.Context) ([]readerInfo, error)
	Connect(ctx context.Context, readerName string) (card, error)
	Close() error
}

// sourceKey carries a test's cardSource in the context given to run, so
// tests drive the commands in-process without a package-level hook.
type sourceKey struct{}

// withSource returns a context under which the commands use src instead of
// PC/SC.
func withSource(ctx context.Context, src cardSource) context.Context {
	return context.WithValue(ctx, sourceKey{}, src)
}

// openSource returns the test's source from ctx, or a PC/SC one.
func openSource(ctx context.Context) (cardSource, error) {
	if src, ok := ctx.Value(sourceKey{}).(cardSource); ok {
		return nopClose{src}, nil
	}
	rc, err := reader.EstablishContext(ctx)
	if err != nil {
		return nil, err
	}
	return pcscSource{rc}, nil
}

// nopClose keeps a test's source open when a command closes it.
type nopClose struct{ cardSource }

func (nopClose) Close() error { return nil }

// pcscSource is the PC/SC cardSource.
type pcscSource struct{ rc *reader.Context }

func (p pcscSource) Readers(ctx context.Context) ([]readerInfo, error) {
	states, err := p.rc.Readers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]readerInfo, len(states))
	for i, s := range states {
		out[i] = readerInfo{Name: s.Name, Present: s.Present(), ATR: fmt.Sprintf("%X", s.ATR), State: s.State.String()}
	}
	return out, nil
}

func (p pcscSource) Connect(ctx context.Context, name string) (card, error) {
	return p.rc.Connect(ctx, name, reader.ConnectOptions{})
}

func (p pcscSource) Close() error { return p.rc.Close() }

// errNoCard is returned when no reader holds a card, or the chosen one is
// empty.
var errNoCard = errors.New("no card")

// common holds the flags every card command has.
type common struct {
	reader string
	json   bool
	trace  bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.reader, "reader", "", "reader `NAME` (default: the first reader with a card)")
	fs.BoolVar(&c.json, "json", false, "machine-readable JSON output")
	fs.BoolVar(&c.trace, "trace", false, "log every APDU to stderr (secrets masked)")
}

// transport returns cd, wrapped in an APDU trace to stderr with --trace.
// The trace unwraps to cd, so PC/SC transactions still apply.
func (c *common) transport(cl *cli, cd card) apdu.Transport {
	if !c.trace {
		return cd
	}
	h := slog.NewTextHandler(cl.stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	return apdu.NewTrace(cd, apdu.TraceConfig{Logger: slog.New(h)})
}

// newFlagSet returns a FlagSet that reports to c.stderr and does not exit.
func newFlagSet(c *cli, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cardap %s\n\nflags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs (flags may follow positional arguments;
// help goes to stdout); it returns the exit code to use when the command
// should stop (help or a usage error), or -1 to go on.
func parseFlags(c *cli, fs *flag.FlagSet, args []string) int {
	if err := parseInterspersed(c, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments %q", fs.Args())
		fmt.Fprintf(fs.Output(), "cardap: %v\n", err)
		fs.Usage()
		c.usageJSON(args, err)
		return exitUsage
	}
	return -1
}

// connect resolves --reader (default: the first reader with a card) and
// connects to the card in it. The caller closes both the source and the card.
func connect(ctx context.Context, name string) (cardSource, card, error) {
	src, err := openSource(ctx)
	if err != nil {
		return nil, nil, err
	}
	if name == "" {
		rs, err := src.Readers(ctx)
		if err != nil {
			return nil, nil, errors.Join(err, src.Close())
		}
		for _, r := range rs {
			if r.Present {
				name = r.Name
				break
			}
		}
		if name == "" {
			err := fmt.Errorf("%w in any of %d readers", errNoCard, len(rs))
			if len(rs) == 0 {
				err = fmt.Errorf("%w: no readers", errNoCard)
			}
			return nil, nil, errors.Join(err, src.Close())
		}
	}
	cd, err := src.Connect(ctx, name)
	if err != nil {
		return nil, nil, errors.Join(err, src.Close())
	}
	return src, cd, nil
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON output: %w", err)
	}
	return nil
}

// done ends a command that wrote its output with write: exitOK, or the
// write's error reported on stderr and exitFailure.
func done(c *cli, err error) int {
	if err != nil {
		return fail(c, false, err)
	}
	return exitOK
}

// hexBytes renders b as upper-case hex with spaces between bytes.
func hexBytes(b []byte) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02X", x)
	}
	return sb.String()
}
