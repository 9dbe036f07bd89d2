package pcsc

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/cardap/internal/servekit"
	"github.com/mynacard/freespace/reader"
)

// Options configures Serve.
type Options struct {
	// Readers limits the loop to these reader names; empty serves every
	// reader, including readers plugged in later.
	Readers []string
	// Exclusive connects in exclusive mode (default shared).
	Exclusive bool
	// Rescan bounds how long a change of the reader list may go unnoticed
	// when the PC/SC service does not report it; zero: 2 s.
	Rescan time.Duration
	// WarnInterval is how often, at most, one warning about one reader
	// (or about the PC/SC service) is repeated while a failure lasts, as
	// during a pcscd outage; the repeats held back are counted and
	// reported. Zero: cardap.DefaultWarnInterval.
	WarnInterval time.Duration
}

// defaultRescan is Options.Rescan when none is given.
const defaultRescan = 2 * time.Second

// Serve runs c's terminal loop (cardap.Client.ServeSlot) over the PC/SC
// readers of the machine: one goroutine per reader; readers added and
// removed while it runs are picked up; a PC/SC service that stops or
// restarts is waited for and reconnected, with backoff. While the service
// is down, each reader's loop and the loop over the reader list warn (to
// the client's Config.Logger) once per Options.WarnInterval, counting the
// repeats. It returns ctx.Err() when ctx is done; at once an error
// wrapping cardap.ErrConfig for a nil handler or a Client not made by
// cardap.New, and reader.ErrNoCgo in a program built without cgo.
func Serve(ctx context.Context, c *cardap.Client, h cardap.Handler, opts Options) error {
	if opts.Rescan <= 0 {
		opts.Rescan = defaultRescan
	}
	if opts.WarnInterval <= 0 {
		opts.WarnInterval = cardap.DefaultWarnInterval
	}
	// A slot that is gone at once makes ServeSlot return at once: with
	// the error of a Client or handler it refuses (or ctx's), before
	// anything talks to PC/SC.
	if err := c.ServeSlot(ctx, h, goneSlot{}, cardap.ServeOptions{}); err != nil {
		return err
	}
	l := &loop{c: c, h: h, opts: opts, log: c.Logger(), running: map[string]bool{}}
	l.warn = servekit.NewWarner(l.log, opts.WarnInterval)
	defer l.wg.Wait()
	var bo servekit.Backoff
	for ctx.Err() == nil {
		rc, err := reader.EstablishContext(ctx)
		if errors.Is(err, reader.ErrNoCgo) {
			// A program built without cgo can never reach PC/SC:
			// waiting for the service would wait forever.
			return err
		}
		if err != nil {
			l.warn.Warn(ctx, "cardap: PC/SC unavailable, retrying", "", err)
			if !bo.Wait(ctx) {
				break
			}
			continue
		}
		l.watch(ctx, rc, &bo)
		if err := rc.Close(); err != nil && ctx.Err() == nil {
			l.warn.Warn(ctx, "cardap: closing the PC/SC context failed", "", err)
		}
		if ctx.Err() == nil && !bo.Wait(ctx) {
			break
		}
	}
	return ctx.Err()
}

// goneSlot is a slot that is gone from the start.
type goneSlot struct{}

func (goneSlot) Name() string { return "" }

func (goneSlot) Present(context.Context) (cardap.Card, error) { return nil, cardap.ErrSlotGone }

// loop is one Serve: the readers being served and what serving them needs.
type loop struct {
	c    *cardap.Client
	h    cardap.Handler
	opts Options
	log  *slog.Logger
	warn *servekit.Warner // warnings about the PC/SC service as a whole

	mu      sync.Mutex
	running map[string]bool // readers with a loop
	wg      sync.WaitGroup
}

// watch follows the reader list of one PC/SC context, starting a loop for
// each new reader, until the context fails (pcscd stopped) or ctx is done.
func (l *loop) watch(ctx context.Context, rc *reader.Context, bo *servekit.Backoff) {
	for ctx.Err() == nil {
		names, err := rc.ListReaders(ctx)
		if err != nil && !errors.Is(err, reader.ErrNoReader) {
			l.warn.Warn(ctx, "cardap: listing readers failed", "", err)
			return
		}
		bo.Reset()
		l.warn.Recovered(ctx, "")
		for _, name := range names {
			if len(l.opts.Readers) == 0 || slices.Contains(l.opts.Readers, name) {
				l.start(ctx, name)
			}
		}
		if err := rc.WaitForReaderListChange(ctx, l.opts.Rescan); err != nil && ctx.Err() == nil {
			l.warn.Warn(ctx, "cardap: waiting for readers failed", "", err)
			return
		}
	}
}

// start serves reader name on a goroutine of its own, unless it is
// served already. The goroutine ends when the reader is gone.
func (l *loop) start(ctx context.Context, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[name] {
		return
	}
	l.running[name] = true
	l.log.LogAttrs(ctx, slog.LevelDebug, "cardap: serving reader", slog.String("slot", name))
	l.wg.Go(func() {
		s := &readerSlot{name: name, exclusive: l.opts.Exclusive, log: l.log}
		_ = l.c.ServeSlot(ctx, l.h, s, cardap.ServeOptions{WarnInterval: l.opts.WarnInterval})
		l.mu.Lock()
		delete(l.running, name)
		l.mu.Unlock()
		l.log.LogAttrs(ctx, slog.LevelDebug, "cardap: reader no longer served", slog.String("slot", name))
	})
}

// readerSlot is one PC/SC reader. Each Present uses a fresh PC/SC context, so
// a restarted pcscd is picked up.
type readerSlot struct {
	name      string
	exclusive bool
	log       *slog.Logger
}

// Name implements cardap.Slot: the reader's name.
func (s *readerSlot) Name() string { return s.name }

// Present implements cardap.Slot.
func (s *readerSlot) Present(ctx context.Context) (cardap.Card, error) {
	rc, err := reader.EstablishContext(ctx)
	if err != nil {
		return nil, err
	}
	for {
		s.log.LogAttrs(ctx, slog.LevelDebug, "cardap: waiting for a card", slog.String("slot", s.name))
		if _, err := rc.WaitForCard(ctx, s.name); err != nil {
			err = closeAfter(err, rc)
			if errors.Is(err, reader.ErrNoReader) {
				return nil, errors.Join(cardap.ErrSlotGone, err)
			}
			return nil, err
		}
		card, err := rc.Connect(ctx, s.name, reader.ConnectOptions{Exclusive: s.exclusive})
		if err == nil {
			return &readerCard{Card: card, rc: rc, name: s.name}, nil
		}
		if !errors.Is(err, apdu.ErrCardRemoved) && !errors.Is(err, reader.ErrCardUnusable) {
			return nil, closeAfter(err, rc)
		}
		// The card left between the event and the connection, or it does
		// not answer (unpowered, mute): wait for the slot to be empty, then
		// for a card again.
		if errors.Is(err, reader.ErrCardUnusable) {
			s.log.LogAttrs(ctx, slog.LevelWarn, "cardap: card does not answer; waiting for it to be taken out", slog.String("slot", s.name), slog.String("err", servekit.LogText(err)))
		}
		if _, err := rc.WaitForRemoval(ctx, s.name); err != nil {
			return nil, closeAfter(err, rc)
		}
	}
}

// WaitEmpty implements cardap.EmptyWaiter with a fresh PC/SC context, so it works
// after the card's own context died with a restarted PC/SC service.
func (s *readerSlot) WaitEmpty(ctx context.Context) error {
	rc, err := reader.EstablishContext(ctx)
	if err != nil {
		return err
	}
	_, err = rc.WaitForRemoval(ctx, s.name)
	err = closeAfter(err, rc)
	if errors.Is(err, reader.ErrNoReader) {
		return errors.Join(cardap.ErrSlotGone, err)
	}
	if err == nil {
		s.log.LogAttrs(ctx, slog.LevelDebug, "cardap: slot seen empty", slog.String("slot", s.name))
	}
	return err
}

// closeAfter closes rc and returns err with the close's failure joined.
// After a failure that says the PC/SC service is gone or refuses this
// client (err nil means a success), closing fails for the same reason, so
// that failure is dropped: it would only repeat err in the log.
func closeAfter(err error, rc *reader.Context) error {
	cerr := rc.Close()
	if cerr == nil || errors.Is(err, reader.ErrNoService) || errors.Is(err, reader.ErrAccessDenied) {
		return err
	}
	return errors.Join(err, cerr)
}

// readerCard is a card connected in a reader, with the PC/SC context it
// was connected through (closed with it).
type readerCard struct {
	*reader.Card
	rc   *reader.Context
	name string
}

func (c *readerCard) WaitRemoved(ctx context.Context) error {
	_, err := c.rc.WaitForRemoval(ctx, c.name)
	return err
}

func (c *readerCard) Close() error {
	return errors.Join(c.Card.Close(), c.rc.Close())
}
