package cardap_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

var day = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

// fakeRevocation is a revocation list in memory.
type fakeRevocation struct {
	revoked map[profile.CUID]revocation.Reason
	age     time.Duration
	err     error
}

func (f *fakeRevocation) CheckCUID(_ context.Context, c profile.CUID) (cardap.RevocationStatus, error) {
	if f.err != nil {
		return cardap.RevocationStatus{}, f.err
	}
	r, ok := f.revoked[c]
	return cardap.RevocationStatus{Revoked: ok, Reason: r, Age: f.age}, nil
}

func newClient(t *testing.T, rev cardap.RevocationChecker, mod func(*cardap.Config)) *cardap.Client {
	t.Helper()
	// The policy tests read Type C cards, so their client accepts
	// unproven cards; the proof policy has tests of its own (proof_test.go).
	cfg := cardap.Config{Revocation: rev, Now: func() time.Time { return day },
		APs: []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})}, AllowUnproven: true}
	if mod != nil {
		mod(&cfg)
	}
	c, err := cardap.New(cfg)
	require.NoError(t, err)
	return c
}

func cuidOf(t *testing.T, card *mockcard.Card) profile.CUID {
	t.Helper()
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })
	id, err := c.Identify(context.Background(), card)
	require.NoError(t, err)
	return id.CUID
}

func TestIdentify(t *testing.T) {
	ctx := context.Background()
	valid := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-0001", Expires: day.AddDate(1, 0, 0).Truncate(24 * time.Hour)}))
	revoked := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-0002"}))
	expired := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-0003", Expires: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}))
	lastDay := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-0004", Expires: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)}))
	unknown := mockcard.MustNew(mockcard.WithPreinstalledAPs())
	rev := &fakeRevocation{revoked: map[profile.CUID]revocation.Reason{cuidOf(t, revoked): revocation.ReasonLost}, age: 3 * time.Hour}
	c := newClient(t, rev, nil)

	tests := []struct {
		name   string
		card   apdu.Transport
		reason cardap.Reason
		sent   error
		user   string
	}{
		{"valid", valid, cardap.ReasonUnknown, nil, "U-0001"},
		{"valid on its last day", lastDay, cardap.ReasonUnknown, nil, "U-0004"},
		{"revoked", revoked, cardap.ReasonRevoked, cardap.ErrRevoked, ""},
		{"expired", expired, cardap.ReasonExpired, cardap.ErrExpired, ""},
		{"unknown card", unknown, cardap.ReasonUnknownCard, cardap.ErrUnknownCard, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := c.Identify(ctx, tt.card)
			if tt.sent == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.user, id.UserID)
				assert.Equal(t, profile.Identity{UserID: id.UserID, Expires: id.Expires, Attributes: id.Attributes}, id.Profile())
				assert.Equal(t, tt.user, id.Profile().UserID)
				assert.Equal(t, profile.TypeC, id.AP)
				assert.Equal(t, 3*time.Hour, id.RevocationListAge)
				assert.False(t, id.CUID.IsZero())
				assert.Positive(t, id.APDUs)
				return
			}
			require.Error(t, err)
			assert.Nil(t, id)
			assert.ErrorIs(t, err, tt.sent)
			assert.Equal(t, tt.reason, cardap.ReasonOf(err))
			assert.Equal(t, 1, strings.Count(err.Error(), "cardap:"), "the package prefix once: %v", err)
			var e *cardap.Error
			require.ErrorAs(t, err, &e)
			if tt.reason == cardap.ReasonRevoked || tt.reason == cardap.ReasonExpired {
				require.NotNil(t, e.Identity, "the refusal tells which card")
				assert.Contains(t, err.Error(), e.Identity.CUID.String())
			}
		})
	}
}

func TestIdentifyFailClosedOnRevocationError(t *testing.T) {
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-1"}))
	stale := errors.New("list is 72h old, policy allows 48h")
	c := newClient(t, &fakeRevocation{err: stale}, nil)
	_, err := c.Identify(context.Background(), card)
	assert.ErrorIs(t, err, cardap.ErrRevocationUnknown)
	assert.ErrorIs(t, err, stale)
}

func TestIdentifyCardRemovedMidRead(t *testing.T) {
	for n := 1; n <= 3; n++ { // a Type C read is three APDUs
		card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-1"}))
		require.NoError(t, card.Inject(mockcard.RemoveBefore(n)))
		c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })
		_, err := c.Identify(context.Background(), card)
		assert.ErrorIs(t, err, apdu.ErrCardRemoved, "removed before APDU %d", n)
		assert.ErrorIs(t, err, apdu.ErrCardRemoved)
	}
}

func TestIdentifyExpiryPolicy(t *testing.T) {
	noExpiry := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-1"}))
	strict := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.RequireExpiry = true })
	_, err := strict.Identify(context.Background(), noExpiry)
	assert.ErrorIs(t, err, cardap.ErrExpired)

	expired := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-1", Expires: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)}))
	lenient := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.ExpiryGrace = 48 * time.Hour })
	_, err = lenient.Identify(context.Background(), expired)
	assert.NoError(t, err)
}

func TestNewRefusesMissingRevocation(t *testing.T) {
	aps := []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})}
	_, err := cardap.New(cardap.Config{APs: aps, AllowUnproven: true})
	assert.ErrorIs(t, err, cardap.ErrConfig)
	assert.Contains(t, err.Error(), "Revocation: nil")
	_, err = cardap.New(cardap.Config{APs: aps, AllowUnproven: true, NoRevocation: true, Revocation: &fakeRevocation{}})
	assert.ErrorIs(t, err, cardap.ErrConfig)
}

func TestDecisionLogsNoUserID(t *testing.T) {
	var buf bytes.Buffer
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "SECRET-USER-7"}))
	c := newClient(t, nil, func(c *cardap.Config) {
		c.NoRevocation = true
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_, err := c.Identify(context.Background(), card)
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "accepted")
	assert.NotContains(t, buf.String(), "SECRET-USER-7")
}

func TestServeTapSlots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })
	slots := []*cardap.TapSlot{cardap.NewTapSlot("gate-1"), cardap.NewTapSlot("gate-2")}
	var (
		mu   sync.Mutex
		seen = map[string][]string{}
	)
	done := make(chan error, 1)
	go func() {
		done <- c.Serve(ctx, func(_ context.Context, tap cardap.Tap, _ cardap.Card) {
			mu.Lock()
			defer mu.Unlock()
			if tap.Err != nil {
				seen[tap.Slot] = append(seen[tap.Slot], tap.Reason().String())
				return
			}
			seen[tap.Slot] = append(seen[tap.Slot], tap.Identity.UserID)
		}, slots[0], slots[1])
	}()
	var wg sync.WaitGroup
	for i, s := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 3 {
				card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: strings.Repeat("x", i+1) + string(rune('0'+j))}))
				assert.NoError(t, s.Tap(ctx, card))
			}
			assert.NoError(t, s.Tap(ctx, mockcard.MustNew()))
			s.Close()
		}()
	}
	wg.Wait()
	require.NoError(t, <-done)
	assert.Equal(t, []string{"x0", "x1", "x2", "unknown-card"}, seen["gate-1"])
	assert.Equal(t, []string{"xx0", "xx1", "xx2", "unknown-card"}, seen["gate-2"])
	assert.ErrorIs(t, slots[0].Tap(ctx, mockcard.MustNew()), cardap.ErrSlotGone)
}

func TestServeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })
	done := make(chan error, 1)
	go func() {
		done <- c.Serve(ctx, func(context.Context, cardap.Tap, cardap.Card) {}, cardap.NewTapSlot("s"))
	}()
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not stop on cancel")
	}
}

func TestReasonStrings(t *testing.T) {
	for r := cardap.ReasonUnknown; r <= cardap.ReasonCardError; r++ {
		assert.NotContains(t, r.String(), "reason(")
		e := &cardap.Error{Reason: r}
		if r != cardap.ReasonUnknown {
			assert.Equal(t, r, cardap.ReasonOf(e))
		}
	}
	assert.Equal(t, "reason(99)", cardap.Reason(99).String())
	assert.Equal(t, cardap.ReasonCardError, cardap.ReasonOf(errors.New("x")))
	assert.Equal(t, cardap.ReasonUnknown, cardap.ReasonOf(nil))
}

func TestRefusalCarriesAPDUCount(t *testing.T) {
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })
	_, err := c.Identify(context.Background(), mockcard.MustNew())
	var e *cardap.Error
	require.ErrorAs(t, err, &e)
	require.NotNil(t, e.Identity)
	assert.Equal(t, 1, e.Identity.APDUs, "one SELECT answered 6A82")
	assert.True(t, e.Identity.CUID.IsZero())
	assert.NotContains(t, err.Error(), "card 0000", "no CUID is shown when none was read")
}
