package cardap_test

import (
	"context"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/leaktest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestServeNoGoroutineLeak: Serve over several TapSlots ends every
// goroutine it started when ctx is cancelled, whether the slots wait for
// a card or a Tap was abandoned (its ctx done) while the handler ran.
func TestServeNoGoroutineLeak(t *testing.T) {
	leaktest.Check(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })
	slots := []*cardap.TapSlot{cardap.NewTapSlot("s1"), cardap.NewTapSlot("s2"), cardap.NewTapSlot("s3")}
	inHandler := make(chan string, 4)
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.Serve(ctx, func(_ context.Context, tap cardap.Tap, _ cardap.Card) {
			inHandler <- tap.Slot
			if tap.Slot == "s2" {
				<-release
			}
		}, slots[0], slots[1], slots[2])
	}()
	card := func() *mockcard.Card { return mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U"})) }

	require.NoError(t, slots[0].Tap(ctx, card()))
	assert.Equal(t, "s1", <-inHandler)

	// A Tap given up while its handler runs returns at once; the slot's
	// goroutine goes on once the handler returns.
	tapCtx, tapCancel := context.WithCancel(ctx)
	tapDone := make(chan error, 1)
	go func() { tapDone <- slots[1].Tap(tapCtx, card()) }()
	assert.Equal(t, "s2", <-inHandler)
	tapCancel()
	assert.ErrorIs(t, <-tapDone, context.Canceled)
	close(release)
	require.NoError(t, slots[1].Tap(ctx, card()))
	assert.Equal(t, "s2", <-inHandler)

	// A Tap still waiting to be presented when Serve stops returns too.
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.ErrorIs(t, slots[2].Tap(ctx, card()), context.Canceled)
}

// TestIdentifyCancelledDuringPrompt: cancelling ctx while the holder is
// asked for the password ends Identify with the context's error (matched
// by errors.Is), sends nothing to the card (no try spent) and leaves no
// goroutine behind.
func TestIdentifyCancelledDuringPrompt(t *testing.T) {
	leaktest.Check(t)
	ks := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U"},
		Keys: mockcard.APKeys{Masters: ks}, Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
	aid := profile.DefaultAID(profile.TypeA)
	before, err := card.PINTriesLeft(aid, mockcard.PasswordRefAP)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prompting := make(chan struct{})
	c := newClient(t, nil, func(c *cardap.Config) {
		c.NoRevocation = true
		c.APs = []cardap.AP{typeA(ks, func(c *cardap.TypeAConfig) {
			c.PasswordFunc = func(ctx context.Context, _ cardap.PasswordRequest) (profile.Password, error) {
				close(prompting)
				<-ctx.Done() // a PIN pad waiting for the holder
				return nil, ctx.Err()
			}
		})}
	})
	go func() {
		<-prompting
		cancel()
	}()
	_, err = c.Identify(ctx, card)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, cardap.ReasonCanceled, cardap.ReasonOf(err), "no decision on the card: %v", err)
	after, err := card.PINTriesLeft(aid, mockcard.PasswordRefAP)
	require.NoError(t, err)
	assert.Equal(t, before, after, "no try spent")
}

// cancelOnFirstAPDU is a card whose first APDU is answered only by the
// end of the serve loop: it cancels ctx (the terminal shutting down while
// the card is read) and fails with the context's error.
type cancelOnFirstAPDU struct {
	*mockcard.Card
	cancel context.CancelFunc
}

func (c cancelOnFirstAPDU) Transmit(ctx context.Context, _ []byte) ([]byte, error) {
	c.cancel()
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestServeCancelledMidIdentifyCallsNoHandler: when ctx is done while a
// card is being identified, Serve does not hand the handler a refusal
// (ReasonCardError) for a card it never judged: it just stops.
func TestServeCancelledMidIdentifyCallsNoHandler(t *testing.T) {
	leaktest.Check(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })
	slot := cardap.NewTapSlot("gate")
	taps := make(chan cardap.Tap, 1)
	done := make(chan error, 1)
	go func() {
		done <- c.Serve(ctx, func(_ context.Context, tap cardap.Tap, _ cardap.Card) { taps <- tap }, slot)
	}()
	card := cancelOnFirstAPDU{mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U"})), cancel}
	assert.NoError(t, slot.Tap(context.Background(), card), "the card is taken away")
	require.ErrorIs(t, <-done, context.Canceled)
	select {
	case tap := <-taps:
		t.Fatalf("handler called for a cancelled identification: %+v (reason %s)", tap, tap.Reason())
	default:
	}
}
