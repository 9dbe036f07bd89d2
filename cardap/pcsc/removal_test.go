package pcsc_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/mynacard/freespace/internal/testsupport/sealedcard"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/cardap/pcsc"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// eventCounter is a slog.Handler that counts the records whose message
// is msg (the client's debug records), so a test can wait for the next.
type eventCounter struct {
	msg     string
	mu      sync.Mutex
	n       int
	changed chan struct{} // closed and replaced when n grows
}

func newEventCounter(msg string) *eventCounter {
	return &eventCounter{msg: msg, changed: make(chan struct{})}
}

func (e *eventCounter) Enabled(context.Context, slog.Level) bool { return true }

func (e *eventCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == e.msg {
		e.mu.Lock()
		e.n++
		close(e.changed)
		e.changed = make(chan struct{})
		e.mu.Unlock()
	}
	return nil
}

func (e *eventCounter) WithAttrs([]slog.Attr) slog.Handler { return e }
func (e *eventCounter) WithGroup(string) slog.Handler      { return e }

// count returns how many records were seen.
func (e *eventCounter) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

// waitAbove waits until more than n records were seen; false when ctx
// ends first.
func (e *eventCounter) waitAbove(ctx context.Context, n int) bool {
	for {
		e.mu.Lock()
		got, changed := e.n, e.changed
		e.mu.Unlock()
		if got > n {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// removalFlow is one way a terminal reads a card: the card, and the AP
// the client reads it with.
type removalFlow struct {
	name string
	card func(t *testing.T) *mockcard.Card
	ap   cardap.AP
}

// removalFlows are the read flows of every standard AP: Type C, Type A
// without and with a password, Type D without and with a password.
func removalFlows() []removalFlow {
	ks := keystest.Store(1)
	id := profile.Identity{UserID: "U-REMOVAL"}
	pw := func(context.Context, cardap.PasswordRequest) (profile.Password, error) {
		return profile.Password("1234"), nil
	}
	return []removalFlow{
		{"type C", func(*testing.T) *mockcard.Card {
			return mockcard.MustNew(mockcard.WithTypeC(id))
		}, cardap.TypeC(cardap.TypeCConfig{})},
		{"type A", func(*testing.T) *mockcard.Card {
			return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: ks}}))
		}, cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordNone}})},
		{"type A password", func(*testing.T) *mockcard.Card {
			return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: ks},
				Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
		}, cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: pw})},
		{"type D", func(t *testing.T) *mockcard.Card {
			return sealedcard.TypeD(t, id, "")
		}, cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks}})},
		{"type D password", func(t *testing.T) *mockcard.Card {
			return sealedcard.TypeD(t, id, "1234")
		}, cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: pw})},
	}
}

// apdusOf reads a fresh card of the flow once, successfully, and returns
// how many APDUs the read sent.
func (f removalFlow) apdusOf(t *testing.T) int {
	t.Helper()
	c := newClient(t, func(c *cardap.Config) { c.NoRevocation = true; c.APs = []cardap.AP{f.ap} })
	id, err := c.Identify(context.Background(), f.card(t))
	require.NoError(t, err)
	require.Positive(t, id.APDUs)
	return id.APDUs
}

// TestRemovalEveryAPDU pulls a card out of a vpcd reader of a
// real pcscd at every APDU of every flow (the card removes itself when
// APDU k reaches it, unanswered, or right after answering it) while
// pcsc.Serve serves the reader: every tap is refused as removed (retry).
// This is where a vanished card once came back as "malformed".
func TestRemovalEveryAPDU(t *testing.T) {
	for _, f := range removalFlows() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			n := f.apdusOf(t)
			slot := pcsctest.Acquire(t)
			waiting := newEventCounter(evWaiting)
			c := newClient(t, func(c *cardap.Config) {
				c.NoRevocation = true
				c.APs = []cardap.AP{f.ap}
				c.Logger = slog.New(waiting)
			})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			// Each tap comes with the number of "waiting for a card"
			// records so far, counted on the loop's goroutine before it
			// goes on to wait for the card's removal and the next card.
			type tapAt struct {
				tap  cardap.Tap
				seen int
			}
			taps := make(chan tapAt, 1)
			done := make(chan error, 1)
			go func() {
				done <- pcsc.Serve(ctx, c, func(_ context.Context, tap cardap.Tap, _ cardap.Card) { taps <- tapAt{tap, waiting.count()} },
					pcsc.Options{Readers: []string{slot.ReaderName}})
			}()
			seen := 0 // the "waiting for a card" records up to the last tap
			for k := 1; k <= n; k++ {
				for _, before := range []bool{true, false} {
					card := f.card(t)
					if before {
						require.NoError(t, card.Inject(mockcard.RemoveBefore(k)))
					} else {
						require.NoError(t, card.Inject(mockcard.RemoveAfter(k)))
					}
					// Insert the card only once the loop waits for one:
					// a card inserted while the loop still waits for the
					// previous one to leave would be taken for that one.
					if !waiting.waitAbove(ctx, seen) {
						t.Fatalf("the loop never waited for a card before APDU %d", k)
					}
					conn := slot.Attach(t, card)
					select {
					case got := <-taps:
						seen = got.seen
						assert.Equal(t, cardap.ReasonCardRemoved, got.tap.Reason(), "removed %s APDU %d of %d: %v",
							map[bool]string{true: "before", false: "after"}[before], k, n, got.tap.Err)
					case err := <-done:
						t.Fatalf("the serve loop stopped: %v", err)
					case <-ctx.Done():
						t.Fatalf("no tap at APDU %d", k)
					}
					<-conn.Done() // the card removed itself
					pcsctest.WaitAbsent(t, slot)
				}
			}
			cancel()
			assert.ErrorIs(t, <-done, context.Canceled)
			t.Logf("%s: %d APDUs, %d removals through pcscd, each refused as removed", f.name, n, 2*n)
		})
	}
}
