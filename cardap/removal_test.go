package cardap_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/sealedcard"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

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
	pw := fixedPassword("1234")
	return []removalFlow{
		{"type C", func(*testing.T) *mockcard.Card {
			return mockcard.MustNew(mockcard.WithTypeC(id))
		}, cardap.TypeC(cardap.TypeCConfig{})},
		{"type A", func(*testing.T) *mockcard.Card {
			return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: ks}}))
		}, cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordNone}})},
		{"type A password", func(*testing.T) *mockcard.Card {
			return newTypeACard(ks, id, "1234")
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
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.APs = []cardap.AP{f.ap} })
	id, err := c.Identify(context.Background(), f.card(t))
	require.NoError(t, err)
	require.Positive(t, id.APDUs)
	return id.APDUs
}

// hostileRemoval is a transport that, at APDU k, fails with an error that
// reports the card's removal and also matches the other classifications a
// refusal could take (a malformed answer, a broken secure messaging
// response): removal must win.
type hostileRemoval struct {
	next apdu.Transport
	k, n int
}

func (h *hostileRemoval) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	h.n++
	if h.n == h.k {
		return nil, fmt.Errorf("no response bytes: %w (%w, %w)", apdu.ErrCardRemoved, apdu.ErrMalformedResponse, secure.ErrResponseMalformed)
	}
	return h.next.Transmit(ctx, cmd)
}

// TestRemovalWinsEveryAPDU: a card that leaves before or after any APDU
// of any flow, or whose transport reports the removal together with other
// errors, is refused as removed (retry), never as malformed, auth-failed
// or anything else.
func TestRemovalWinsEveryAPDU(t *testing.T) {
	for _, f := range removalFlows() {
		t.Run(f.name, func(t *testing.T) {
			n := f.apdusOf(t)
			c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.APs = []cardap.AP{f.ap} })
			for k := 1; k <= n; k++ {
				for _, how := range []string{"before", "after", "hostile"} {
					card := f.card(t)
					var tr apdu.Transport = card
					switch how {
					case "before":
						require.NoError(t, card.Inject(mockcard.RemoveBefore(k)))
					case "after":
						require.NoError(t, card.Inject(mockcard.RemoveAfter(k)))
					case "hostile":
						tr = &hostileRemoval{next: card, k: k}
					}
					_, err := c.Identify(context.Background(), tr)
					assert.Equal(t, cardap.ReasonCardRemoved, cardap.ReasonOf(err), "removed %s APDU %d of %d: %v", how, k, n, err)
					assert.ErrorIs(t, err, apdu.ErrCardRemoved, "removed %s APDU %d of %d", how, k, n)
				}
			}
		})
	}
}
