package cardap

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap/internal/servekit"
)

// Card is a card presented in a Slot.
type Card interface {
	apdu.Transport
	// WaitRemoved blocks until the card has left the slot (or ctx is done).
	WaitRemoved(ctx context.Context) error
	// Close releases the connection. It does not wait for removal.
	Close() error
}

// Slot is one place where cards are presented: a PC/SC reader (package
// cardap/pcsc), or a simulated one (TapSlot). A Slot should also
// implement EmptyWaiter, so that Serve can recover when Card.WaitRemoved
// fails.
type Slot interface {
	// Name identifies the slot in Taps and logs.
	Name() string
	// Present blocks until a card is in the slot and returns a connection
	// to it. It returns an error matching ErrSlotGone when the slot has
	// disappeared for good, and ctx.Err() when ctx is done.
	Present(ctx context.Context) (Card, error)
}

// ErrSlotGone is returned by Slot.Present when the slot no longer exists.
var ErrSlotGone = errors.New("cardap: slot gone")

// Tap is one card presentation and the client's decision on it.
type Tap struct {
	Slot     string        // where the card was presented
	Time     time.Time     // when identification started (the client's clock)
	Duration time.Duration // how long identification took (wall clock)
	Identity *Identity     // the accepted identity, nil when refused
	Err      error         // the refusal (an *Error), nil when accepted
}

// Reason is the refusal reason, ReasonUnknown when accepted.
func (t Tap) Reason() Reason { return ReasonOf(t.Err) }

// Handler decides what to do with a Tap (open the door, log in, record a
// ride). It runs on the slot's goroutine while the card is still present,
// and may use the card for further commands through card. The next card in
// the same slot is served after it returns and the card has left.
type Handler func(ctx context.Context, tap Tap, card Card)

// ServeOptions configures ServeSlot.
type ServeOptions struct {
	// WarnInterval is how often, at most, one warning about the slot is
	// repeated while a failure lasts (a slot failing again and again);
	// the repeats held back are counted and reported with the next
	// warning and when the slot recovers. Zero: DefaultWarnInterval.
	WarnInterval time.Duration
}

// Serve runs the terminal loop on every slot, one goroutine each, as
// ServeSlot does with zero ServeOptions. It returns nil when every slot
// is gone, or ctx.Err() when ctx is done.
func (c *Client) Serve(ctx context.Context, h Handler, slots ...Slot) error {
	if err := c.checkServe(h); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, s := range slots {
		wg.Go(func() { _ = c.ServeSlot(ctx, h, s, ServeOptions{}) })
	}
	wg.Wait()
	return ctx.Err()
}

// ServeSlot runs the terminal loop on one slot until it is gone (nil) or
// ctx is done (ctx.Err()): wait for a card, Identify it, call h, wait for
// the card to leave. A slot whose Present fails with another error than
// ErrSlotGone is retried with backoff (capped at 5 s). When waiting for a
// card's removal fails, the slot is served again only once it has been
// seen empty (EmptyWaiter), so a card left in it is never identified, nor
// sent its password, a second time. A card whose identification is cut
// short by ctx being done is not passed to h. A failure that repeats is
// logged (Config.Logger) once per opts.WarnInterval with a count of the
// repeats held back.
//
// Serve calls it for a fixed set of slots; a loop over slots that come
// and go (package cardap/pcsc) calls it once per slot.
func (c *Client) ServeSlot(ctx context.Context, h Handler, s Slot, opts ServeOptions) error {
	if err := c.checkServe(h); err != nil {
		return err
	}
	if s == nil {
		return configErr("Slot", "nil")
	}
	if opts.WarnInterval <= 0 {
		opts.WarnInterval = DefaultWarnInterval
	}
	c.serveSlot(ctx, h, s, servekit.NewWarner(c.log, opts.WarnInterval))
	return ctx.Err()
}

// checkServe refuses a nil handler and a Client not made by New.
func (c *Client) checkServe(h Handler) error {
	if err := c.check(); err != nil {
		return err
	}
	if h == nil {
		return configErr("Handler", "nil")
	}
	return nil
}

// serveSlot runs the loop of one slot until it is gone or ctx is done.
func (c *Client) serveSlot(ctx context.Context, h Handler, s Slot, warn *servekit.Warner) {
	var bo servekit.Backoff
	for ctx.Err() == nil {
		card, err := s.Present(ctx)
		switch {
		case err == nil:
			bo.Reset()
			warn.Recovered(ctx, s.Name())
		case errors.Is(err, ErrSlotGone), ctx.Err() != nil:
			warn.Recovered(ctx, s.Name())
			return
		default:
			warn.Warn(ctx, "cardap: slot failed, retrying", s.Name(), err)
			if !bo.Wait(ctx) {
				return
			}
			continue
		}
		c.tap(ctx, h, s.Name(), card)
		removeErr := card.WaitRemoved(ctx)
		if err := card.Close(); err != nil && ctx.Err() == nil {
			c.log.LogAttrs(ctx, slog.LevelDebug, "cardap: closing the card failed",
				slog.String("slot", s.Name()), slog.String("err", servekit.LogText(err)))
		}
		if removeErr != nil && ctx.Err() == nil {
			// The card may still lie in the slot. Presenting it again would
			// identify it again and send its password again (spending a try
			// when it was wrong): wait until the slot is seen empty.
			warn.Warn(ctx, "cardap: wait for removal failed; waiting for an empty slot", s.Name(), removeErr)
			if !c.waitSlotEmpty(ctx, s, &bo, warn) {
				return
			}
		}
	}
}

// EmptyWaiter is implemented by a Slot that can wait, without a connected
// card, until it holds no card. Serve uses it when Card.WaitRemoved fails,
// so a card still lying in the slot is never identified (and sent its
// password) a second time. A Slot without it stops being served after such
// a failure, since Serve could not tell the same card from a new one.
type EmptyWaiter interface {
	// WaitEmpty blocks until the slot holds no card. It returns an error
	// matching ErrSlotGone when the slot has disappeared for good, and
	// ctx.Err() when ctx is done.
	WaitEmpty(ctx context.Context) error
}

// waitSlotEmpty waits, retrying with backoff, until s holds no card; false
// when the slot is gone, cannot say, or ctx is done.
func (c *Client) waitSlotEmpty(ctx context.Context, s Slot, bo *servekit.Backoff, warn *servekit.Warner) bool {
	ew, ok := s.(EmptyWaiter)
	if !ok {
		c.log.LogAttrs(ctx, slog.LevelWarn, "cardap: slot cannot wait for removal; no longer served",
			slog.String("slot", s.Name()))
		return false
	}
	for {
		err := ew.WaitEmpty(ctx)
		switch {
		case err == nil:
			bo.Reset()
			return true
		case errors.Is(err, ErrSlotGone), ctx.Err() != nil:
			return false
		}
		warn.Warn(ctx, "cardap: waiting for an empty slot failed, retrying", s.Name(), err)
		if !bo.Wait(ctx) {
			return false
		}
	}
}

// tap identifies the card and hands the decision to h. An identification
// cut short because ctx is done is no decision on the card: h is not
// called (it would record a refusal, "card-error", for a card that was
// never judged), and the loop ends.
func (c *Client) tap(ctx context.Context, h Handler, slot string, card Card) {
	start := time.Now()
	t := Tap{Slot: slot, Time: c.now()}
	t.Identity, t.Err = c.Identify(ctx, card)
	t.Duration = time.Since(start)
	if t.Err != nil && ctx.Err() != nil && errors.Is(t.Err, ctx.Err()) {
		return
	}
	h(ctx, t, card)
}

// DefaultWarnInterval is how often, at most, the serve loops repeat one
// warning about one slot (or about the PC/SC service) while a failure
// lasts, unless their options say otherwise.
const DefaultWarnInterval = time.Minute

// TapSlot is a simulated slot: each Tap presents one card (any
// apdu.Transport, typically a *mockcard.Card), which is taken away as soon
// as the handler has decided. It is how demos and tests drive Serve without
// hardware, in the spirit of net/http/httptest. The zero value is an
// empty slot named ""; NewTapSlot names it.
type TapSlot struct {
	name  string
	once  sync.Once // makes taps and close, so that the zero value works
	taps  chan tapReq
	close chan struct{}
	shut  sync.Once
}

type tapReq struct {
	t    apdu.Transport
	done chan struct{}
}

// NewTapSlot returns an empty simulated slot called name.
func NewTapSlot(name string) *TapSlot { return &TapSlot{name: name} }

// init makes the channels on first use.
func (s *TapSlot) init() {
	s.once.Do(func() {
		s.taps = make(chan tapReq)
		s.close = make(chan struct{})
	})
}

// Name implements Slot.
func (s *TapSlot) Name() string { return s.name }

// Tap presents t in the slot and returns once the card has been served
// (the handler has run, unless Serve's ctx ended the identification) and
// taken away. It fails with ErrSlotGone after Close and with
// ctx.Err() when ctx is done first.
func (s *TapSlot) Tap(ctx context.Context, t apdu.Transport) error {
	if t == nil {
		return errors.New("cardap: TapSlot.Tap: nil card")
	}
	s.init()
	req := tapReq{t: t, done: make(chan struct{})}
	select {
	case s.taps <- req:
	case <-s.close:
		return ErrSlotGone
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-req.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close ends the slot: Present returns ErrSlotGone, so Serve's goroutine for
// it ends.
func (s *TapSlot) Close() {
	s.init()
	s.shut.Do(func() { close(s.close) })
}

// WaitEmpty implements EmptyWaiter: a tapped card is taken away as soon
// as the handler has decided, so the slot is always empty then.
func (s *TapSlot) WaitEmpty(context.Context) error { return nil }

// Present implements Slot.
func (s *TapSlot) Present(ctx context.Context) (Card, error) {
	s.init()
	select {
	case req := <-s.taps:
		return &tapCard{Transport: req.t, done: req.done}, nil
	case <-s.close:
		return nil, ErrSlotGone
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type tapCard struct {
	apdu.Transport
	done chan struct{}
	once sync.Once
}

func (c *tapCard) WaitRemoved(context.Context) error { return nil }

func (c *tapCard) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}
