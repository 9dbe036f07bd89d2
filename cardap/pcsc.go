package cardap

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/reader"
)

// PCSCOptions configures ServePCSC.
type PCSCOptions struct {
	// Readers limits the loop to these reader names; empty serves every
	// reader, including readers plugged in later.
	Readers []string
	// Exclusive connects in exclusive mode (default shared).
	Exclusive bool
	// Rescan bounds how long a change of the reader list may go unnoticed
	// when the PC/SC service does not report it; default 2 s.
	Rescan time.Duration
	// WarnInterval is how often, at most, one warning about one reader
	// (or about the PC/SC service) is repeated while a failure lasts, as
	// during a pcscd outage; the repeats held back are counted and
	// reported. Default DefaultWarnInterval.
	WarnInterval time.Duration
}

// ServePCSC runs Serve over the PC/SC readers of the machine: one goroutine
// per reader, readers added and removed while it runs are picked up, and a
// PC/SC service that stops or restarts is waited for and reconnected (with
// backoff). While the service is down, each reader's loop and the loop
// over the reader list warn once per PCSCOptions.WarnInterval, counting
// the repeats. It returns ctx.Err() when ctx is done.
func (c *Client) ServePCSC(ctx context.Context, h Handler, opts PCSCOptions) error {
	if opts.Rescan <= 0 {
		opts.Rescan = 2 * time.Second
	}
	var (
		mu      sync.Mutex
		running = map[string]bool{}
		wg      sync.WaitGroup
	)
	defer wg.Wait()
	if opts.WarnInterval <= 0 {
		opts.WarnInterval = DefaultWarnInterval
	}
	warn := newWarnLimiter(c.log, opts.WarnInterval)
	bo := newBackoff()
	for ctx.Err() == nil {
		rc, err := reader.EstablishContext(ctx)
		if err != nil {
			warn.warn(ctx, "cardap: PC/SC unavailable, retrying", "", err)
			if !bo.wait(ctx) {
				break
			}
			continue
		}
		for ctx.Err() == nil {
			names, err := rc.ListReaders(ctx)
			if err != nil && !errors.Is(err, reader.ErrNoReader) {
				warn.warn(ctx, "cardap: listing readers failed", "", err)
				break
			}
			bo.reset()
			warn.recovered(ctx, "")
			for _, name := range names {
				if len(opts.Readers) > 0 && !slices.Contains(opts.Readers, name) {
					continue
				}
				mu.Lock()
				if running[name] {
					mu.Unlock()
					continue
				}
				running[name] = true
				mu.Unlock()
				wg.Add(1)
				c.log.LogAttrs(ctx, slog.LevelDebug, "cardap: serving reader", slog.String("slot", name))
				go func() {
					defer wg.Done()
					c.serveSlot(ctx, h, &pcscSlot{name: name, exclusive: opts.Exclusive, log: c.log}, warn)
					mu.Lock()
					delete(running, name)
					mu.Unlock()
					c.log.LogAttrs(ctx, slog.LevelDebug, "cardap: reader no longer served", slog.String("slot", name))
				}()
			}
			if err := rc.WaitForReaderListChange(ctx, opts.Rescan); err != nil && ctx.Err() == nil {
				warn.warn(ctx, "cardap: waiting for readers failed", "", err)
				break
			}
		}
		if err := rc.Close(); err != nil && ctx.Err() == nil {
			warn.warn(ctx, "cardap: closing the PC/SC context failed", "", err)
		}
		if ctx.Err() == nil && !bo.wait(ctx) {
			break
		}
	}
	return ctx.Err()
}

// pcscSlot is one PC/SC reader. Each Present uses a fresh PC/SC context, so
// a restarted pcscd is picked up.
type pcscSlot struct {
	name      string
	exclusive bool
	log       *slog.Logger
}

func (s *pcscSlot) Name() string { return s.name }

func (s *pcscSlot) Present(ctx context.Context) (Card, error) {
	rc, err := reader.EstablishContext(ctx)
	if err != nil {
		return nil, err
	}
	for {
		s.log.LogAttrs(ctx, slog.LevelDebug, "cardap: waiting for a card", slog.String("slot", s.name))
		if _, err := rc.WaitForCard(ctx, s.name); err != nil {
			err = closeAfter(err, rc)
			if errors.Is(err, reader.ErrNoReader) {
				return nil, errors.Join(ErrSlotGone, err)
			}
			return nil, err
		}
		card, err := rc.Connect(ctx, s.name, reader.ConnectOptions{Exclusive: s.exclusive})
		if err == nil {
			return &pcscCard{Card: card, rc: rc, name: s.name}, nil
		}
		if !errors.Is(err, apdu.ErrCardRemoved) && !errors.Is(err, reader.ErrCardUnusable) {
			return nil, closeAfter(err, rc)
		}
		// The card left between the event and the connection, or it does
		// not answer (unpowered, mute): wait for the slot to be empty, then
		// for a card again.
		if errors.Is(err, reader.ErrCardUnusable) {
			s.log.LogAttrs(ctx, slog.LevelWarn, "cardap: card does not answer; waiting for it to be taken out", slog.String("slot", s.name), slog.String("err", logText(err)))
		}
		if _, err := rc.WaitForRemoval(ctx, s.name); err != nil {
			return nil, closeAfter(err, rc)
		}
	}
}

// WaitEmpty implements EmptyWaiter with a fresh PC/SC context, so it works
// after the card's own context died with a restarted PC/SC service.
func (s *pcscSlot) WaitEmpty(ctx context.Context) error {
	rc, err := reader.EstablishContext(ctx)
	if err != nil {
		return err
	}
	_, err = rc.WaitForRemoval(ctx, s.name)
	err = closeAfter(err, rc)
	if errors.Is(err, reader.ErrNoReader) {
		return errors.Join(ErrSlotGone, err)
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

type pcscCard struct {
	*reader.Card
	rc   *reader.Context
	name string
}

func (c *pcscCard) WaitRemoved(ctx context.Context) error {
	_, err := c.rc.WaitForRemoval(ctx, c.name)
	return err
}

func (c *pcscCard) Close() error {
	return errors.Join(c.Card.Close(), c.rc.Close())
}
