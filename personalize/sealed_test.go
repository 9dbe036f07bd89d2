package personalize_test

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
	"github.com/mynacard/freespace/typed"
)

// personalizeAs runs the personalization of the Type A or D AP of card for
// userID with password pw ("" for none) under the operator keys st.
func personalizeAs(card *mockcard.Card, st *keys.Store, typ, userID, pw string) (personalize.Result, error) {
	r := personalize.Request{Identity: profile.Identity{UserID: userID}, Data: []byte("data of " + userID)}
	mode := profile.PasswordNone
	if pw != "" {
		r.Password = profile.Password(pw)
		mode = profile.PasswordAfterAuth
	}
	if typ == "A" {
		return personalize.TypeA(context.Background(), card, typea.Config{Keys: st, Password: mode}, r)
	}
	return personalize.TypeD(context.Background(), card, typed.Config{Keys: st, Password: passwordModeIf(pw != "")}, r)
}

// loadedCard is a card with fresh Type A and D APs, loaded with keys
// diversified from st, with a password ("0000" as loaded) when withPW.
func loadedCard(t *testing.T, st *keys.Store, withPW bool) *mockcard.Card {
	t.Helper()
	var pw *mockcard.APPassword
	if withPW {
		pw = &mockcard.APPassword{Value: profile.Password("0000")}
	}
	card, err := mockcard.New(
		mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st}, Password: pw, Unsealed: true}),
		mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}, Password: pw, Unsealed: true}),
	)
	require.NoError(t, err)
	return card
}

// TestSealedForAnotherUserIsNotSuccess: on a card sealed for ALICE-1, a
// run for BOB-2 used to report AlreadySealed with no error, from one
// unauthenticated status word. It must fail with a typed error; only the
// same request again reports AlreadySealed.
func TestSealedForAnotherUserIsNotSuccess(t *testing.T) {
	st := keystest.Store(1)
	aid := map[string]profile.AID{"A": profile.DefaultAID(profile.TypeA), "D": profile.DefaultAID(profile.TypeD)}
	tests := []struct {
		name           string
		withPW         bool
		alicePW, bobPW string
		want           error
		triesSpent     int
	}{
		{"no password", false, "", "", personalize.ErrSealedDifferent, 0},
		{"same initial password", true, "1357", "1357", personalize.ErrSealedDifferent, 0},
		{"other password", true, "1357", "2468", personalize.ErrSealedUnverified, 1},
		{"no password in the request", true, "1357", "", personalize.ErrSealedUnverified, 0},
	}
	for _, typ := range []string{"A", "D"} {
		for _, tt := range tests {
			t.Run(typ+" "+tt.name, func(t *testing.T) {
				card := loadedCard(t, st, tt.withPW)
				res, err := personalizeAs(card, st, typ, "ALICE-1", tt.alicePW)
				require.NoError(t, err)
				require.False(t, res.AlreadySealed)
				alice := res.CUID
				var before int
				if tt.withPW {
					before, err = card.PINTriesLeft(aid[typ], mockcard.PasswordRefAP)
					require.NoError(t, err)
				}

				res, err = personalizeAs(card, st, typ, "BOB-2", tt.bobPW)
				require.ErrorIs(t, err, tt.want)
				assert.False(t, res.AlreadySealed, "a card sealed for ALICE-1 is no success for BOB-2")
				if tt.withPW {
					after, err := card.PINTriesLeft(aid[typ], mockcard.PasswordRefAP)
					require.NoError(t, err)
					assert.Equal(t, before-tt.triesSpent, after, "tries spent")
				}

				res, err = personalizeAs(card, st, typ, "ALICE-1", tt.alicePW)
				require.NoError(t, err, "the same request again")
				assert.True(t, res.AlreadySealed)
				assert.Equal(t, alice, res.CUID)
			})
		}
	}
}

// TestSealedWithAnotherOperatorsKeys: a card sealed under another
// operator's keys used to give success with a CUID the card chose. It
// must fail: the card does not authenticate with this operator's keys.
func TestSealedWithAnotherOperatorsKeys(t *testing.T) {
	ours, theirs := keystest.Store(1), keystest.StoreTDES()
	for _, typ := range []string{"A", "D"} {
		for _, withPW := range []bool{false, true} {
			card := loadedCard(t, theirs, withPW)
			pw := ""
			if withPW {
				pw = "1357"
			}
			_, err := personalizeAs(card, theirs, typ, "ALICE-1", pw)
			require.NoError(t, err, "sealed by the other operator")

			res, err := personalizeAs(card, ours, typ, "ALICE-1", pw)
			require.ErrorIs(t, err, personalize.ErrSealedNotOurs, "Type %s, password %v", typ, withPW)
			assert.False(t, res.AlreadySealed)
		}
	}
}

// TestSealedBeforeAuthMode: with the password verified before mutual
// authentication (Type A's PasswordBeforeAuth), a sealed AP is still
// authenticated first, then the password goes (after a new SELECT and
// CUID check), then the identity is compared.
func TestSealedBeforeAuthMode(t *testing.T) {
	st := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st},
		Password: &mockcard.APPassword{Value: profile.Password("0000"), BeforeAuth: true}, Unsealed: true}))
	cfg := typea.Config{Keys: st, Password: profile.PasswordBeforeAuth, AllowPasswordBeforeAuth: true}
	as := func(user, pw string) (personalize.Result, error) {
		return personalize.TypeA(context.Background(), card, cfg, personalize.Request{Identity: profile.Identity{UserID: user}, Password: profile.Password(pw)})
	}
	_, err := as("ALICE-1", "1357")
	require.NoError(t, err)
	res, err := as("ALICE-1", "1357")
	require.NoError(t, err)
	assert.True(t, res.AlreadySealed)
	_, err = as("BOB-2", "1357")
	assert.ErrorIs(t, err, personalize.ErrSealedDifferent)
	_, err = as("BOB-2", "2468")
	assert.ErrorIs(t, err, personalize.ErrSealedUnverified)
}

// passwordModeIf is profile.PasswordAfterAuth when on, else
// profile.PasswordNone.
func passwordModeIf(on bool) profile.PasswordMode {
	if on {
		return profile.PasswordAfterAuth
	}
	return profile.PasswordNone
}
