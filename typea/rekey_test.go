package typea_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/mynacard/freespace/typea"
)

// rekeyAPDUs is the APDU count of AP.Rekey on a just-selected AP: GET
// CHALLENGE, MUTUAL AUTHENTICATE (old administrative key), PUT DATA C3,
// PUT DATA C1, SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE (new key).
const rekeyAPDUs = 7

// rekey opens the AP and rekeys it to version to.
func rekey(ctx context.Context, card apdu.Transport, cfg typea.Config, to int) error {
	ap, err := typea.OpenUnauthenticated(ctx, card, cfg)
	if err != nil {
		return err
	}
	defer ap.Close()
	return ap.Rekey(ctx, to)
}

// TestRekeyedCardReadsUnderV2Only: after a rekey from set 1 to set 2 the
// card announces 2 and authenticates only with set 2: a terminal with
// set 1 alone refuses it (unknown set, before MUTUAL AUTHENTICATE), and
// a card that hid its version (read as set 1) fails mutual
// authentication under set 1's keys.
func TestRekeyedCardReadsUnderV2Only(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	keystest.AddCardKeySet(st, 2)
	card, tr := fleetCard(t, keystest.Store(1), 1, false)
	cfg := typea.Config{Keys: st}

	ap, err := typea.OpenUnauthenticated(ctx, card, cfg)
	require.NoError(t, err)
	assert.Equal(t, 1, ap.KeySet())
	before := len(tr.Exchanges())
	require.NoError(t, ap.Rekey(ctx, 2))
	assert.Equal(t, 2, ap.KeySet())
	assert.Len(t, tr.Exchanges()[before:], rekeyAPDUs)
	// The AP stays authenticated with the new administrative key.
	require.NoError(t, ap.Seal(ctx))
	require.NoError(t, ap.Close())
	active, staged, err := card.KeySet(profile.DefaultAID(profile.TypeA))
	require.NoError(t, err)
	assert.Equal(t, []int{2, 0}, []int{active, staged})

	res, err := typea.Read(ctx, card, typea.Config{Keys: st, KeySets: profile.KeySetPolicy{Min: 2}}, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, res.KeySet)

	_, err = typea.Read(ctx, card, typea.Config{Keys: keystest.Store(1)}, nil)
	var ke *profile.KeySetError
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, profile.KeySetUnknown, ke.Reason)

	hide := &apdutest.Interceptor{Next: card, Rewrite: stripKeySet}
	_, err = typea.Read(ctx, hide, cfg, nil)
	assert.ErrorIs(t, err, secure.ErrTerminalRejected, "set 1's keys no longer open the card")
}

// stripKeySet removes C1 01 vv from the A5 template of a SELECT's FCI
// (6F L ... A5 L C1 01 vv ...): a card that hides its version, read as
// the default, 1.
func stripKeySet(e apdutest.Exchange) ([]byte, error) {
	r := e.Response
	if e.Ins() != apdu.InsSelect || len(r) < 9 || r[0] != 0x6F {
		return r, e.Err
	}
	for i := 2; i+5 <= len(r)-2; i++ {
		if r[i] == 0xA5 && r[i+2] == 0xC1 && r[i+3] == 0x01 {
			out := append(append([]byte(nil), r[:i+2]...), r[i+5:]...)
			out[1] -= 3
			out[i+1] -= 3
			return out, e.Err
		}
	}
	return r, e.Err
}

// TestRekeyRemovedAtEveryAPDU pulls the card before and after each APDU
// of a rekey. Every time the card then authenticates under the old set
// or the new one (a terminal holding both reads it), the new one exactly
// when the commit (PUT DATA C1) was executed, and running the rekey
// again completes it.
func TestRekeyRemovedAtEveryAPDU(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	keystest.AddCardKeySet(st, 2)
	cfg := typea.Config{Keys: st}
	base, _ := fleetCard(t, keystest.Store(1), 1, false)
	const commit = 5 // SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE, PUT DATA C3, PUT DATA C1
	for n := 1; n <= 1+rekeyAPDUs; n++ {
		for _, fault := range []func(int) mockcard.Fault{mockcard.RemoveBefore, mockcard.RemoveAfter} {
			f := fault(n)
			t.Run(fmt.Sprintf("%v at %d", f.Kind, n), func(t *testing.T) {
				card, err := base.Clone()
				require.NoError(t, err)
				require.NoError(t, card.Inject(f))
				err = rekey(ctx, card, cfg, 2)
				require.ErrorIs(t, err, apdu.ErrCardRemoved)
				card.Insert()

				want := 1
				if n > commit || (n == commit && f.Kind == mockcard.FaultRemoveAfter) {
					want = 2
				}
				active, _, err := card.KeySet(profile.DefaultAID(profile.TypeA))
				require.NoError(t, err)
				assert.Equal(t, want, active)
				res, err := typea.Read(ctx, card, cfg, nil)
				require.NoError(t, err, "the card authenticates under a whole set")
				assert.Equal(t, want, res.KeySet)

				if want == 1 {
					require.NoError(t, rekey(ctx, card, cfg, 2), "run again")
				} else {
					assert.ErrorIs(t, rekey(ctx, card, cfg, 2), profile.ErrKeySetNotNewer)
				}
				res, err = typea.Read(ctx, card, typea.Config{Keys: st, KeySets: profile.KeySetPolicy{Min: 2}}, nil)
				require.NoError(t, err)
				assert.Equal(t, 2, res.KeySet)
			})
		}
	}
}

// TestRekeyRefusedBeforeAnyAPDU: a new set that is incomplete, not
// newer, not accepted, of the wrong key length, or equal to the current
// one is refused before the card is touched beyond the SELECT.
func TestRekeyRefusedBeforeAnyAPDU(t *testing.T) {
	ctx := context.Background()
	withV2 := keystest.Store(1)
	keystest.AddCardKeySet(withV2, 2)
	incomplete := keystest.Store(1)
	k16, err := keys.NewKey(keys.AES, make([]byte, 16))
	require.NoError(t, err)
	require.NoError(t, incomplete.Add(keys.KeyRef{Name: "typea-auth-enc", Version: 2}, k16))
	long := keystest.Store(1)
	keystest.AddCardKeySet(long, 2)
	k32, err := keys.NewKey(keys.AES, make([]byte, 32))
	require.NoError(t, err)
	require.NoError(t, long.Add(keys.KeyRef{Name: "typea-update-mac", Version: 2}, k32))
	copied := keystest.Store(1)
	for _, n := range keys.SetKeys([]keys.CardKey{typea.DefaultKey(1), typea.DefaultKey(2), typea.DefaultKey(3)}) {
		k, err := copied.Key(ctx, keys.KeyRef{Name: n, Version: 1})
		require.NoError(t, err)
		require.NoError(t, copied.Add(keys.KeyRef{Name: n, Version: 2}, k))
	}
	for _, tc := range []struct {
		name string
		cfg  typea.Config
		to   int
		is   error
	}{
		{"not newer", typea.Config{Keys: withV2}, 1, profile.ErrKeySetNotNewer},
		{"out of range", typea.Config{Keys: withV2}, 256, profile.ErrKeySetNotNewer},
		{"incomplete", typea.Config{Keys: incomplete}, 2, profile.ErrKeySet},
		{"unknown", typea.Config{Keys: withV2}, 3, profile.ErrKeySet},
		{"not accepted by the policy", typea.Config{Keys: withV2, KeySets: profile.KeySetPolicy{Accepted: []int{1}}}, 2, profile.ErrKeySet},
		{"wrong key length", typea.Config{Keys: long}, 2, keys.ErrInvalidKey},
		{"same master bytes as set 1", typea.Config{Keys: copied}, 2, keys.ErrInvalidKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card, tr := fleetCard(t, keystest.Store(1), 1, false)
			err := rekey(ctx, card, tc.cfg, tc.to)
			require.ErrorIs(t, err, tc.is)
			assert.Len(t, tr.Exchanges(), 1, "only the SELECT")
			active, staged, err := card.KeySet(profile.DefaultAID(profile.TypeA))
			require.NoError(t, err)
			assert.Equal(t, []int{1, 0}, []int{active, staged})
		})
	}
}

// suiteStore holds master keys of every Type A name for sets 1..sets,
// of alg and n bytes (distinct per name and set).
func suiteStore(t *testing.T, alg keys.Algorithm, n, sets int) *keys.Store {
	t.Helper()
	st := keys.NewStore()
	for v := 1; v <= sets; v++ {
		for i, name := range keys.SetKeys([]keys.CardKey{typea.DefaultKey(1), typea.DefaultKey(2), typea.DefaultKey(3)}) {
			b := make([]byte, n)
			for j := range b {
				b[j] = byte(v*31 + i*7 + j)
			}
			k, err := keys.NewKey(alg, b)
			require.NoError(t, err)
			require.NoError(t, st.Add(keys.KeyRef{Name: name, Version: v}, k))
		}
	}
	return st
}

// TestRekeyEverySuiteShortAPDUs: the staged set fits one short protected
// APDU in every suite (AES-256: 222 bytes of the 223 allowed), on a card
// without extended length.
func TestRekeyEverySuiteShortAPDUs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		suite secure.Suite
		alg   keys.Algorithm
	}{{secure.TDES, keys.TDES}, {secure.AES128, keys.AES}, {secure.AES192, keys.AES}, {secure.AES256, keys.AES}} {
		t.Run(tc.suite.Name(), func(t *testing.T) {
			n := tc.suite.KeyLen()
			card, err := mockcard.New(mockcard.WithExtendedLength(false),
				mockcard.WithTypeA(mockcard.TypeA{Identity: testID, Keys: mockcard.APKeys{Suite: tc.suite.Name(), Masters: suiteStore(t, tc.alg, n, 1)}}))
			require.NoError(t, err)
			cfg := typea.Config{Suite: tc.suite, Keys: suiteStore(t, tc.alg, n, 2)}
			require.NoError(t, rekey(ctx, card, cfg, 2))
			cfg.KeySets = profile.KeySetPolicy{Min: 2}
			res, err := typea.Read(ctx, card, cfg, nil)
			require.NoError(t, err)
			assert.Equal(t, 2, res.KeySet)
		})
	}
}

// TestRekeySilentCard: a card that announces no key set (read as set 1)
// is rekeyed from set 1 and announces its new set afterwards.
func TestRekeySilentCard(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	keystest.AddCardKeySet(st, 2)
	card, _ := fleetCard(t, keystest.Store(1), 1, true)
	ap, err := typea.OpenUnauthenticated(ctx, card, typea.Config{Keys: st})
	require.NoError(t, err)
	assert.Equal(t, 1, ap.KeySet())
	require.NoError(t, ap.Rekey(ctx, 2))
	require.NoError(t, ap.Close())
	res, err := typea.Read(ctx, card, typea.Config{Keys: st, KeySets: profile.KeySetPolicy{Accepted: []int{2}}}, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, res.KeySet)
}
