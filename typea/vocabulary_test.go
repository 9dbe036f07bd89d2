package typea_test

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
	"github.com/mynacard/freespace/typea"
)

// TestConfigErrorsNameTheField: every misconfiguration is an error from
// Validate, Open, OpenUnauthenticated and Read before any APDU, wrapping
// ErrConfig, naming the field, with the package prefix once (issue 14 §3).
func TestConfigErrorsNameTheField(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	good := typea.Config{Keys: st}
	tests := []struct {
		name  string
		edit  func(*typea.Config)
		field string
	}{
		{"no key provider", func(c *typea.Config) { c.Keys = nil }, "Keys: "},
		{"bad AID", func(c *typea.Config) { c.AID = profile.AID{0x01} }, "AID: "},
		{"read key without reference", func(c *typea.Config) {
			c.ReadKey = keys.CardKey{Enc: keys.KeyRef{Name: "e"}, Mac: keys.KeyRef{Name: "m"}}
		}, "ReadKey: "},
		{"admin key without names", func(c *typea.Config) { c.AdminKey = keys.CardKey{Ref: 0x13} }, "AdminKey: "},
		{"unknown password mode", func(c *typea.Config) { c.Password = profile.PasswordMode(7) }, "Password: "},
		{"before-auth not allowed", func(c *typea.Config) { c.Password = profile.PasswordBeforeAuth }, "Password: "},
		{"records SFI", func(c *typea.Config) { c.RecordsSFI = 31 }, "RecordsSFI: "},
		{"CUID SFI", func(c *typea.Config) { c.CUIDSFI = 31 }, "CUIDSFI: "},
		{"max records", func(c *typea.Config) { c.MaxRecords = 255 }, "MaxRecords: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: testID, Keys: mockcard.APKeys{Masters: st}}))
			_, openErr := typea.Open(ctx, card, cfg, nil)
			_, unauthErr := typea.OpenUnauthenticated(ctx, card, cfg)
			_, readErr := typea.Read(ctx, card, cfg, nil)
			for _, err := range []error{cfg.Validate(), openErr, unauthErr, readErr} {
				require.ErrorIs(t, err, typea.ErrConfig)
				assert.Contains(t, err.Error(), "typea: invalid configuration: "+tt.field)
				assert.Equal(t, 1, strings.Count(err.Error(), "typea:"), err.Error())
			}
			assert.Zero(t, card.Stats().APDUs, "nothing sent")
		})
	}
	require.NoError(t, good.Validate())
}

// TestPasswordForAPWithoutPassword: a password given for an AP configured
// with profile.PasswordNone (the zero mode) is refused before any APDU;
// none given, an AP that needs one refuses the read (ErrPasswordRequired).
func TestPasswordForAPWithoutPassword(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &mockcard.APPassword{Value: profile.Password("1234")}, profile.PasswordNone)
	_, err := typea.Open(ctx, f.card, f.cfg, profile.Password("1234"))
	assert.ErrorIs(t, err, typea.ErrNoPassword)
	assert.ErrorIs(t, err, typea.ErrConfig)
	_, err = typea.Read(ctx, f.card, f.cfg, profile.Password("1234"))
	assert.ErrorIs(t, err, typea.ErrNoPassword)
	assert.Zero(t, f.card.Stats().APDUs, "the password never left the host")

	_, err = typea.Read(ctx, f.card, f.cfg, nil)
	assert.ErrorIs(t, err, typea.ErrPasswordRequired, "the card wants its password")
	assert.ErrorIs(t, err, apdu.ErrSecurityStatusNotSatisfied)
}

// TestOpenVerifiesAndReads: Open is select, read-key authentication and
// VERIFY in one call; the AP then reads.
func TestOpenVerifiesAndReads(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &mockcard.APPassword{Value: profile.Password("1234")}, profile.PasswordAfterAuth)
	a, err := typea.Open(ctx, f.card, f.cfg, profile.Password("1234"))
	require.NoError(t, err)
	defer a.Close()
	id, err := a.ReadAll(ctx)
	require.NoError(t, err)
	assert.Equal(t, testID.UserID, id.UserID)

	_, err = typea.Open(ctx, f.card, f.cfg, profile.Password("9999"))
	var pe *profile.PasswordError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 2, pe.Remaining)
	assert.Equal(t, "typea: open: wrong password, 2 tries left", err.Error())
	_, err = typea.Open(ctx, f.card, f.cfg, profile.Password("9999"))
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "typea: open: wrong password, 1 try left", err.Error(), "singular")

	// One try left: Open refuses without Config.AllowLastTry.
	_, err = typea.Open(ctx, f.card, f.cfg, profile.Password("1234"))
	assert.ErrorIs(t, err, typea.ErrLastTry)
	cfg := f.cfg
	cfg.AllowLastTry = true
	a, err = typea.Open(ctx, f.card, cfg, profile.Password("1234"))
	require.NoError(t, err)
	require.NoError(t, a.Close())
}

// TestErrorPrefixOnce: an error from the card's data names the package
// once and matches both the package's and profile's sentinels.
func TestErrorPrefixOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, profile.PasswordNone)
	aid := profile.DefaultAID(profile.TypeA)
	require.NoError(t, f.card.WriteRecords(aid, profile.FIDRecords, [][]byte{{0x71, 0x00}}))
	_, err := typea.Read(ctx, f.card, f.cfg, nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, typea.ErrRecordFormat)
	assert.ErrorIs(t, err, profile.ErrMalformed)
	assert.True(t, strings.HasPrefix(err.Error(), "typea: read: record format error: "), err.Error())
	assert.Equal(t, 1, strings.Count(err.Error(), "typea:"), err.Error())
}

// TestZeroIdentityIsFreshAP: mockcard.TypeA's Identity is a value; the
// zero Identity leaves EF.Records empty, which reads as not personalized.
func TestZeroIdentityIsFreshAP(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st}}))
	_, err := typea.Read(ctx, card, typea.Config{Keys: st}, nil)
	assert.ErrorIs(t, err, profile.ErrNotPersonalized)
}

// TestZeroAPIsAClearError: the methods of a zero or nil *AP (one no Open
// returned) return an error, never panic (issue 14 §3).
func TestZeroAPIsAClearError(t *testing.T) {
	ctx := context.Background()
	for name, a := range map[string]*typea.AP{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			_, err := a.ReadIdentity(ctx)
			assert.ErrorContains(t, err, "typea: read identity: the AP was not opened")
			_, err = a.ReadAll(ctx)
			assert.Error(t, err)
			_, err = a.PasswordStatus(ctx)
			assert.Error(t, err)
			assert.Error(t, a.Verify(ctx, profile.Password("1234"), typea.VerifyOptions{}))
			assert.Error(t, a.Authenticate(ctx, typea.DefaultKey(typea.KeyRefRead)))
			assert.Error(t, a.WriteIdentity(ctx, testID))
			assert.Error(t, a.Seal(ctx))
			_, err = a.Sealed(ctx)
			assert.Error(t, err)
			assert.True(t, a.CUID().IsZero())
			assert.NoError(t, a.Close())
		})
	}
}

// TestNilTransport: Open and Read without a transport are errors, not
// panics.
func TestNilTransport(t *testing.T) {
	_, err := typea.Open(context.Background(), nil, typea.Config{Keys: keystest.Store(1)}, nil)
	assert.ErrorContains(t, err, "typea: open: nil transport")
	_, err = typea.Read(context.Background(), nil, typea.Config{Keys: keystest.Store(1)}, nil)
	assert.ErrorContains(t, err, "typea: read: nil transport")
}
