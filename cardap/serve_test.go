package cardap_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// flakySlot holds one card that stays until Remove. Its cards fail
// WaitRemoved (a reader or PC/SC service failure while the card still
// lies there); Present hands out the card again whenever it is in the
// slot, as a real reader would.
type flakySlot struct {
	card    *mockcard.Card
	mu      sync.Mutex
	present bool
	removed chan struct{}
	waiting chan struct{} // WaitEmpty was entered
	gone    chan struct{}
}

func (s *flakySlot) Name() string { return "flaky" }

func (s *flakySlot) Present(ctx context.Context) (cardap.Card, error) {
	s.mu.Lock()
	p := s.present
	s.mu.Unlock()
	if p {
		return flakyCard{s.card}, nil
	}
	select {
	case <-s.gone:
		return nil, cardap.ErrSlotGone
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *flakySlot) Remove() {
	s.mu.Lock()
	s.present = false
	s.mu.Unlock()
	close(s.removed)
}

type emptyWaitingSlot struct{ *flakySlot }

func (s emptyWaitingSlot) WaitEmpty(ctx context.Context) error {
	close(s.waiting)
	select {
	case <-s.removed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type flakyCard struct{ *mockcard.Card }

func (flakyCard) WaitRemoved(context.Context) error { return errors.New("reader: transient failure") }
func (flakyCard) Close() error                      { return nil }

// TestServeNeverReidentifiesACardLeftInTheSlot: when waiting for removal
// fails while the card still lies in the slot, Serve must not identify it
// again, which would send the (wrong) password again and spend a try. It
// waits for an empty slot (EmptyWaiter) or, lacking that, stops serving
// the slot.
func TestServeNeverReidentifiesACardLeftInTheSlot(t *testing.T) {
	for _, withWaiter := range []bool{true, false} {
		t.Run(map[bool]string{true: "EmptyWaiter", false: "plain Slot"}[withWaiter], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ks := keystest.Store(1)
			card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U"},
				Keys: mockcard.APKeys{Masters: ks}, Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
			aid := profile.DefaultAID(profile.TypeA)
			before, err := card.PINTriesLeft(aid, mockcard.PasswordRefAP)
			require.NoError(t, err)
			var asked atomic.Int32
			c := newClient(t, nil, func(c *cardap.Config) {
				c.NoRevocation = true
				c.APs = []cardap.AP{typeA(ks, func(c *cardap.TypeAConfig) {
					c.AllowLastTry = true
					c.PasswordFunc = func(context.Context, cardap.PasswordRequest) (profile.Password, error) {
						asked.Add(1)
						return profile.Password("9999"), nil // wrong
					}
				})}
			})
			fs := &flakySlot{card: card, present: true, removed: make(chan struct{}), waiting: make(chan struct{}), gone: make(chan struct{})}
			var slot cardap.Slot = fs
			if withWaiter {
				slot = emptyWaitingSlot{fs}
			}
			taps := make(chan cardap.Tap, 10)
			done := make(chan error, 1)
			go func() {
				done <- c.Serve(ctx, func(_ context.Context, tap cardap.Tap, _ cardap.Card) { taps <- tap }, slot)
			}()
			tap := <-taps
			assert.Equal(t, cardap.ReasonPasswordWrong, tap.Reason())
			if withWaiter {
				// Serve now waits for the slot to empty, without having
				// identified the card again.
				select {
				case <-fs.waiting:
				case <-ctx.Done():
					t.Fatal("Serve never waited for an empty slot")
				}
				assert.Empty(t, taps, "card identified again while still in the slot")
				fs.Remove()
				close(fs.gone)
			}
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-ctx.Done():
				t.Fatal("Serve did not return")
			}
			assert.Empty(t, taps)
			assert.EqualValues(t, 1, asked.Load(), "the password was asked once")
			after, err := card.PINTriesLeft(aid, mockcard.PasswordRefAP)
			require.NoError(t, err)
			assert.Equal(t, before-1, after, "one try spent, not more")
		})
	}
}
