package cardap_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// TestRefusalTextPrefixOnce: a refusal's text has the package prefix once
// and says the tries left with the right plural; it read
// "cardap: wrong password (card ...): typea: verify password: typea: wrong
// password, 1 tries left".
func TestRefusalTextPrefixOnce(t *testing.T) {
	ctx := context.Background()
	ks := keystest.Store(1)
	id := profile.Identity{UserID: "EMP-T"}
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: ks},
		Password: &mockcard.APPassword{Value: profile.Password("1234"), MaxTries: 3}}))
	cuid, err := card.CUID(profile.DefaultAID(profile.TypeA))
	require.NoError(t, err)
	wrong := func(context.Context, cardap.PasswordRequest) (profile.Password, error) {
		return profile.Password("0000"), nil
	}
	c := newClient(t, nil, func(c *cardap.Config) {
		c.NoRevocation = true
		c.APs = []cardap.AP{cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: wrong, AllowLastTry: true})}
	})
	for _, want := range []string{
		"cardap: wrong password (card %s): 2 tries left",
		"cardap: wrong password (card %s): 1 try left",
		"cardap: password blocked (card %s)",
	} {
		_, err := c.Identify(ctx, card)
		require.Error(t, err)
		assert.Equal(t, fmt.Sprintf(want, cuid), err.Error())
		var te *apdu.TriesError
		assert.True(t, errors.As(err, &te), "the cause stays reachable: %v", err)
	}
}

// TestRefusalTextOfACardapCause: a cause from this package (a rollback)
// does not repeat the "cardap: " prefix.
func TestRefusalTextOfACardapCause(t *testing.T) {
	e := &cardap.Error{Reason: cardap.ReasonRollback, Err: &cardap.RollbackError{Seen: 5, Got: 4}}
	assert.Equal(t, 1, strings.Count(e.Error(), "cardap:"), e.Error())
	assert.ErrorIs(t, e, cardap.ErrRollback)
}

// TestIdentifyCanceled: a context that ends before or during the
// identification is ReasonCanceled (it was card-error), matching
// ErrCanceled and the context's own error.
func TestIdentifyCanceled(t *testing.T) {
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U"}))
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for name, tt := range map[string]struct {
		ctx  context.Context
		want error
	}{
		"cancelled":     {cancelled, context.Canceled},
		"deadline past": {expired, context.DeadlineExceeded},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Identify(tt.ctx, card)
			require.Error(t, err)
			assert.Equal(t, cardap.ReasonCanceled, cardap.ReasonOf(err), "%v", err)
			assert.ErrorIs(t, err, cardap.ErrCanceled)
			assert.ErrorIs(t, err, tt.want)
			assert.Equal(t, "canceled", cardap.ReasonOf(err).String())
		})
	}
}

// TestReasonSentinels: every reason's *Error matches its sentinel with
// errors.Is, and the card conditions the SDK names once match the
// canonical sentinels of profile and apdu (cardap has no copies).
func TestReasonSentinels(t *testing.T) {
	for _, tt := range []struct {
		r    cardap.Reason
		want error
		text string
	}{
		{cardap.ReasonUnknownCard, cardap.ErrUnknownCard, "cardap: no accepted card AP on the card"},
		{cardap.ReasonNotPersonalized, profile.ErrNotPersonalized, "cardap: card AP not personalized"},
		{cardap.ReasonMalformed, profile.ErrMalformed, "cardap: malformed data on the card"},
		{cardap.ReasonCardRemoved, apdu.ErrCardRemoved, "cardap: card removed"},
		{cardap.ReasonRevoked, cardap.ErrRevoked, "cardap: card revoked"},
		{cardap.ReasonCanceled, cardap.ErrCanceled, "cardap: identification canceled"},
		{cardap.ReasonCardError, cardap.ErrCardError, "cardap: card error"},
	} {
		t.Run(tt.r.String(), func(t *testing.T) {
			e := &cardap.Error{Reason: tt.r}
			assert.ErrorIs(t, e, tt.want)
			assert.EqualError(t, e, tt.text)
			assert.Equal(t, tt.r, cardap.ReasonOf(e))
		})
	}
}

// TestIdentifyPasswordModeMismatch: a terminal whose password mode cannot
// meet the card's (no password configured for a card that has one; the
// password in plain to a card that takes it only under secure messaging)
// is refused with ReasonPasswordMode and a cause saying so; it was
// card-error. No try is spent.
func TestIdentifyPasswordModeMismatch(t *testing.T) {
	ks := keystest.Store(1)
	id := profile.Identity{UserID: "EMP-M"}
	afterAuthCard := func() *mockcard.Card {
		return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: ks},
			Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
	}
	tests := []struct {
		name  string
		cfg   cardap.TypeAConfig
		cause string
	}{
		{"none configured", cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordNone}},
			"the card requires a password and the configured password mode is none"},
		{"before-auth configured, card after-auth", cardap.TypeAConfig{
			Config:       typea.Config{Keys: ks, Password: profile.PasswordBeforeAuth, AllowPasswordBeforeAuth: true},
			PasswordFunc: fixedPassword("1234")},
			"the card refuses the password before authentication and the configured password mode is before-auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := afterAuthCard()
			c := newClient(t, nil, func(c *cardap.Config) {
				c.NoRevocation = true
				c.APs = []cardap.AP{cardap.TypeA(tt.cfg)}
			})
			_, err := c.Identify(context.Background(), card)
			require.Error(t, err)
			assert.Equal(t, cardap.ReasonPasswordMode, cardap.ReasonOf(err), "%v", err)
			assert.ErrorIs(t, err, cardap.ErrPasswordMode)
			assert.ErrorIs(t, err, apdu.ErrSecurityStatusNotSatisfied, "the card's status stays reachable")
			assert.Contains(t, err.Error(), tt.cause)
			left, err := card.PINTriesLeft(profile.DefaultAID(profile.TypeA), mockcard.PasswordRefAP)
			require.NoError(t, err)
			assert.Equal(t, 3, left, "no try spent")
		})
	}
}
