package cardap_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/typea"
)

var (
	cuidValid   = profile.CUID{0xC0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0x01}
	cuidRevoked = profile.CUID{0xC0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0x02}
)

func cardWithCUID(user string, cuid profile.CUID) *mockcard.Card {
	return mockcard.MustNew(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: user}, CUID: cuid}))
}

// openStore opens a revocation store in a temporary directory whose clock
// reads now, holding a full list as of asOf (none when asOf is zero) with
// the given CUIDs revoked as lost.
func openStore(t *testing.T, now, asOf time.Time, policy revocation.Policy, revoked ...profile.CUID) *revocation.Store {
	t.Helper()
	s, err := revocation.Open(t.TempDir(), revocation.Options{
		Policy: policy,
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	if !asOf.IsZero() {
		u := &revocation.Update{Full: true, Seq: 1, AsOf: asOf}
		for _, c := range revoked {
			u.Add = append(u.Add, revocation.Record{Key: revocation.CUIDKey(c), RevokedAt: asOf.Add(-time.Hour).Unix(), Reason: revocation.ReasonLost})
		}
		require.NoError(t, s.Apply(context.Background(), u))
	}
	return s
}

func TestRevocationStore(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		asOf    time.Time // zero: never synced
		policy  revocation.Policy
		card    *mockcard.Card
		want    error // nil: accepted
		reason  string
		status  cardap.RevocationStatus // of a revoked card: the refusal's structured status
		warning bool
		age     time.Duration
	}{
		{name: "not revoked, fresh list", asOf: day.Add(-3 * time.Hour), card: cardWithCUID("U-1", cuidValid), age: 3 * time.Hour},
		{name: "revoked, fresh list", asOf: day.Add(-3 * time.Hour), card: cardWithCUID("U-2", cuidRevoked), want: cardap.ErrRevoked, reason: "lost (delivered list)", age: 3 * time.Hour,
			status: cardap.RevocationStatus{Revoked: true, Reason: revocation.ReasonLost, Source: revocation.OriginDelivered, RevokedAt: day.Add(-4 * time.Hour), Age: 3 * time.Hour}},
		{name: "list just within 48 h", asOf: day.Add(-48 * time.Hour), card: cardWithCUID("U-1", cuidValid), age: 48 * time.Hour},
		{name: "stale list: fail closed", asOf: day.Add(-49 * time.Hour), card: cardWithCUID("U-1", cuidValid), want: cardap.ErrRevocationUnknown, age: 49 * time.Hour},
		{name: "stale list still refuses a revoked card", asOf: day.Add(-49 * time.Hour), card: cardWithCUID("U-2", cuidRevoked), want: cardap.ErrRevoked, reason: "lost (delivered list)", age: 49 * time.Hour,
			status: cardap.RevocationStatus{Revoked: true, Reason: revocation.ReasonLost, Source: revocation.OriginDelivered, RevokedAt: day.Add(-50 * time.Hour), Age: 49 * time.Hour}},
		{name: "custom MaxAge", asOf: day.Add(-25 * time.Hour), policy: revocation.Policy{MaxAge: 24 * time.Hour}, card: cardWithCUID("U-1", cuidValid), want: cardap.ErrRevocationUnknown, age: 25 * time.Hour},
		{name: "stale list allowed with a warning", asOf: day.Add(-72 * time.Hour), policy: revocation.Policy{AllowStale: true}, card: cardWithCUID("U-1", cuidValid), warning: true, age: 72 * time.Hour},
		{name: "never synced: fail closed", card: cardWithCUID("U-1", cuidValid), want: cardap.ErrRevocationUnknown, age: time.Duration(1<<63 - 1)},
		{name: "never synced: refused even with AllowStale", policy: revocation.Policy{AllowStale: true}, card: cardWithCUID("U-1", cuidValid), want: cardap.ErrRevocationUnknown, age: time.Duration(1<<63 - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := openStore(t, day, tt.asOf, tt.policy, cuidRevoked)
			c := newClient(t, cardap.RevocationStore(store), nil)
			id, err := c.Identify(ctx, tt.card)
			if tt.want == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.age, id.RevocationListAge)
				if tt.warning {
					assert.Contains(t, id.RevocationWarning, "accepted by policy")
				} else {
					assert.Empty(t, id.RevocationWarning)
				}
				return
			}
			require.ErrorIs(t, err, tt.want)
			var e *cardap.Error
			require.ErrorAs(t, err, &e)
			require.NotNil(t, e.Identity, "the CUID read is kept in the refusal")
			assert.Equal(t, tt.age, e.Identity.RevocationListAge)
			if tt.reason != "" {
				assert.Contains(t, err.Error(), tt.reason)
			}
			if tt.status.Revoked {
				require.NotNil(t, e.Revocation, "a revocation refusal carries its status")
				assert.Equal(t, tt.status, *e.Revocation)
			} else {
				assert.Nil(t, e.Revocation, "only a revocation refusal carries a status")
			}
			if errors.Is(tt.want, cardap.ErrRevocationUnknown) {
				assert.ErrorIs(t, err, revocation.ErrStale, "the store's cause is kept")
			}
		})
	}
}

// A local stop made in the store refuses the card from the very next
// Identify; lifting it accepts the card again.
func TestRevocationStoreLocalStop(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, day, day.Add(-time.Hour), revocation.Policy{})
	c := newClient(t, cardap.RevocationStore(store), nil)
	card := cardWithCUID("U-STOP", cuidValid)

	_, err := c.Identify(ctx, card)
	require.NoError(t, err)

	key := revocation.CUIDKey(cuidValid)
	require.NoError(t, store.Stop(ctx, key, revocation.StopOptions{Reason: revocation.ReasonStolen, By: "desk-3", Why: "holder called: stolen"}))
	_, err = c.Identify(ctx, card)
	require.ErrorIs(t, err, cardap.ErrRevoked)
	assert.Contains(t, err.Error(), "stolen (local stop)")
	assert.NotContains(t, err.Error(), "desk-3", "who stopped it stays in the store's journal")
	var e *cardap.Error
	require.ErrorAs(t, err, &e)
	require.NotNil(t, e.Revocation)
	st := *e.Revocation
	assert.Equal(t, revocation.ReasonStolen, st.Reason)
	assert.Equal(t, revocation.OriginLocalStop, st.Source)
	assert.Equal(t, day, st.RevokedAt, "a local stop is dated by the store's clock")

	require.NoError(t, store.Unstop(ctx, key, revocation.UnstopOptions{By: "desk-3", Why: "card found"}))
	_, err = c.Identify(ctx, card)
	require.NoError(t, err)
}

// Local stops from another goroutine are seen by concurrent checks (run
// with -race).
func TestRevocationStoreConcurrentStop(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, day, day.Add(-time.Hour), revocation.Policy{})
	chk := cardap.RevocationStore(store)
	done := make(chan struct{})
	go func() {
		defer close(done)
		assert.NoError(t, store.Stop(ctx, revocation.CUIDKey(cuidRevoked), revocation.StopOptions{Reason: revocation.ReasonLost, By: "ops", Why: "urgent"}))
	}()
	for range 100 {
		st, err := chk.CheckCUID(ctx, cuidValid)
		require.NoError(t, err)
		assert.False(t, st.Revoked)
	}
	<-done
	st, err := chk.CheckCUID(ctx, cuidRevoked)
	require.NoError(t, err)
	assert.True(t, st.Revoked)
}

func TestRevocationStoreErrors(t *testing.T) {
	_, err := cardap.RevocationStore(nil).CheckCUID(context.Background(), cuidValid)
	require.ErrorIs(t, err, cardap.ErrConfig)
	_, err = cardap.New(cardap.Config{APs: []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})}, AllowUnproven: true,
		Revocation: cardap.RevocationStore(nil)})
	require.ErrorIs(t, err, cardap.ErrConfig, "a nil store is refused at construction, not at every tap")
	assert.ErrorContains(t, err, "Revocation")

	store := openStore(t, day, day.Add(-time.Hour), revocation.Policy{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = cardap.RevocationStore(store).CheckCUID(ctx, cuidValid)
	require.ErrorIs(t, err, context.Canceled)
}

// A gate checks every card against the local revocation store; the list's
// freshness policy (48 h by default) is the store's.
func ExampleRevocationStore() {
	dir, err := os.MkdirTemp("", "revocation-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store, err := revocation.Open(dir, revocation.Options{Now: clock})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	lost := profile.CUID{0xC0, 0xFF, 0xEE, 15: 0x01}
	// Normally a feed.Syncer applies the daily delivery.
	_ = store.Apply(context.Background(), &revocation.Update{
		Full: true, Seq: 1, AsOf: now.Add(-6 * time.Hour),
		Add: []revocation.Record{{Key: revocation.CUIDKey(lost), RevokedAt: now.Add(-7 * time.Hour).Unix(), Reason: revocation.ReasonLost}},
	})

	operatorKeys := keystest.Store(1) // in production: keys.LoadFile("keys.json")
	client, err := cardap.New(cardap.Config{
		APs:        []cardap.AP{cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: operatorKeys, Password: profile.PasswordNone}})},
		Revocation: cardap.RevocationStore(store), Now: clock,
	})
	if err != nil {
		panic(err)
	}
	employee := func(user string, cuid profile.CUID) *mockcard.Card {
		return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: user}, CUID: cuid,
			Keys: mockcard.APKeys{Masters: operatorKeys}}))
	}
	for _, card := range []*mockcard.Card{employee("EMP-1", profile.CUID{0xC0, 15: 0x02}), employee("EMP-2", lost)} {
		id, err := client.Identify(context.Background(), card)
		if err != nil {
			fmt.Println("refused:", cardap.ReasonOf(err))
			continue
		}
		fmt.Printf("open for %s (list %s old)\n", id.UserID, id.RevocationListAge)
	}
	// Output:
	// open for EMP-1 (list 6h0m0s old)
	// refused: revoked
}
