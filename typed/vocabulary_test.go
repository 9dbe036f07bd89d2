package typed_test

import (
	"context"
	"strings"
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

// TestConfigErrorsNameTheField: every misconfiguration is an error from
// Validate, Open and OpenUnauthenticated before any APDU, wrapping
// ErrConfig, naming the field, with the package prefix once (issue 14 §3).
func TestConfigErrorsNameTheField(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	good := typed.Config{Keys: st}
	tests := []struct {
		name  string
		edit  func(*typed.Config)
		field string
	}{
		{"no key provider", func(c *typed.Config) { c.Keys = nil }, "Keys: "},
		{"update key without names", func(c *typed.Config) { c.UpdateKey = keys.CardKey{Ref: 0x12} }, "UpdateKey: "},
		{"before-auth", func(c *typed.Config) { c.Password = profile.PasswordBeforeAuth }, "Password: "},
		{"unknown password mode", func(c *typed.Config) { c.Password = profile.PasswordMode(9) }, "Password: "},
		{"data key name", func(c *typed.Config) { c.DataKey = "bad name" }, "DataKey: "},
		{"data key is a card key", func(c *typed.Config) { c.DataKey = "typed-auth-enc" }, "DataKey: "},
		{"data key version", func(c *typed.Config) { c.DataKeyVersion = -1 }, "DataKeyVersion: "},
		{"capacity", func(c *typed.Config) { c.Capacity = 10 }, "Capacity: "},
		{"CUID SFI", func(c *typed.Config) { c.CUIDSFI = 31 }, "CUIDSFI: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			card := newCard(t, st)
			_, openErr := typed.Open(ctx, card, cfg, nil)
			_, unauthErr := typed.OpenUnauthenticated(ctx, card, cfg)
			for _, err := range []error{cfg.Validate(), openErr, unauthErr} {
				require.ErrorIs(t, err, typed.ErrConfig)
				assert.Contains(t, err.Error(), "typed: invalid configuration: "+tt.field)
				assert.Equal(t, 1, strings.Count(err.Error(), "typed:"), err.Error())
			}
			assert.Zero(t, card.Stats().APDUs, "nothing sent")
		})
	}
	require.NoError(t, good.Validate())
}

// TestPasswordMethodsLikeTypeA: the password verbs and shapes of typea
// (PasswordStatus, Verify and ChangePassword with VerifyOptions,
// UnblockPassword), on a Type D AP.
func TestPasswordMethodsLikeTypeA(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st},
		Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
	ap, err := typed.OpenUnauthenticated(ctx, card, typed.Config{Keys: st, Password: profile.PasswordAfterAuth})
	require.NoError(t, err)
	defer ap.Close()
	require.NoError(t, ap.Authenticate(ctx, ap.Config().ReadKey))

	st0, err := ap.PasswordStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, profile.PasswordStatus{Remaining: 3}, st0)

	// A wrong password: the same *profile.PasswordError as typea's, which
	// still unwraps to the card's *apdu.TriesError.
	var pe *profile.PasswordError
	err = ap.Verify(ctx, profile.Password("0000"), typed.VerifyOptions{})
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 2, pe.Remaining)
	assert.Equal(t, "typed: verify password: wrong password, 2 tries left", err.Error())
	err = ap.ChangePassword(ctx, profile.Password("0000"), profile.Password("5678"), typed.VerifyOptions{})
	var te *apdu.TriesError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 1, te.Remaining)
	assert.Equal(t, "typed: change password: wrong password, 1 try left", err.Error())
	st1, err := ap.PasswordStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, "1 try left", st1.String())

	// One try left: refused on the host unless the caller allows it.
	before := card.Stats().APDUs
	err = ap.ChangePassword(ctx, profile.Password("1234"), profile.Password("5678"), typed.VerifyOptions{})
	assert.ErrorIs(t, err, typed.ErrLastTry)
	assert.Equal(t, before+1, card.Stats().APDUs, "only the status query")
	require.NoError(t, ap.ChangePassword(ctx, profile.Password("1234"), profile.Password("5678"), typed.VerifyOptions{AllowLastTry: true}))

	// The administrative key resets the counter and sets a new password.
	require.NoError(t, ap.UnblockPassword(ctx, profile.Password("2468")))
	require.NoError(t, ap.Authenticate(ctx, ap.Config().ReadKey))
	require.NoError(t, ap.Verify(ctx, profile.Password("2468"), typed.VerifyOptions{}))
	st2, err := ap.PasswordStatus(ctx)
	require.NoError(t, err)
	assert.True(t, st2.Verified)
}

// TestNoPasswordMode: with profile.PasswordNone (the zero mode) every
// password operation is ErrNoPassword, and a password given to Open never
// leaves the host.
func TestNoPasswordMode(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(t, st)
	_, err := typed.Open(ctx, card, typed.Config{Keys: st}, profile.Password("1234"))
	assert.ErrorIs(t, err, typed.ErrNoPassword)
	assert.Zero(t, card.Stats().APDUs)

	ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	defer ap.Close()
	_, err = ap.PasswordStatus(ctx)
	assert.ErrorIs(t, err, typed.ErrNoPassword)
	for _, err := range []error{
		ap.Verify(ctx, profile.Password("1234"), typed.VerifyOptions{}),
		ap.ChangePassword(ctx, profile.Password("1234"), profile.Password("5678"), typed.VerifyOptions{}),
		ap.UnblockPassword(ctx, profile.Password("5678")),
	} {
		assert.ErrorIs(t, err, typed.ErrNoPassword)
		assert.Equal(t, 1, strings.Count(err.Error(), "typed:"), err.Error())
	}
}

// TestNotPresentIsProfiles: a card without the AP matches the canonical
// profile.ErrNotPresent.
func TestNotPresentIsProfiles(t *testing.T) {
	_, err := typed.Open(context.Background(), mockcard.MustNew(), typed.Config{Keys: keystest.Store(1)}, nil)
	assert.ErrorIs(t, err, profile.ErrNotPresent)
	assert.Equal(t, 1, strings.Count(err.Error(), "typed:"), err.Error())
}

// TestZeroAPIsAClearError: the methods of a zero or nil *AP (one no Open
// returned) return an error, never panic (issue 14 §3).
func TestZeroAPIsAClearError(t *testing.T) {
	ctx := context.Background()
	for name, a := range map[string]*typed.AP{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			_, err := a.Read(ctx)
			assert.ErrorContains(t, err, "typed: read: the AP was not opened")
			assert.Error(t, a.Write(ctx, typed.Content{Identity: profile.Identity{UserID: "U"}}, typed.WriteOptions{}))
			_, _, err = a.Rotate(ctx, typed.RotateOptions{})
			assert.Error(t, err)
			_, err = a.PasswordStatus(ctx)
			assert.Error(t, err)
			assert.Error(t, a.UnblockPassword(ctx, profile.Password("1234")))
			assert.Error(t, a.Seal(ctx))
			assert.Zero(t, a.Capacity())
			assert.True(t, a.CUID().IsZero())
			assert.NoError(t, a.Close())
		})
	}
}

// TestNilTransport: Open without a transport is an error, not a panic.
func TestNilTransport(t *testing.T) {
	_, err := typed.Open(context.Background(), nil, typed.Config{Keys: keystest.Store(1)}, nil)
	assert.ErrorContains(t, err, "typed: open: nil transport")
}
