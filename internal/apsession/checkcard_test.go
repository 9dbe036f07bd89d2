package apsession_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
)

// TestCheckCardInsideTheSelectingTransaction: CheckCard sends nothing
// when the AP was selected in the transaction the caller still holds
// (the same card answered that SELECT), and selects again with a CUID
// check in a later transaction or after an authentication.
func TestCheckCardInsideTheSelectingTransaction(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	cfg := apsession.Config{AID: profile.DefaultAID(profile.TypeA), Suite: secure.AES128, Keys: st, CUIDSFI: 1}
	newCard := func(user string) *mockcard.Card {
		return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: user}, Keys: mockcard.APKeys{Masters: st}}))
	}
	t.Run("same transaction", func(t *testing.T) {
		card := newCard("U-1")
		err := apsession.WithTransaction(ctx, card, func(ctx context.Context) error {
			s, err := apsession.Open(ctx, card, cfg)
			require.NoError(t, err)
			card.ResetStats()
			require.NoError(t, s.CheckCard(ctx))
			assert.Zero(t, card.Stats().APDUs, "selected in this transaction")
			return nil
		})
		require.NoError(t, err)
	})
	t.Run("later transaction", func(t *testing.T) {
		card, other := newCard("U-1"), newCard("U-2")
		sw := &apdutest.Interceptor{Next: card}
		var s *apsession.Session
		require.NoError(t, apsession.WithTransaction(ctx, sw, func(ctx context.Context) error {
			var err error
			s, err = apsession.Open(ctx, sw, cfg)
			return err
		}))
		sw.Next = other // swapped between two operations
		err := apsession.WithTransaction(ctx, sw, func(ctx context.Context) error { return s.CheckCard(ctx) })
		require.ErrorIs(t, err, apsession.ErrCardSwapped)
		assert.Equal(t, 1, other.Stats().APDUs, "the SELECT reached the other card")
	})
	t.Run("after authentication", func(t *testing.T) {
		card := newCard("U-1")
		err := apsession.WithTransaction(ctx, card, func(ctx context.Context) error {
			s, err := apsession.Open(ctx, card, cfg)
			require.NoError(t, err)
			require.NoError(t, s.Authenticate(ctx, apsession.ProfileKey("typea", 1)))
			card.ResetStats()
			require.NoError(t, s.CheckCard(ctx))
			assert.Equal(t, 1, card.Stats().APDUs, "SELECT ends the session and checks the CUID")
			assert.False(t, s.Secure())
			return nil
		})
		require.NoError(t, err)
	})
	t.Run("no transaction", func(t *testing.T) {
		card := newCard("U-1")
		s, err := apsession.Open(ctx, card, cfg)
		require.NoError(t, err)
		card.ResetStats()
		require.NoError(t, s.CheckCard(ctx))
		assert.Equal(t, 1, card.Stats().APDUs, "nothing ties the check to the SELECT")
	})
}
