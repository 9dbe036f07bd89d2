package typed_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typed"
)

// setCard is a Type D card with content c whose keys are key set v of
// masters (silent: announced nowhere).
func setCard(t *testing.T, masters keys.Provider, v int, silent bool) *mockcard.Card {
	t.Helper()
	card, err := mockcard.New(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: masters, KeySet: v, Silent: silent}}))
	require.NoError(t, err)
	return card
}

// TestTypeDMixedFleetAndRetirement: one terminal reads Type D cards of
// key sets 1 and 2 and a card that announces none; with set 1 retired it
// refuses the set-1 cards (KeySetRetired) before MUTUAL AUTHENTICATE.
func TestTypeDMixedFleetAndRetirement(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	keystest.AddCardKeySet(st, 2)
	for _, tc := range []struct {
		v      int
		silent bool
	}{{1, false}, {2, false}, {1, true}} {
		t.Run(fmt.Sprintf("set %d silent %t", tc.v, tc.silent), func(t *testing.T) {
			card := setCard(t, st, tc.v, tc.silent)
			ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.v, ap.KeySet())
			require.NoError(t, ap.Write(ctx, content("Alice", 10), typed.WriteOptions{}))
			require.NoError(t, ap.Close())

			card.ResetStats()
			_, err = typed.Open(ctx, card, typed.Config{Keys: st, KeySets: profile.KeySetPolicy{Min: 2}}, nil)
			if tc.v == 2 {
				require.NoError(t, err)
				return
			}
			var ke *profile.KeySetError
			require.ErrorAs(t, err, &ke)
			assert.Equal(t, profile.KeySetRetired, ke.Reason)
			assert.Equal(t, 1, ke.Version)
			assert.Equal(t, tc.silent, ke.Default)
			assert.Equal(t, 1, card.Stats().APDUs, "only the SELECT")
		})
	}
}

// TestTypeDRekeyRemovedAtEveryAPDU: as for Type A, a removal at any APDU
// of a Type D rekey leaves a card that reads under set 1 or set 2 with
// its data intact, and the rekey completes when run again.
func TestTypeDRekeyRemovedAtEveryAPDU(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	keystest.AddCardKeySet(st, 2)
	cfg := typed.Config{Keys: st}
	base := setCard(t, keystest.Store(1), 1, false)
	ap, err := typed.Open(ctx, base, cfg, nil)
	require.NoError(t, err)
	want := content("Bob", 100)
	require.NoError(t, ap.Write(ctx, want, typed.WriteOptions{}))
	require.NoError(t, ap.Close())

	run := func(card apdu.Transport) error {
		ap, err := typed.OpenUnauthenticated(ctx, card, cfg)
		if err != nil {
			return err
		}
		defer ap.Close()
		return ap.Rekey(ctx, 2)
	}
	for n := 1; n <= 8; n++ {
		for _, fault := range []func(int) mockcard.Fault{mockcard.RemoveBefore, mockcard.RemoveAfter} {
			f := fault(n)
			t.Run(fmt.Sprintf("%v at %d", f.Kind, n), func(t *testing.T) {
				card, err := base.Clone()
				require.NoError(t, err)
				require.NoError(t, card.Inject(f))
				require.ErrorIs(t, run(card), apdu.ErrCardRemoved)
				card.Insert()
				ap, err := typed.Open(ctx, card, cfg, nil)
				require.NoError(t, err, "authenticates under a whole set")
				got, err := ap.Read(ctx)
				require.NoError(t, err)
				assert.Equal(t, want, got.Content)
				v := ap.KeySet()
				require.NoError(t, ap.Close())
				if v == 1 {
					require.NoError(t, run(card))
				}
				ap, err = typed.Open(ctx, card, typed.Config{Keys: st, KeySets: profile.KeySetPolicy{Accepted: []int{2}}}, nil)
				require.NoError(t, err)
				assert.Equal(t, 2, ap.KeySet())
				require.NoError(t, ap.Close())
			})
		}
	}
}
