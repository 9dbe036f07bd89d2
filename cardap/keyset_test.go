package cardap_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// TestIdentifyMixedFleetAndRetiredKeySet: one client reads Type A and
// Type D cards of key sets 1 and 2 and reports the set in the Proof;
// with set 1 retired (KeySets.Min = 2) the set-1 cards are refused with
// ReasonKeySet, naming the card, the version and the reason.
func TestIdentifyMixedFleetAndRetiredKeySet(t *testing.T) {
	ctx := context.Background()
	ks := keystest.Store(1)
	keystest.AddCardKeySet(ks, 2)
	alice := profile.Identity{UserID: "EMP-A"}
	cards := map[string]func(v int) *mockcard.Card{
		"A": func(v int) *mockcard.Card {
			return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: alice, Keys: mockcard.APKeys{Masters: ks, KeySet: v}}))
		},
		"D": func(v int) *mockcard.Card {
			c := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: ks, KeySet: v}}))
			ap, err := typed.Open(ctx, c, typed.Config{Keys: ks}, nil)
			require.NoError(t, err)
			require.NoError(t, ap.Write(ctx, typed.Content{Identity: alice}, typed.WriteOptions{}))
			require.NoError(t, ap.Close())
			return c
		},
	}
	client := func(policy profile.KeySetPolicy) *cardap.Client {
		return newClient(t, nil, func(c *cardap.Config) {
			c.NoRevocation = true
			c.APs = []cardap.AP{
				cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, KeySets: policy}}),
				cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, KeySets: policy}}),
			}
		})
	}
	for typ, mk := range cards {
		for _, v := range []int{1, 2} {
			t.Run(fmt.Sprintf("type %s set %d", typ, v), func(t *testing.T) {
				card := mk(v)
				id, err := client(profile.KeySetPolicy{}).Identify(ctx, card)
				require.NoError(t, err)
				assert.Equal(t, v, id.Proof.KeySet)
				assert.Equal(t, "EMP-A", id.UserID)

				_, err = client(profile.KeySetPolicy{Min: 2}).Identify(ctx, card)
				if v == 2 {
					require.NoError(t, err)
					return
				}
				require.Error(t, err)
				assert.Equal(t, cardap.ReasonKeySet, cardap.ReasonOf(err))
				assert.ErrorIs(t, err, profile.ErrKeySet)
				var ke *profile.KeySetError
				require.ErrorAs(t, err, &ke)
				assert.Equal(t, profile.KeySetRetired, ke.Reason)
				cuid, cerr := card.CUID(ke.AID)
				require.NoError(t, cerr)
				assert.Contains(t, err.Error(), "(card "+cuid.String()+")")
				assert.Contains(t, err.Error(), "card-key set 1 of AP")
				assert.Contains(t, err.Error(), "retired")
				assert.Equal(t, 1, strings.Count(err.Error(), "cardap:"), "%v", err)
				assert.Equal(t, "key-set", cardap.ReasonKeySet.String())
			})
		}
	}
}
