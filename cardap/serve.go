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
// passed to h. A failure that repeats (a slot failing again and again) is
// logged once per DefaultWarnInterval with a count of the repeats held
// back. Serve returns nil when every slot is gone, or ctx.Err() when ctx
// is done.
func (c *Client) Serve(ctx context.Context, h Handler, slots ...Slot) error {
	if h == nil {
		return fmt.Errorf("%w: nil handler", ErrConfig)
	}
	var wg sync.WaitGroup
	warn := newWarnLimiter(c.log, DefaultWarnInterval)
	for _, s := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.serveSlot(ctx, h, s, warn)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// serveSlot runs the loop of one slot until it is gone or ctx is done.
func (c *Client) serveSlot(ctx context.Context, h Handler, s Slot, warn *warnLimiter) {
	backoff := newBackoff()
	for ctx.Err() == nil {
		card, err := s.Present(ctx)
		switch {
		case err == nil:
			backoff.reset()
			warn.recovered(ctx, s.Name())
		case errors.Is(err, ErrSlotGone), ctx.Err() != nil:
			warn.recovered(ctx, s.Name())
			return
		default:
			warn.warn(ctx, "cardap: slot failed, retrying", s.Name(), err)
			if !backoff.wait(ctx) {
				return
			}
			continue
		}
		c.tap(ctx, h, s.Name(), card)
		removeErr := card.WaitRemoved(ctx)
		if err := card.Close(); err != nil && ctx.Err() == nil {
			c.log.LogAttrs(ctx, slog.LevelDebug, "cardap: closing the card failed",
				slog.String("slot", s.Name()), slog.String("err", logText(err)))
		}
		if removeErr != nil && ctx.Err() == nil {
			// The card may still lie in the slot. Presenting it again would
			// identify it again and send its password again (spending a try
			// when it was wrong): wait until the slot is seen empty.
			warn.warn(ctx, "cardap: wait for removal failed; waiting for an empty slot", s.Name(), removeErr)
			if !c.waitSlotEmpty(ctx, s, backoff, warn) {
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
func (c *Client) waitSlotEmpty(ctx context.Context, s Slot, bo *backoff, warn *warnLimiter) bool {
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
		warn.warn(ctx, "cardap: waiting for an empty slot failed, retrying", s.Name(), err)
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

// DefaultWarnInterval is how often, at most, the serve loops repeat one
// warning about one slot (or about the PC/SC service) while a failure
// lasts; PCSCOptions.WarnInterval changes it for ServePCSC.
const DefaultWarnInterval = time.Minute

// warnLimiter rate-limits the serve loops' warnings: a pcscd outage makes
// every reader's loop fail again and again with the same error, which
// logged each time buried the log (about 50 warnings per outage across 8
// readers). One warning per message and slot is logged per interval; the
// ones held back are counted, and their number is reported with the next
// warning of the same kind ("suppressed") and when the slot recovers.
type warnLimiter struct {
	log   *slog.Logger
	every time.Duration
	mu    sync.Mutex
	seen  map[warnKey]*warnCount
}

// warnKey is one kind of warning about one slot ("" for the PC/SC service
// as a whole).
type warnKey struct{ msg, slot string }

// warnCount is when a kind of warning was last logged and how many were
// held back since.
type warnCount struct {
	last       time.Time
	suppressed int
}

func newWarnLimiter(log *slog.Logger, every time.Duration) *warnLimiter {
	return &warnLimiter{log: log, every: every, seen: map[warnKey]*warnCount{}}
}

// warn logs msg about slot with err, unless the same warning about the
// same slot was logged less than the interval ago: then it is counted.
func (w *warnLimiter) warn(ctx context.Context, msg, slot string, err error) {
	now := time.Now()
	w.mu.Lock()
	k := warnKey{msg, slot}
	wc := w.seen[k]
	if wc != nil && now.Sub(wc.last) < w.every {
		wc.suppressed++
		w.mu.Unlock()
		return
	}
	if wc == nil {
		wc = &warnCount{}
		w.seen[k] = wc
	}
	suppressed := wc.suppressed
	wc.suppressed, wc.last = 0, now
	w.mu.Unlock()
	attrs := make([]slog.Attr, 0, 3)
	if slot != "" {
		attrs = append(attrs, slog.String("slot", slot))
	}
	attrs = append(attrs, slog.String("err", logText(err)))
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	w.log.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
}

// recovered ends the failures of slot: warnings held back are reported
// (one record per kind, at info level), and the next failure warns at once.
func (w *warnLimiter) recovered(ctx context.Context, slot string) {
	w.mu.Lock()
	type heldBack struct {
		msg string
		n   int
	}
	var held []heldBack
	for k, wc := range w.seen {
		if k.slot != slot {
			continue
		}
		if wc.suppressed > 0 {
			held = append(held, heldBack{k.msg, wc.suppressed})
		}
		delete(w.seen, k)
	}
	w.mu.Unlock()
	for _, hb := range held {
		attrs := make([]slog.Attr, 0, 3)
		if slot != "" {
			attrs = append(attrs, slog.String("slot", slot))
		}
		attrs = append(attrs, slog.String("warning", hb.msg), slog.Int("suppressed", hb.n))
		w.log.LogAttrs(ctx, slog.LevelInfo, "cardap: recovered; repeated warnings were suppressed", attrs...)
	}
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
