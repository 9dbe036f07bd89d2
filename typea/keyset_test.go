package typea_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// fleetCard is a personalized Type A card whose keys are key set v of
// masters (announced in its FCI unless silent), with a transcript.
func fleetCard(t *testing.T, masters keys.Provider, v int, silent bool) (*mockcard.Card, *mockcard.Transcript) {
	t.Helper()
	tr := &mockcard.Transcript{}
	c, err := mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: testID, Keys: mockcard.APKeys{Masters: masters, KeySet: v, Silent: silent}}),
		mockcard.WithTranscript(tr))
	require.NoError(t, err)
	return c, tr
}

// mutualAuths counts the MUTUAL AUTHENTICATE commands a card received:
// a refused key set must cost none (no key try spent, no version tried
// after another).
func mutualAuths(tr *mockcard.Transcript) int {
	n := 0
	for _, e := range tr.Exchanges() {
		if e.INS() == apdu.InsMutualAuthenticate {
			n++
		}
	}
	return n
}

// TestMixedFleet: one terminal holding key sets 1 and 2 reads cards of
// both sets and a card of profile 2.0 that announces nothing (read as
// set 1), each with exactly one MUTUAL AUTHENTICATE under the card's own
// set.
func TestMixedFleet(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	keystest.AddCardKeySet(st, 2)
	cfg := typea.Config{Keys: st}
	for _, tc := range []struct {
		name   string
		v      int
		silent bool
	}{{"set 1", 1, false}, {"set 2", 2, false}, {"profile 2.0 card, no version", 1, true}} {
		t.Run(tc.name, func(t *testing.T) {
			card, tr := fleetCard(t, st, tc.v, tc.silent)
			res, err := typea.Read(ctx, card, cfg, nil)
			require.NoError(t, err)
			assert.Equal(t, testID.UserID, res.Identity.UserID)
			assert.Equal(t, tc.v, res.KeySet)
			assert.Equal(t, 1, mutualAuths(tr))
			assert.Len(t, tr.Exchanges(), 4, "the version costs no APDU")
		})
	}
}

// TestKeySetRefused: a key set the terminal does not take is refused
// with a *profile.KeySetError naming the version and the reason, after
// the SELECT and before any MUTUAL AUTHENTICATE.
func TestKeySetRefused(t *testing.T) {
	ctx := context.Background()
	both := keystest.Store(1)
	keystest.AddCardKeySet(both, 2)
	// The reported bug: typea-auth-enc v2 present, typea-auth-mac only
	// v1. The host must not authenticate with enc v2 + mac v1.
	mixed := keystest.Store(1)
	k, err := keys.NewKey(keys.AES, make([]byte, 16))
	require.NoError(t, err)
	require.NoError(t, mixed.Add(keys.KeyRef{Name: "typea-auth-enc", Version: 2}, k))

	for _, tc := range []struct {
		name     string
		cardSet  int
		silent   bool
		terminal keys.Provider
		policy   profile.KeySetPolicy
		reason   profile.KeySetReason
		dflt     bool
		missing  []string
	}{
		{"v1 retired", 1, false, both, profile.KeySetPolicy{Min: 2}, profile.KeySetRetired, false, nil},
		{"silent card retired with v1", 1, true, both, profile.KeySetPolicy{Min: 2}, profile.KeySetRetired, true, nil},
		{"not in the accepted list", 2, false, both, profile.KeySetPolicy{Accepted: []int{1}}, profile.KeySetNotAccepted, false, nil},
		{"a version the terminal has no keys of", 3, false, both, profile.KeySetPolicy{}, profile.KeySetUnknown, false, nil},
		{"set 2 incomplete: enc v2 without mac v2", 2, false, mixed, profile.KeySetPolicy{}, profile.KeySetIncomplete, false, []string{"typea-auth-mac v2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			masters := both
			if tc.cardSet == 3 {
				masters = keystest.Store(1)
				keystest.AddCardKeySet(masters, 3)
			}
			card, tr := fleetCard(t, masters, tc.cardSet, tc.silent)
			cuid := mustCUID(t, card)
			_, err := typea.Read(ctx, card, typea.Config{Keys: tc.terminal, KeySets: tc.policy}, nil)
			var ke *profile.KeySetError
			require.ErrorAs(t, err, &ke)
			assert.ErrorIs(t, err, profile.ErrKeySet)
			assert.Equal(t, tc.reason, ke.Reason)
			assert.Equal(t, tc.cardSet, ke.Version)
			assert.Equal(t, tc.dflt, ke.Default)
			assert.Equal(t, tc.missing, ke.Missing)
			assert.Equal(t, cuid, ke.CUID)
			assert.Contains(t, err.Error(), "card-key set")
			assert.Zero(t, mutualAuths(tr), "refused before any MUTUAL AUTHENTICATE")
			assert.Len(t, tr.Exchanges(), 1, "only the SELECT")
		})
	}
}

// TestKeySetIncompleteWithoutListing: a key provider that cannot list
// versions is checked when the key is derived: still no mix, still
// before MUTUAL AUTHENTICATE.
func TestKeySetIncompleteWithoutListing(t *testing.T) {
	ctx := context.Background()
	cardKeys := keystest.Store(1)
	keystest.AddCardKeySet(cardKeys, 2)
	mixed := keystest.Store(1)
	k, err := keys.NewKey(keys.AES, make([]byte, 16))
	require.NoError(t, err)
	require.NoError(t, mixed.Add(keys.KeyRef{Name: "typea-auth-enc", Version: 2}, k))
	card, tr := fleetCard(t, cardKeys, 2, false)
	_, err = typea.Read(ctx, card, typea.Config{Keys: noList{mixed}}, nil)
	var ke *profile.KeySetError
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, profile.KeySetIncomplete, ke.Reason)
	assert.Equal(t, []string{"typea-auth-mac v2"}, ke.Missing)
	assert.Zero(t, mutualAuths(tr))
}

// noList hides a Store's VersionLister.
type noList struct{ keys.Provider }

// TestCardKeyVersionPinnedIsConfigError: a CardKey naming a version
// would mix key sets; the version is the card's.
func TestCardKeyVersionPinnedIsConfigError(t *testing.T) {
	k := typea.DefaultKey(typea.KeyRefRead)
	k.Mac.Version = 1
	err := typea.Config{Keys: keystest.Store(1), ReadKey: k}.Validate()
	assert.ErrorIs(t, err, typea.ErrConfig)
	assert.Contains(t, err.Error(), "ReadKey")
	err = typea.Config{Keys: keystest.Store(1), KeySets: profile.KeySetPolicy{Min: 300}}.Validate()
	assert.ErrorIs(t, err, typea.ErrConfig)
	assert.Contains(t, err.Error(), "KeySets")
}

func mustCUID(t *testing.T, c *mockcard.Card) profile.CUID {
	t.Helper()
	b, err := c.ReadEF(profile.DefaultAID(profile.TypeA), profile.FIDCUID)
	require.NoError(t, err)
	cuid, err := profile.CUIDFromBytes(b)
	require.NoError(t, err)
	return cuid
}
