//go:build cgo

package pkcs11_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// TestRotationInTokenRekeysCard: the card-key sets of docs/PROTOCOL.md
// (set n uses master version n) with the masters only in the token. A
// card personalized from the token's set 1; the set is rotated inside the
// token (version 2 generated there, as `cardap keys rotate --prefix
// typea-` does); the card is rekeyed to set n+1 with card keys the token
// derived; it then reads with the token and is refused by a terminal
// holding set 1 only.
func TestRotationInTokenRekeysCard(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	hsm := openHSM(t, 0)
	names := []string{"typea-auth-enc", "typea-auth-mac", "typea-update-enc", "typea-update-mac", "typea-admin-enc", "typea-admin-mac"}
	importStore(t, hsm, st, names...)
	pw := profile.Password("2468")
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st},
		Password: &mockcard.APPassword{Value: profile.Password("0000")}, Unsealed: true}))
	cfg := typea.Config{Keys: hsm, Password: profile.PasswordAfterAuth}
	// The newest set on the token (1, or more when this test ran before
	// in the process: -count).
	cur, err := keys.NewestCompleteSet(ctx, hsm, names)
	require.NoError(t, err)
	require.GreaterOrEqual(t, cur, 1)
	_, err = personalize.TypeA(ctx, card, cfg, personalize.Request{Identity: profile.Identity{UserID: "ROT-1"}, Password: pw})
	require.NoError(t, err)

	for _, n := range names {
		require.NoError(t, hsm.Generate(ctx, keys.KeyRef{Name: n, Version: cur + 1}, keys.AES, 16))
	}
	res, err := personalize.RekeyTypeA(ctx, card, cfg, personalize.RekeyOptions{})
	require.NoError(t, err)
	assert.Equal(t, cur, res.From)
	assert.Equal(t, cur+1, res.To)

	got, err := typea.Read(ctx, card, cfg, pw)
	require.NoError(t, err)
	assert.Equal(t, "ROT-1", got.Identity.UserID)
	_, err = typea.Read(ctx, card, typea.Config{Keys: st, Password: profile.PasswordAfterAuth}, pw)
	assert.ErrorIs(t, err, profile.ErrKeySet, "a terminal with set 1 only refuses the rekeyed card")
}
