package cardap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mynacard/freespace/apdu"
)

// Card is a card presented in a Slot.
type Card interface {
	apdu.Transport
	// WaitRemoved blocks until the card has left the slot (or ctx is done).
	WaitRemoved(ctx context.Context) error
	// Close releases the connection. It does not wait for removal.
	Close() error
}

// Slot is one place where cards are presented: a PC/SC reader, or a
// simulated one (TapSlot). A Slot should also implement EmptyWaiter, so
// that Serve can recover when Card.WaitRemoved fails.
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

// Serve runs the terminal loop on every slot, one goroutine each: wait for
// a card, Identify it, call h, wait for the card to leave. A slot whose
// Present fails with another error than ErrSlotGone is retried with backoff
// (capped at 5 s). When waiting for a card's removal fails, the slot is
// served again only once it has been seen empty (EmptyWaiter), so a card
// left in it is never identified, nor sent its password, a second time.
// A card whose identification is cut short by ctx being done is not
// passed to h. Serve returns nil when every slot is gone, or ctx.Err()
// when ctx is done.
func (c *Client) Serve(ctx context.Context, h Handler, slots ...Slot) error {
	if h == nil {
		return fmt.Errorf("%w: nil handler", ErrConfig)
	}
	var wg sync.WaitGroup
	for _, s := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.serveSlot(ctx, h, s)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// serveSlot runs the loop of one slot until it is gone or ctx is done.
func (c *Client) serveSlot(ctx context.Context, h Handler, s Slot) {
	backoff := newBackoff()
	for ctx.Err() == nil {
		card, err := s.Present(ctx)
		switch {
		case err == nil:
			backoff.reset()
		case errors.Is(err, ErrSlotGone), ctx.Err() != nil:
			return
		default:
			c.log.LogAttrs(ctx, slog.LevelWarn, "cardap: slot failed, retrying",
				slog.String("slot", s.Name()), slog.String("err", err.Error()))
			if !backoff.wait(ctx) {
				return
			}
			continue
		}
		c.tap(ctx, h, s.Name(), card)
		removeErr := card.WaitRemoved(ctx)
		if err := card.Close(); err != nil && ctx.Err() == nil {
			c.log.LogAttrs(ctx, slog.LevelDebug, "cardap: closing the card failed",
				slog.String("slot", s.Name()), slog.String("err", err.Error()))
		}
		if removeErr != nil && ctx.Err() == nil {
			// The card may still lie in the slot. Presenting it again would
			// identify it again and send its password again (spending a try
			// when it was wrong): wait until the slot is seen empty.
			c.log.LogAttrs(ctx, slog.LevelWarn, "cardap: wait for removal failed; waiting for an empty slot",
				slog.String("slot", s.Name()), slog.String("err", removeErr.Error()))
			if !c.waitSlotEmpty(ctx, s, backoff) {
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
func (c *Client) waitSlotEmpty(ctx context.Context, s Slot, bo *backoff) bool {
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
			bo.reset()
			return true
		case errors.Is(err, ErrSlotGone), ctx.Err() != nil:
			return false
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "cardap: waiting for an empty slot failed, retrying",
			slog.String("slot", s.Name()), slog.String("err", err.Error()))
		if !bo.wait(ctx) {
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

// backoff is an exponential backoff from 100 ms to 5 s.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 100 * time.Millisecond} }

func (b *backoff) reset() { b.d = 100 * time.Millisecond }

// wait sleeps for the current delay and doubles it; false when ctx is done.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.d)
	defer t.Stop()
	b.d = min(2*b.d, 5*time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// TapSlot is a simulated slot: each Tap presents one card (any
// apdu.Transport, typically a *mockcard.Card), which is taken away as soon
// as the handler has decided. It is how demos and tests drive Serve without
// hardware, in the spirit of net/http/httptest.
type TapSlot struct {
	name  string
	taps  chan tapReq
	once  sync.Once
	close chan struct{}
}

type tapReq struct {
	t    apdu.Transport
	done chan struct{}
}

// NewTapSlot returns an empty simulated slot.
func NewTapSlot(name string) *TapSlot {
	return &TapSlot{name: name, taps: make(chan tapReq), close: make(chan struct{})}
}

// Name implements Slot.
func (s *TapSlot) Name() string { return s.name }

// Tap presents t in the slot and returns once the card has been served
// (the handler has run, unless Serve's ctx ended the identification) and
// taken away. It fails with ErrSlotGone after Close and with
// ctx.Err() when ctx is done first.
func (s *TapSlot) Tap(ctx context.Context, t apdu.Transport) error {
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
func (s *TapSlot) Close() { s.once.Do(func() { close(s.close) }) }

// WaitEmpty implements EmptyWaiter: a tapped card is taken away as soon
// as the handler has decided, so the slot is always empty then.
func (s *TapSlot) WaitEmpty(context.Context) error { return nil }

// Present implements Slot.
func (s *TapSlot) Present(ctx context.Context) (Card, error) {
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
