package cardap_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynacard/freespace/internal/testsupport/sealedcard"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// TestRevokedCardRefusedBeforePrompt: a card with a password whose CUID is
// revoked (or whose status the list cannot decide) is refused as soon as
// its CUID is known: the holder is never asked for the password and no
// password reaches the card (no try spent). A card not on the list is
// asked once and accepted.
func TestRevokedCardRefusedBeforePrompt(t *testing.T) {
	ks := keystest.Store(1)
	newA := func() *mockcard.Card {
		return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U-A"},
			Keys: mockcard.APKeys{Masters: ks}, Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
	}
	newD := func() *mockcard.Card { return sealedcard.TypeD(t, profile.Identity{UserID: "U-D"}, "1234") }
	stale := errors.New("list too old")
	for _, tc := range []struct {
		name string
		typ  profile.APType
		card func() *mockcard.Card
	}{
		{"Type A", profile.TypeA, newA},
		{"Type D", profile.TypeD, newD},
	} {
		aid := profile.DefaultAID(tc.typ)
		ref := byte(mockcard.PasswordRefAP)
		if tc.typ == profile.TypeD {
			ref = 0x81
		}
		for _, st := range []struct {
			name   string
			rev    func(cuid profile.CUID) cardap.RevocationChecker
			reason cardap.Reason
		}{
			{"revoked", func(c profile.CUID) cardap.RevocationChecker {
				return &fakeRevocation{revoked: map[profile.CUID]revocation.Reason{c: revocation.ReasonStolen}, age: 2 * time.Hour}
			}, cardap.ReasonRevoked},
			{"list cannot decide", func(profile.CUID) cardap.RevocationChecker { return &fakeRevocation{err: stale} }, cardap.ReasonRevocationUnknown},
			{"not revoked", func(profile.CUID) cardap.RevocationChecker { return &fakeRevocation{age: 2 * time.Hour} }, cardap.ReasonUnknown},
		} {
			t.Run(tc.name+"/"+st.name, func(t *testing.T) {
				card := tc.card()
				cuid, err := card.CUID(aid)
				require.NoError(t, err)
				before, err := card.PINTriesLeft(aid, ref)
				require.NoError(t, err)
				var asked atomic.Int32
				prompt := func(context.Context, cardap.PasswordRequest) (profile.Password, error) {
					asked.Add(1)
					return profile.Password("0000"), nil // wrong: a try would be spent
				}
				if st.reason == cardap.ReasonUnknown {
					prompt = func(context.Context, cardap.PasswordRequest) (profile.Password, error) {
						asked.Add(1)
						return profile.Password("1234"), nil
					}
				}
				var ap cardap.AP
				if tc.typ == profile.TypeA {
					ap = cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: prompt})
				} else {
					ap = cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: prompt})
				}
				c := newClient(t, st.rev(cuid), func(c *cardap.Config) { c.APs = []cardap.AP{ap} })
				id, err := c.Identify(context.Background(), card)
				if st.reason == cardap.ReasonUnknown {
					require.NoError(t, err)
					assert.Equal(t, cuid, id.CUID)
					assert.EqualValues(t, 1, asked.Load())
					return
				}
				require.Error(t, err)
				assert.Equal(t, st.reason, cardap.ReasonOf(err), "%v", err)
				assert.Zero(t, asked.Load(), "the holder was asked for the password of a refused card")
				after, err2 := card.PINTriesLeft(aid, ref)
				require.NoError(t, err2)
				assert.Equal(t, before, after, "no try spent")
				var e *cardap.Error
				require.ErrorAs(t, err, &e)
				require.NotNil(t, e.Identity)
				assert.Equal(t, cuid, e.Identity.CUID)
				assert.Equal(t, tc.typ, e.Identity.AP)
				assert.Positive(t, e.Identity.APDUs)
				if st.reason == cardap.ReasonRevoked {
					assert.Equal(t, 2*time.Hour, e.Identity.RevocationListAge)
					assert.Contains(t, err.Error(), "stolen")
				} else {
					assert.ErrorIs(t, err, stale)
				}
			})
		}
	}
}
