package cardap_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/sealedcard"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

func fixedPassword(p string) cardap.PasswordFunc {
	return func(context.Context, cardap.PasswordRequest) (profile.Password, error) {
		return profile.Password(p), nil
	}
}

func TestIdentifyTypeAAndD(t *testing.T) {
	ctx := context.Background()
	ks := keystest.Store(1)
	otherKeys := keystest.StoreTDES() // a different operator's keys
	alice := profile.Identity{UserID: "EMP-A", Attributes: []profile.Attribute{{Name: "dept", Value: "総務"}}}
	typeACard := func(pw string) *mockcard.Card {
		cfg := mockcard.TypeA{Identity: alice, Keys: mockcard.APKeys{Masters: ks}}
		if pw != "" {
			cfg.Password = &mockcard.APPassword{Value: profile.Password(pw)}
		}
		return mockcard.MustNew(mockcard.WithTypeA(cfg))
	}
	noPW := func(c *cardap.TypeAConfig) { c.Config.Password = profile.PasswordNone }
	tests := []struct {
		name   string
		card   *mockcard.Card
		ap     cardap.AP
		reason cardap.Reason
		user   string
		apdus  int
	}{
		{"type A, no password, 4 APDUs", typeACard(""), typeA(ks, noPW), cardap.ReasonUnknown, "EMP-A", 4},
		{"type A with password", typeACard("1234"), typeA(ks, func(c *cardap.TypeAConfig) { c.PasswordFunc = fixedPassword("1234") }), cardap.ReasonUnknown, "EMP-A", 0},
		{"type A wrong password", typeACard("1234"), typeA(ks, func(c *cardap.TypeAConfig) { c.PasswordFunc = fixedPassword("9999") }), cardap.ReasonPasswordWrong, "", 0},
		{"type A password on the card, none configured", typeACard("1234"), typeA(ks, noPW), cardap.ReasonPasswordMode, "", 0},
		{"type A wrong operator keys", typeACard(""), typeA(otherKeys, func(c *cardap.TypeAConfig) {
			noPW(c)
		}), cardap.ReasonAuthFailed, "", 0},
		{"type D", sealedcard.TypeD(t, alice, ""), cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks}}), cardap.ReasonUnknown, "EMP-A", 0},
		{"type D with password", sealedcard.TypeD(t, alice, "2468"), cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: fixedPassword("2468")}), cardap.ReasonUnknown, "EMP-A", 0},
		{"type D password on the card, none configured", sealedcard.TypeD(t, alice, "2468"), cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks}}), cardap.ReasonPasswordMode, "", 0},
		{"type D never written", mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: ks}})), cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks}}), cardap.ReasonNotPersonalized, "", 0},
		{"type D missing: unknown card", typeACard(""), cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks}}), cardap.ReasonUnknownCard, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.APs = []cardap.AP{tt.ap} })
			id, err := c.Identify(ctx, tt.card)
			if tt.reason == cardap.ReasonUnknown {
				require.NoError(t, err)
				assert.Equal(t, tt.user, id.UserID)
				assert.Equal(t, tt.ap.Type(), id.AP)
				want, err := tt.card.CUID(id.AID)
				require.NoError(t, err)
				assert.Equal(t, want, id.CUID)
				if tt.apdus > 0 {
					assert.Equal(t, tt.apdus, id.APDUs)
				}
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.reason, cardap.ReasonOf(err), "%v", err)
			assert.Equal(t, 1, strings.Count(err.Error(), "cardap:"), "the package prefix once: %v", err)
		})
	}
}

func typeA(ks *keys.Store, mod func(*cardap.TypeAConfig)) cardap.AP {
	cfg := cardap.TypeAConfig{Config: typea.Config{Keys: ks}}
	if mod != nil {
		mod(&cfg)
	}
	// A prompt means the password goes after mutual authentication
	// unless the test chose another mode.
	if cfg.PasswordFunc != nil && cfg.Config.Password == profile.PasswordNone {
		cfg.Config.Password = profile.PasswordAfterAuth
	}
	return cardap.TypeA(cfg)
}

func TestIdentifyPasswordLastTryAndBlocked(t *testing.T) {
	ctx := context.Background()
	ks := keystest.Store(1)
	id := profile.Identity{UserID: "EMP-B"}
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: ks},
		Password: &mockcard.APPassword{Value: profile.Password("1234"), MaxTries: 3}}))
	calls := 0
	wrong := func(context.Context, cardap.PasswordRequest) (profile.Password, error) {
		calls++
		return profile.Password("0000"), nil
	}
	c := newClient(t, nil, func(c *cardap.Config) {
		c.NoRevocation = true
		c.APs = []cardap.AP{cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: wrong})}
	})
	for i, want := range []cardap.Reason{cardap.ReasonPasswordWrong, cardap.ReasonPasswordWrong, cardap.ReasonPasswordBlocked} {
		_, err := c.Identify(ctx, card)
		assert.Equal(t, want, cardap.ReasonOf(err), "attempt %d: %v", i+1, err)
		assert.Equal(t, min(i+1, 2), calls, "the password is asked once per Identify, and not at the last try")
	}
	// The third attempt was refused on the host, before the holder was
	// asked: one try is still left.
	left, err := card.PINTriesLeft(profile.DefaultAID(profile.TypeA), mockcard.PasswordRefAP)
	require.NoError(t, err)
	assert.Equal(t, 1, left)
	_, err = c.Identify(ctx, card)
	assert.ErrorIs(t, err, typea.ErrLastTry)
	assert.Equal(t, 2, calls, "not asked at the last try")

	// With the last try allowed, a wrong password blocks it.
	c2 := newClient(t, nil, func(c *cardap.Config) {
		c.NoRevocation = true
		c.APs = []cardap.AP{cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: wrong, AllowLastTry: true})}
	})
	_, err = c2.Identify(ctx, card)
	assert.Equal(t, cardap.ReasonPasswordBlocked, cardap.ReasonOf(err), "%v", err)
	assert.Equal(t, 3, calls, "asked for the allowed last try")
	_, err = c2.Identify(ctx, card)
	assert.Equal(t, cardap.ReasonPasswordBlocked, cardap.ReasonOf(err))
	assert.ErrorIs(t, err, apdu.ErrBlocked)
	assert.Equal(t, 3, calls, "a blocked password is not asked")
}

func TestIdentifyCardWithAllThreeAPs(t *testing.T) {
	ks := keystest.Store(1)
	a := profile.Identity{UserID: "FROM-A"}
	card := mockcard.MustNew(
		mockcard.WithTypeA(mockcard.TypeA{Identity: a, Keys: mockcard.APKeys{Masters: ks}}),
		mockcard.WithTypeC(profile.Identity{UserID: "FROM-C"}),
	)
	c := newClient(t, nil, func(c *cardap.Config) {
		c.NoRevocation = true
		c.APs = []cardap.AP{
			cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks}}),
			cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordNone}}),
			cardap.TypeC(cardap.TypeCConfig{}),
		}
	})
	id, err := c.Identify(context.Background(), card)
	require.NoError(t, err)
	assert.Equal(t, "FROM-A", id.UserID, "the first configured AP present decides")
	assert.Equal(t, profile.TypeA, id.AP)
}

func TestPasswordFuncErrorAborts(t *testing.T) {
	ks := keystest.Store(1)
	id := profile.Identity{UserID: "X"}
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: ks},
		Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
	cancelled := errors.New("user cancelled the PIN pad")
	c := newClient(t, nil, func(c *cardap.Config) {
		c.NoRevocation = true
		c.APs = []cardap.AP{cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth},
			PasswordFunc: func(context.Context, cardap.PasswordRequest) (profile.Password, error) { return nil, cancelled }})}
	})
	_, err := c.Identify(context.Background(), card)
	assert.ErrorIs(t, err, cancelled)
	left, err := card.PINTriesLeft(profile.DefaultAID(profile.TypeA), mockcard.PasswordRefAP)
	require.NoError(t, err)
	assert.Equal(t, 3, left, "no try spent")
}

// TestIdentifyKeyBlockedIsAuthFailed blocks the card's AP key with a wrong
// operator's keys (each refusal is 63Cx to MUTUAL AUTHENTICATE, the last
// blocks it) and then presents the right keys and the right password: the
// card answers 6983 to MUTUAL AUTHENTICATE, which is the key's state, not
// the password's, so the refusal is auth-failed and the password keeps its
// tries.
func TestIdentifyKeyBlockedIsAuthFailed(t *testing.T) {
	ctx := context.Background()
	ks := keystest.Store(1)
	otherKeys := keystest.StoreTDES()
	alice := profile.Identity{UserID: "EMP-A"}
	tests := []struct {
		name       string
		card       func() (*mockcard.Card, profile.AID)
		good, evil cardap.AP
	}{
		{"type A", func() (*mockcard.Card, profile.AID) {
			return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: alice, Keys: mockcard.APKeys{Masters: ks},
				Password: &mockcard.APPassword{Value: profile.Password("1234")}})), profile.DefaultAID(profile.TypeA)
		},
			typeA(ks, func(c *cardap.TypeAConfig) { c.PasswordFunc = fixedPassword("1234") }),
			typeA(otherKeys, func(c *cardap.TypeAConfig) { c.PasswordFunc = fixedPassword("1234") })},
		{"type D", func() (*mockcard.Card, profile.AID) {
			return sealedcard.TypeD(t, alice, "2468"), profile.DefaultAID(profile.TypeD)
		},
			cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: fixedPassword("2468")}),
			cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: otherKeys, Password: profile.PasswordAfterAuth}, PasswordFunc: fixedPassword("2468")})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card, aid := tt.card()
			evil := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.APs = []cardap.AP{tt.evil} })
			good := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.APs = []cardap.AP{tt.good} })
			pinBefore, err := card.PINTriesLeft(aid, mockcard.PasswordRefAP)
			require.NoError(t, err)
			for i := 0; ; i++ {
				require.Less(t, i, 16, "the key never blocked")
				_, err := evil.Identify(ctx, card)
				require.Error(t, err)
				assert.Equal(t, cardap.ReasonAuthFailed, cardap.ReasonOf(err), "%v", err)
				if errors.Is(err, apdu.ErrBlocked) {
					break
				}
			}
			_, err = good.Identify(ctx, card)
			require.Error(t, err)
			assert.Equal(t, cardap.ReasonAuthFailed, cardap.ReasonOf(err), "%v", err)
			assert.NotErrorIs(t, err, cardap.ErrPasswordBlocked)
			after, err := card.PINTriesLeft(aid, mockcard.PasswordRefAP)
			require.NoError(t, err)
			assert.Equal(t, pinBefore, after, "no password try spent")
		})
	}
}

// truncatingCard answers MUTUAL AUTHENTICATE with a shortened cryptogram,
// as a hostile or broken card might.
type truncatingCard struct{ *mockcard.Card }

func (c truncatingCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	resp, err := c.Card.Transmit(ctx, cmd)
	if err == nil && len(cmd) > 1 && cmd[1] == 0x82 && len(resp) > 12 {
		resp = append(resp[:10:10], resp[len(resp)-2:]...)
	}
	return resp, err
}

// TestIdentifyShortCardCryptogramIsAuthFailed: an answer to MUTUAL
// AUTHENTICATE of the wrong length is a failed authentication, not a
// generic card error.
func TestIdentifyShortCardCryptogramIsAuthFailed(t *testing.T) {
	ks := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U"}, Keys: mockcard.APKeys{Masters: ks}}))
	c := newClient(t, nil, func(c *cardap.Config) {
		c.NoRevocation = true
		c.APs = []cardap.AP{typeA(ks, func(c *cardap.TypeAConfig) { c.Config.Password = profile.PasswordNone })}
	})
	_, err := c.Identify(context.Background(), truncatingCard{card})
	require.Error(t, err)
	assert.Equal(t, cardap.ReasonAuthFailed, cardap.ReasonOf(err), "%v", err)
	assert.ErrorIs(t, err, apdu.ErrMalformedResponse)
}
