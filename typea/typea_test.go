package typea_test

import (
	"context"
	"errors"
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

var testID = profile.Identity{UserID: "U-0001", Attributes: []profile.Attribute{{Name: "role", Value: "staff"}, {Name: "room", Value: "東京 3F"}}}

type fixture struct {
	card  *mockcard.Card
	store *keys.Store
	cfg   typea.Config
}

func newFixture(t testing.TB, pw *mockcard.APPassword, mode profile.PasswordMode, opts ...mockcard.Option) *fixture {
	t.Helper()
	st := keystest.Store(1)
	id := testID
	if pw != nil && mode == profile.PasswordBeforeAuth {
		pw.BeforeAuth = true // the card's mode (profile 2.1 §6.4)
	}
	card, err := mockcard.New(append([]mockcard.Option{mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st}, Password: pw})}, opts...)...)
	require.NoError(t, err)
	return &fixture{card: card, store: st, cfg: typea.Config{Keys: st, Password: mode, AllowPasswordBeforeAuth: mode == profile.PasswordBeforeAuth}}
}

// TestPasswordBeforeAuthNeedsExplicitOption: before-auth mode sends the
// password in plain to a card that has not proven itself, so it is a
// configuration error without AllowPasswordBeforeAuth, before any APDU
// (the password never reaches the card).
func TestPasswordBeforeAuthNeedsExplicitOption(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(*fixture, typea.Config) error
	}{
		{"Validate", func(_ *fixture, cfg typea.Config) error { return cfg.Validate() }},
		{"Select", func(f *fixture, cfg typea.Config) error {
			_, err := typea.OpenUnauthenticated(ctx, f.card, cfg)
			return err
		}},
		{"Read", func(f *fixture, cfg typea.Config) error {
			_, err := typea.Read(ctx, f.card, cfg, profile.Password("1234"))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, &mockcard.APPassword{Value: profile.Password("1234")}, profile.PasswordBeforeAuth)
			f.card.ResetStats()
			cfg := f.cfg
			cfg.AllowPasswordBeforeAuth = false
			err := tt.run(f, cfg)
			require.ErrorIs(t, err, typea.ErrPasswordBeforeAuth)
			assert.Zero(t, f.card.Stats().APDUs, "nothing sent")
			require.NoError(t, tt.run(f, f.cfg), "allowed explicitly")
		})
	}
	for _, mode := range []profile.PasswordMode{profile.PasswordAfterAuth, profile.PasswordNone} {
		assert.NoError(t, typea.Config{Keys: keystest.Store(1), Password: mode}.Validate(), "%v needs no option", mode)
	}
}

func TestReadNoPasswordFourAPDUs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, profile.PasswordNone)
	f.card.ResetStats()
	res, err := typea.Read(ctx, f.card, f.cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, "U-0001", res.Identity.UserID)
	assert.False(t, res.CUID.IsZero())
	assert.Equal(t, 4, f.card.Stats().APDUs, "SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE, READ RECORD")
}

func TestReadAllAndWrite(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, profile.PasswordNone)
	a, err := typea.OpenUnauthenticated(ctx, f.card, f.cfg)
	require.NoError(t, err)
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	id, err := a.ReadAll(ctx)
	require.NoError(t, err)
	assert.Equal(t, testID, id)

	// Without the update key the sealed AP refuses writes.
	err = a.UpdateRecord(ctx, 1, []byte{0x70, 0x04, 0x80, 0x02, 'U', '2'})
	assert.ErrorIs(t, err, apdu.ErrSecurityStatusNotSatisfied)

	nid := profile.Identity{UserID: "U-0002", Attributes: []profile.Attribute{{Name: "role", Value: "guest"}}}
	require.NoError(t, a.WriteIdentity(ctx, nid))
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	got, err := a.ReadAll(ctx)
	require.NoError(t, err)
	assert.Equal(t, nid, got, "the second attribute record is freed")
}

func TestPasswordFlows(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &mockcard.APPassword{Value: profile.Password("1234")}, profile.PasswordAfterAuth)
	a, err := typea.OpenUnauthenticated(ctx, f.card, f.cfg)
	require.NoError(t, err)
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	_, err = a.ReadIdentity(ctx)
	assert.ErrorIs(t, err, typea.ErrPasswordRequired)

	st, err := a.PasswordStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, st.Remaining)

	err = a.Verify(ctx, profile.Password("9999"), typea.VerifyOptions{})
	var pe *profile.PasswordError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 2, pe.Remaining)
	var te *apdu.TriesError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 2, te.Remaining)
	assert.NotContains(t, err.Error(), "9999")

	require.ErrorAs(t, a.Verify(ctx, profile.Password("9998"), typea.VerifyOptions{}), &pe)
	assert.Equal(t, 1, pe.Remaining)
	// One try left: refused on the host, no try spent.
	before := f.card.Stats().APDUs
	err = a.Verify(ctx, profile.Password("1234"), typea.VerifyOptions{})
	assert.ErrorIs(t, err, typea.ErrLastTry)
	assert.Contains(t, err.Error(), "1 try left")
	assert.Equal(t, before+1, f.card.Stats().APDUs, "only the status query was sent")
	st, err = a.PasswordStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Remaining)

	require.NoError(t, a.Verify(ctx, profile.Password("1234"), typea.VerifyOptions{AllowLastTry: true}))
	id, err := a.ReadIdentity(ctx)
	require.NoError(t, err)
	assert.Equal(t, "U-0001", id.UserID)
	st, err = a.PasswordStatus(ctx)
	require.NoError(t, err)
	assert.True(t, st.Verified)

	// Change the password, then block it and unblock it with the admin key.
	require.NoError(t, a.ChangePassword(ctx, profile.Password("1234"), profile.Password("5678"), typea.VerifyOptions{}))
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	for i := 0; i < 2; i++ {
		err = a.Verify(ctx, profile.Password("0000"), typea.VerifyOptions{})
		require.ErrorAs(t, err, &pe)
	}
	err = a.Verify(ctx, profile.Password("0000"), typea.VerifyOptions{AllowLastTry: true})
	require.ErrorAs(t, err, &pe)
	assert.True(t, pe.Blocked)
	assert.ErrorIs(t, err, apdu.ErrBlocked)
	err = a.Verify(ctx, profile.Password("5678"), typea.VerifyOptions{AllowLastTry: true})
	require.ErrorAs(t, err, &pe)
	assert.True(t, pe.Blocked, "a blocked password is refused before VERIFY")
	st, err = a.PasswordStatus(ctx)
	require.NoError(t, err)
	assert.True(t, st.Blocked)

	require.NoError(t, a.UnblockPassword(ctx, profile.Password("4321")))
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	require.NoError(t, a.Verify(ctx, profile.Password("4321"), typea.VerifyOptions{}))
	_, err = a.ReadIdentity(ctx)
	require.NoError(t, err)
}

func TestPasswordBeforeAuth(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &mockcard.APPassword{Value: profile.Password("1234")}, profile.PasswordBeforeAuth)
	res, err := typea.Read(ctx, f.card, f.cfg, profile.Password("1234"))
	require.NoError(t, err)
	assert.Equal(t, "U-0001", res.Identity.UserID)

	a, err := typea.OpenUnauthenticated(ctx, f.card, f.cfg)
	require.NoError(t, err)
	require.NoError(t, a.Verify(ctx, profile.Password("1234"), typea.VerifyOptions{}))
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	_, err = a.ReadIdentity(ctx)
	require.NoError(t, err)
	// After authentication the before-auth password cannot be verified.
	assert.Error(t, a.Verify(ctx, profile.Password("1234"), typea.VerifyOptions{}))
}

func TestNoPasswordMode(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, profile.PasswordNone)
	a, err := typea.OpenUnauthenticated(ctx, f.card, f.cfg)
	require.NoError(t, err)
	_, err = a.PasswordStatus(ctx)
	assert.ErrorIs(t, err, typea.ErrNoPassword)
	assert.ErrorIs(t, a.Verify(ctx, profile.Password("1234"), typea.VerifyOptions{}), typea.ErrNoPassword)
}

func TestCardSwapped(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, profile.PasswordNone)
	id2 := profile.Identity{UserID: "OTHER"}
	card2 := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id2, Keys: mockcard.APKeys{Masters: f.store}}))
	sw := &apdutest.Interceptor{Next: f.card} // forwards to one card, then to another
	a, err := typea.OpenUnauthenticated(ctx, sw, f.cfg)
	require.NoError(t, err)
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	_, err = a.ReadIdentity(ctx)
	require.NoError(t, err)

	sw.Next = card2
	card2.ResetStats()
	_, err = a.ReadIdentity(ctx)
	require.Error(t, err, "the other card has no session")
	err = a.WriteIdentity(ctx, profile.Identity{UserID: "EVIL"})
	require.ErrorIs(t, err, typea.ErrCardSwapped)
	// Nothing was written on the other card: its identity is unchanged.
	res, err := typea.Read(ctx, card2, f.cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, "OTHER", res.Identity.UserID)

	// Back to the first card: the session resumes after the CUID check.
	sw.Next = f.card
	_, err = a.ReadIdentity(ctx)
	require.NoError(t, err)
}

func TestNotPresentAndNotPersonalized(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	empty := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "C"}))
	_, err := typea.Read(ctx, empty, typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, nil)
	assert.ErrorIs(t, err, profile.ErrNotPresent)

	fresh := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st}}))
	_, err = typea.Read(ctx, fresh, typea.Config{Keys: st, Password: profile.PasswordNone}, nil)
	assert.ErrorIs(t, err, profile.ErrNotPersonalized)
}

func TestWrongKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, profile.PasswordNone)
	other := keystest.Store(1)
	k, _ := keys.NewKey(keys.AES, make([]byte, 16))
	// The card's key set 1 with one master replaced: another operator's.
	require.NoError(t, other.Add(keys.KeyRef{Name: "typea-auth-enc", Version: 1}, k))
	cfg := f.cfg
	cfg.Keys = other
	_, err := typea.Read(ctx, f.card, cfg, nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, profile.ErrNotPresent))
}

func TestBeforeAuthPasswordNeverGoesToSwappedCard(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &mockcard.APPassword{Value: profile.Password("1234")}, profile.PasswordBeforeAuth)
	id2 := profile.Identity{UserID: "OTHER"}
	card2 := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id2, Keys: mockcard.APKeys{Masters: f.store},
		Password: &mockcard.APPassword{Value: profile.Password("1234"), BeforeAuth: true}}))
	sw := &apdutest.Interceptor{Next: f.card} // forwards to one card, then to another
	a, err := typea.OpenUnauthenticated(ctx, sw, f.cfg)
	require.NoError(t, err)
	sw.Next = card2 // swapped while the user typed the password
	err = a.Verify(ctx, profile.Password("9999"), typea.VerifyOptions{})
	require.ErrorIs(t, err, typea.ErrCardSwapped)
	left, err := card2.PINTriesLeft(profile.DefaultAID(profile.TypeA), 0x81)
	require.NoError(t, err)
	assert.Equal(t, 3, left, "no try spent on the other card")
	assert.Equal(t, 1, card2.Stats().APDUs, "only the SELECT reached it")
}

func TestRecordFormatErrorOnCard(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, profile.PasswordNone)
	aid := profile.DefaultAID(profile.TypeA)
	recs, err := f.card.ReadRecords(aid, profile.FIDRecords)
	require.NoError(t, err)
	require.NoError(t, f.card.WriteRecords(aid, profile.FIDRecords, append(recs, []byte{0xA1, 0x03, 0x80, 0x01, 'x'})))
	a, err := typea.OpenUnauthenticated(ctx, f.card, f.cfg)
	require.NoError(t, err)
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	_, err = a.ReadAll(ctx)
	assert.ErrorIs(t, err, typea.ErrRecordFormat)
	id, err := a.ReadIdentity(ctx)
	require.NoError(t, err, "record 1 alone is fine")
	assert.Equal(t, "U-0001", id.UserID)

	// Too many attributes for EF.Records: refused before any APDU.
	big := profile.Identity{UserID: "U"}
	for i := range profile.MaxAttributes {
		big.Attributes = append(big.Attributes, profile.Attribute{Name: fmt.Sprintf("a%d", i), Value: "v"})
	}
	cfg := f.cfg
	cfg.MaxRecords = 5
	a, err = typea.OpenUnauthenticated(ctx, f.card, cfg)
	require.NoError(t, err)
	f.card.ResetStats()
	err = a.WriteIdentity(ctx, big)
	var ce *typea.CapacityError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 17, ce.Records)
	assert.Zero(t, f.card.Stats().APDUs)
}

func TestConfigurableRetryLimit(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &mockcard.APPassword{Value: profile.Password("1234"), MaxTries: 5}, profile.PasswordAfterAuth)
	a, err := typea.OpenUnauthenticated(ctx, f.card, f.cfg)
	require.NoError(t, err)
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	st, err := a.PasswordStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, 5, st.Remaining)
	var pe *profile.PasswordError
	require.ErrorAs(t, a.Verify(ctx, profile.Password("0000"), typea.VerifyOptions{}), &pe)
	assert.Equal(t, 4, pe.Remaining)
	require.NoError(t, a.Verify(ctx, profile.Password("1234"), typea.VerifyOptions{}))
	left, err := f.card.PINTriesLeft(profile.DefaultAID(profile.TypeA), typea.PasswordRef)
	require.NoError(t, err)
	assert.Equal(t, 5, left, "reset on success")
	// Format errors are caught on the host, nothing sent.
	f.card.ResetStats()
	assert.ErrorIs(t, a.Verify(ctx, nil, typea.VerifyOptions{}), typea.ErrPasswordFormat)
	assert.ErrorIs(t, a.Verify(ctx, make(profile.Password, 65), typea.VerifyOptions{}), typea.ErrPasswordFormat)
	assert.Zero(t, f.card.Stats().APDUs)
}

func TestSuites(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		suite secure.Suite
		store *keys.Store
	}{
		{secure.TDES, keystest.StoreTDES()},
		{secure.AES128, keystest.Store(1)},
	} {
		t.Run(tc.suite.Name(), func(t *testing.T) {
			id := testID
			card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: tc.store, Suite: tc.suite.Name()},
				Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
			cfg := typea.Config{Password: profile.PasswordAfterAuth, Keys: tc.store, Suite: tc.suite}
			res, err := typea.Read(ctx, card, cfg, profile.Password("1234"))
			require.NoError(t, err)
			assert.Equal(t, "U-0001", res.Identity.UserID)
			a, err := typea.OpenUnauthenticated(ctx, card, cfg)
			require.NoError(t, err)
			require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
			require.NoError(t, a.Verify(ctx, profile.Password("1234"), typea.VerifyOptions{}))
			got, err := a.ReadAll(ctx)
			require.NoError(t, err)
			assert.Equal(t, testID, got)
			require.NoError(t, a.WriteIdentity(ctx, profile.Identity{UserID: "U-" + tc.suite.Name()}))
			res, err = typea.Read(ctx, card, cfg, profile.Password("1234"))
			require.NoError(t, err)
			assert.Equal(t, "U-"+tc.suite.Name(), res.Identity.UserID)
		})
	}
}

// TestChangePasswordOldCheckedFirst: CHANGE REFERENCE DATA as
// docs/PROTOCOL.md §6.4 gives it: the card checks the old password before
// the new one's length. A wrong old password spends a try even with a new
// one the card would refuse; a right one with a new password outside the
// card's bounds (4 to 16) gives ErrPasswordFormat and spends nothing.
func TestChangePasswordOldCheckedFirst(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &mockcard.APPassword{Value: profile.Password("1234")}, profile.PasswordAfterAuth)
	a, err := typea.OpenUnauthenticated(ctx, f.card, f.cfg)
	require.NoError(t, err)
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	tries := func() int {
		n, err := f.card.PINTriesLeft(profile.DefaultAID(profile.TypeA), typea.PasswordRef)
		require.NoError(t, err)
		return n
	}

	err = a.ChangePassword(ctx, profile.Password("9999"), profile.Password("12"), typea.VerifyOptions{})
	var pe *profile.PasswordError
	require.ErrorAs(t, err, &pe, "the old password is checked first")
	assert.Equal(t, 2, pe.Remaining)
	assert.Equal(t, 2, tries())

	err = a.ChangePassword(ctx, profile.Password("1234"), profile.Password("12"), typea.VerifyOptions{})
	assert.ErrorIs(t, err, typea.ErrPasswordFormat)
	assert.ErrorIs(t, err, apdu.ErrIncorrectDataField)
	assert.False(t, errors.As(err, &pe), "no try spent")
	assert.Equal(t, 3, tries(), "the right old password restored the counter")
	assert.NotContains(t, err.Error(), "1234")

	require.NoError(t, a.Verify(ctx, profile.Password("1234"), typea.VerifyOptions{}), "the password is unchanged")
}
