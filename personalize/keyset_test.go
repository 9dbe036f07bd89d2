package personalize_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// twoSets is a terminal key store with card-key sets 1 and 2.
func twoSets() *keys.Store {
	st := keystest.Store(1)
	keystest.AddCardKeySet(st, 2)
	return st
}

// keySetOf returns the key set the card's AP announces.
func keySetOf(t *testing.T, card *mockcard.Card, typ profile.APType) int {
	t.Helper()
	v, staged, err := card.KeySet(profile.DefaultAID(typ))
	require.NoError(t, err)
	assert.Zero(t, staged, "no set left staged")
	return v
}

var apTypes = map[string]profile.APType{"A": profile.TypeA, "D": profile.TypeD}

// TestPersonalizeWritesNewestKeySet: a card loaded with key set 1,
// personalized by a terminal holding sets 1 and 2, ends with set 2 (the
// newest complete one) and announces it; a second run finds it sealed
// and changes nothing. A request naming set 1 keeps set 1.
func TestPersonalizeWritesNewestKeySet(t *testing.T) {
	ctx := context.Background()
	st := twoSets()
	for typ, apType := range apTypes {
		t.Run("Type "+typ, func(t *testing.T) {
			card := freshCard(t, keystest.Store(1))
			res, err := runs[typ](ctx, card, st)
			require.NoError(t, err)
			assert.Equal(t, 2, res.KeySet)
			assert.True(t, res.Rekeyed)
			assert.Equal(t, 2, keySetOf(t, card, apType))
			verify(t, typ, typ, card, st)
			res, err = runs[typ](ctx, card, st)
			require.NoError(t, err)
			assert.True(t, res.AlreadySealed)
			assert.Equal(t, 2, res.KeySet)
			assert.False(t, res.Rekeyed)
		})
	}
	t.Run("a configured version", func(t *testing.T) {
		card := freshCard(t, keystest.Store(1))
		r := req
		r.KeySet = 1
		res, err := personalize.TypeA(ctx, card, typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, r)
		require.NoError(t, err)
		assert.Equal(t, 1, res.KeySet)
		assert.False(t, res.Rekeyed)
		assert.Equal(t, 1, keySetOf(t, card, profile.TypeA))
	})
	t.Run("a version the terminal lacks", func(t *testing.T) {
		card := freshCard(t, keystest.Store(1))
		r := req
		r.KeySet = 3
		_, err := personalize.TypeD(ctx, card, typed.Config{Password: profile.PasswordAfterAuth, Keys: st}, r)
		var ke *profile.KeySetError
		require.ErrorAs(t, err, &ke)
		assert.Equal(t, profile.KeySetUnknown, ke.Reason)
		assert.Equal(t, 3, ke.Version)
		lc, err := card.Lifecycle(profile.DefaultAID(profile.TypeD))
		require.NoError(t, err)
		assert.Equal(t, mockcard.Personalization, lc)
		data, err := card.ReadEF(profile.DefaultAID(profile.TypeD), profile.FIDData)
		require.NoError(t, err)
		assert.Equal(t, make([]byte, len(data)), data, "nothing written")
	})
	t.Run("older than the card's", func(t *testing.T) {
		card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st, KeySet: 2}, Unsealed: true,
			Password: &mockcard.APPassword{Value: profile.Password("0000")}}))
		r := req
		r.KeySet = 1
		_, err := personalize.TypeA(ctx, card, typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, r)
		assert.ErrorIs(t, err, profile.ErrKeySetNotNewer)
	})
	t.Run("bad KeySet", func(t *testing.T) {
		r := req
		r.KeySet = 256
		_, err := personalize.TypeA(ctx, freshCard(t, st), typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, r)
		assert.ErrorIs(t, err, personalize.ErrInvalidRequest)
	})
}

// TestPersonalizeWithRekeyResumable: a personalization that rekeys the
// AP from set 1 to set 2, interrupted before and after each APDU, leaves
// a card that authenticates under set 1 or 2, and the same run again
// completes it under set 2.
func TestPersonalizeWithRekeyResumable(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive fault injection")
	}
	ctx := context.Background()
	st := twoSets()
	for typ, apType := range apTypes {
		card := freshCard(t, keystest.Store(1))
		card.ResetStats()
		_, err := runs[typ](ctx, card, st)
		require.NoError(t, err)
		n := card.Stats().APDUs
		for i := 1; i <= n; i++ {
			for _, f := range []mockcard.Fault{mockcard.RemoveBefore(i), mockcard.RemoveAfter(i)} {
				label := fmt.Sprintf("Type %s, %v at APDU %d of %d", typ, f.Kind, i, n)
				card := freshCard(t, keystest.Store(1))
				require.NoError(t, card.Inject(f))
				_, err := runs[typ](ctx, card, st)
				require.Error(t, err, label)
				card.Insert()
				v, _, err := card.KeySet(profile.DefaultAID(apType))
				require.NoError(t, err)
				require.Contains(t, []int{1, 2}, v, label)
				res, err := runs[typ](ctx, card, st)
				require.NoError(t, err, label)
				require.Equal(t, 2, res.KeySet, label)
				require.Equal(t, 2, keySetOf(t, card, apType), label)
				verify(t, label, typ, card, st)
			}
		}
		t.Logf("Type %s with a rekey: %d APDUs", typ, n)
	}
}

// TestRekeySealedAPs: RekeyTypeA and RekeyTypeD rotate a sealed AP from
// set 1 to set 2 (the newest, or the one asked for), keep its data,
// report AlreadyDone when run again, and refuse to go back.
func TestRekeySealedAPs(t *testing.T) {
	ctx := context.Background()
	st := twoSets()
	card := freshCard(t, keystest.Store(1))
	for _, typ := range []string{"A", "D"} {
		_, err := runs[typ](ctx, card, keystest.Store(1))
		require.NoError(t, err)
	}
	rekeys := map[string]func(opts personalize.RekeyOptions) (personalize.RekeyResult, error){
		"A": func(opts personalize.RekeyOptions) (personalize.RekeyResult, error) {
			return personalize.RekeyTypeA(ctx, card, typea.Config{Keys: st, Password: profile.PasswordAfterAuth}, opts)
		},
		"D": func(opts personalize.RekeyOptions) (personalize.RekeyResult, error) {
			return personalize.RekeyTypeD(ctx, card, typed.Config{Keys: st, Password: profile.PasswordAfterAuth}, opts)
		},
	}
	for typ, rk := range rekeys {
		card.ResetStats()
		res, err := rk(personalize.RekeyOptions{})
		require.NoError(t, err, typ)
		assert.Equal(t, 1, res.From)
		assert.Equal(t, 2, res.To)
		assert.False(t, res.AlreadyDone)
		assert.False(t, res.CUID.IsZero())
		t.Logf("rekey Type %s: %d APDUs", typ, card.Stats().APDUs)
		assert.Equal(t, 8, card.Stats().APDUs, "SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE, PUT DATA C3, PUT DATA C1, SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE")
		verify(t, typ, typ, card, st)

		res, err = rk(personalize.RekeyOptions{To: 2})
		require.NoError(t, err)
		assert.True(t, res.AlreadyDone)
		_, err = rk(personalize.RekeyOptions{To: 1})
		assert.ErrorIs(t, err, profile.ErrKeySetNotNewer)
		_, err = rk(personalize.RekeyOptions{To: 300})
		assert.ErrorIs(t, err, personalize.ErrInvalidRequest)
	}
	// A terminal that retired set 1 reads both.
	_, err := typea.Read(ctx, card, typea.Config{Keys: st, Password: profile.PasswordAfterAuth, KeySets: profile.KeySetPolicy{Min: 2}}, req.Password)
	require.NoError(t, err)
}
