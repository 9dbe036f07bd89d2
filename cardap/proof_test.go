package cardap_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mynacard/freespace/internal/testsupport/sealedcard"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typec"
	"github.com/mynacard/freespace/typed"
)

// claimingAP is an operator's own AP that says its card proved itself
// (Identity.Proof) without declaring itself a Prover.
type claimingAP struct{ id cardap.Identity }

func (a claimingAP) Type() profile.APType { return a.id.AP }
func (a claimingAP) Read(context.Context, apdu.Transport) (cardap.Identity, error) {
	return a.id, nil
}

// provingAP is an operator's own AP that declares mutual authentication
// (Prover) and reports it.
type provingAP struct{ claimingAP }

func (provingAP) ProofMethod() cardap.ProofMethod { return cardap.ProofMutualAuth }

// TestNewRefusesUnprovenConfig: no silent Type C default. An empty AP
// list, or one whose every AP proves nothing, is a configuration error
// naming the field, unless AllowUnproven says the terminal only
// identifies.
func TestNewRefusesUnprovenConfig(t *testing.T) {
	ks := keystest.Store(1)
	typeA := cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordNone}})
	claims := claimingAP{cardap.Identity{AP: profile.TypeA, Proof: cardap.Proof{Method: cardap.ProofMutualAuth}}}
	tests := []struct {
		name    string
		cfg     cardap.Config
		errWith string // "" : accepted
	}{
		{"no APs", cardap.Config{}, "APs: empty"},
		{"no APs, AllowUnproven", cardap.Config{AllowUnproven: true}, "APs: empty"},
		{"type C only", cardap.Config{APs: []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})}}, "AllowUnproven is false"},
		{"custom AP that is no Prover", cardap.Config{APs: []cardap.AP{claims}}, "AllowUnproven is false"},
		{"type C only, AllowUnproven", cardap.Config{APs: []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})}, AllowUnproven: true}, ""},
		{"type A", cardap.Config{APs: []cardap.AP{typeA}}, ""},
		{"type D", cardap.Config{APs: []cardap.AP{cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks}})}}, ""},
		{"type A then type C", cardap.Config{APs: []cardap.AP{typeA, cardap.TypeC(cardap.TypeCConfig{})}}, ""},
		{"custom Prover", cardap.Config{APs: []cardap.AP{provingAP{claims}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.NoRevocation = true
			c, err := cardap.New(tt.cfg)
			if tt.errWith == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.ErrorIs(t, err, cardap.ErrConfig)
			assert.Contains(t, err.Error(), tt.errWith)
		})
	}
}

// TestIdentifyProof: every accepted identity says how the card proved
// itself, truthfully: Type C proves nothing; Type A and D mutual
// authentication, with PasswordVerified only when the card accepted the
// holder's password, and the key set the card authenticated with.
func TestIdentifyProof(t *testing.T) {
	ctx := context.Background()
	ks := keystest.Store(1)
	alice := profile.Identity{UserID: "EMP-A"}
	typeACard := func(pw string) *mockcard.Card {
		cfg := mockcard.TypeA{Identity: alice, Keys: mockcard.APKeys{Masters: ks}}
		if pw != "" {
			// Before authentication too (profile 2.1 §6.4): one card for
			// both password modes of the host.
			cfg.Password = &mockcard.APPassword{Value: profile.Password(pw), BeforeAuth: true}
		}
		return mockcard.MustNew(mockcard.WithTypeA(cfg))
	}
	tests := []struct {
		name string
		card *mockcard.Card
		ap   cardap.AP
		want cardap.Proof
	}{
		{"type C", mockcard.MustNew(mockcard.WithTypeC(alice)), cardap.TypeC(cardap.TypeCConfig{}),
			cardap.Proof{AP: profile.TypeC, Method: cardap.ProofNone}},
		{"type A, no password", typeACard(""), cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordNone}}),
			cardap.Proof{AP: profile.TypeA, Method: cardap.ProofMutualAuth, KeySet: 1}},
		{"type A, password", typeACard("1234"), cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: fixedPassword("1234")}),
			cardap.Proof{AP: profile.TypeA, Method: cardap.ProofMutualAuth, PasswordVerified: true, KeySet: 1}},
		{"type A, password before authentication", typeACard("1234"), cardap.TypeA(cardap.TypeAConfig{
			Config: typea.Config{Keys: ks, Password: profile.PasswordBeforeAuth, AllowPasswordBeforeAuth: true}, PasswordFunc: fixedPassword("1234")}),
			cardap.Proof{AP: profile.TypeA, Method: cardap.ProofMutualAuth, PasswordVerified: true, KeySet: 1}},
		{"type D, no password", sealedcard.TypeD(t, alice, ""), cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks}}),
			cardap.Proof{AP: profile.TypeD, Method: cardap.ProofMutualAuth, KeySet: 1}},
		{"type D, password", sealedcard.TypeD(t, alice, "2468"), cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: fixedPassword("2468")}),
			cardap.Proof{AP: profile.TypeD, Method: cardap.ProofMutualAuth, PasswordVerified: true, KeySet: 1}},
		{"custom AP claiming a proof it does not declare", mockcard.MustNew(),
			claimingAP{cardap.Identity{AP: profile.TypeA, UserID: "EMP-A", Proof: cardap.Proof{Method: cardap.ProofMutualAuth, PasswordVerified: true}}},
			cardap.Proof{AP: profile.TypeA, Method: cardap.ProofNone}},
		{"custom Prover", mockcard.MustNew(),
			provingAP{claimingAP{cardap.Identity{AP: profile.TypeA, UserID: "EMP-A", Proof: cardap.Proof{Method: cardap.ProofMutualAuth}}}},
			cardap.Proof{AP: profile.TypeA, Method: cardap.ProofMutualAuth}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.APs = []cardap.AP{tt.ap} })
			id, err := c.Identify(ctx, tt.card)
			require.NoError(t, err)
			assert.Equal(t, "EMP-A", id.UserID)
			assert.Equal(t, tt.want, id.Proof)
			assert.Equal(t, tt.want.Method != cardap.ProofNone, id.Proof.Proven())
		})
	}
}

// TestIdentifyRefusesUnprovenCard is the attack of issue 10 §2: a Type C
// card cloned from a keyless read of an employee's card (same CUID, same
// user ID) is refused by a terminal that does not allow unproven cards,
// with its own reason, before the revocation list is asked; the
// employee's own card (Type A, mutual authentication) is accepted.
func TestIdentifyRefusesUnprovenCard(t *testing.T) {
	ctx := context.Background()
	ks := keystest.Store(1)
	emp := profile.Identity{UserID: "EMP-0001"}
	genuine := mockcard.MustNew(
		mockcard.WithTypeA(mockcard.TypeA{Identity: emp, Keys: mockcard.APKeys{Masters: ks}}),
		mockcard.WithTypeC(emp))

	// The attacker reads the genuine card without any key ...
	read, err := typec.Read(ctx, genuine, typec.Config{})
	require.NoError(t, err)
	// ... and writes what it read to a blank card.
	clone := mockcard.MustNew(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: read.Identity, CUID: read.CUID}))

	aps := []cardap.AP{
		cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordNone}}),
		cardap.TypeC(cardap.TypeCConfig{}),
	}
	asked := &countingRevocation{}
	strict := newClient(t, asked, func(c *cardap.Config) { c.APs = aps; c.AllowUnproven = false })

	id, err := strict.Identify(ctx, genuine)
	require.NoError(t, err)
	assert.Equal(t, cardap.ProofMutualAuth, id.Proof.Method)
	asked.n = 0

	_, err = strict.Identify(ctx, clone)
	require.Error(t, err)
	assert.Equal(t, cardap.ReasonUnproven, cardap.ReasonOf(err))
	assert.ErrorIs(t, err, cardap.ErrUnproven)
	var e *cardap.Error
	require.True(t, errors.As(err, &e))
	require.NotNil(t, e.Identity)
	assert.Equal(t, read.CUID, e.Identity.CUID, "the refusal names the claimed CUID for the audit")
	assert.Equal(t, cardap.Proof{AP: profile.TypeC, Method: cardap.ProofNone}, e.Identity.Proof)
	assert.Zero(t, asked.n, "an unproven CUID is not looked up")
	assert.Equal(t, "unproven", cardap.ReasonUnproven.String())

	lenient := newClient(t, &fakeRevocation{}, func(c *cardap.Config) { c.APs = aps; c.AllowUnproven = true })
	id, err = lenient.Identify(ctx, clone)
	require.NoError(t, err, "AllowUnproven accepts the copy: that is what it gives up")
	assert.False(t, id.Proof.Proven())
}

// countingRevocation is an empty revocation list that counts its lookups.
type countingRevocation struct{ n int }

func (c *countingRevocation) CheckCUID(context.Context, profile.CUID) (cardap.RevocationStatus, error) {
	c.n++
	return cardap.RevocationStatus{}, nil
}

func TestProofMethodString(t *testing.T) {
	for m, want := range map[cardap.ProofMethod]string{
		cardap.ProofNone: "none", cardap.ProofMutualAuth: "mutual-auth", cardap.ProofMethod(9): "proof-method(9)",
	} {
		assert.Equal(t, want, m.String())
		b, err := m.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, want, string(b))
	}
}

// TestNewValidatesAPConfig: an authenticated AP's own configuration is
// checked by New, before any card is seen, and the error names the field.
// Password-before-authentication (the password in plain to a card that
// has not proven itself) needs AllowPasswordBeforeAuth; a password mode
// needs a PasswordFunc (without one every card with a password would be
// refused as "password required"), and a PasswordFunc needs a password
// mode (the two fields would disagree).
func TestNewValidatesAPConfig(t *testing.T) {
	ks := keystest.Store(1)
	pw := fixedPassword("1234")
	tests := []struct {
		name    string
		ap      cardap.AP
		wantErr error  // nil: accepted
		text    string // the error's text
	}{
		{"type A before-auth", cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordBeforeAuth}, PasswordFunc: pw}), typea.ErrPasswordBeforeAuth,
			"cardap: invalid configuration: APs[0] (Type A): Config: " + typea.ErrPasswordBeforeAuth.Error()},
		{"type A before-auth, allowed", cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordBeforeAuth, AllowPasswordBeforeAuth: true}, PasswordFunc: pw}), nil, ""},
		{"type A after-auth", cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: pw}), nil, ""},
		{"type A none", cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordNone}}), nil, ""},
		{"type A after-auth without PasswordFunc", cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}}), cardap.ErrConfig,
			"cardap: invalid configuration: APs[0] (Type A): PasswordFunc: nil and Config.Password is after-auth"},
		{"type A before-auth without PasswordFunc", cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordBeforeAuth, AllowPasswordBeforeAuth: true}}), cardap.ErrConfig,
			"cardap: invalid configuration: APs[0] (Type A): PasswordFunc: nil and Config.Password is before-auth"},
		{"type A none with PasswordFunc", cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordNone}, PasswordFunc: pw}), cardap.ErrConfig,
			"cardap: invalid configuration: APs[0] (Type A): PasswordFunc: set and Config.Password is none"},
		{"type A without keys", cardap.TypeA(cardap.TypeAConfig{PasswordFunc: pw}), cardap.ErrConfig, ""},
		{"type D without keys", cardap.TypeD(cardap.TypeDConfig{}), cardap.ErrConfig, ""},
		{"type D password without PasswordFunc", cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth}}), cardap.ErrConfig,
			"cardap: invalid configuration: APs[0] (Type D): PasswordFunc: nil and Config.Password is after-auth"},
		{"type D no password with PasswordFunc", cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks}, PasswordFunc: pw}), cardap.ErrConfig,
			"cardap: invalid configuration: APs[0] (Type D): PasswordFunc: set and Config.Password is none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cardap.New(cardap.Config{APs: []cardap.AP{tt.ap}, NoRevocation: true})
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, cardap.ErrConfig)
			require.ErrorIs(t, err, tt.wantErr)
			if tt.text != "" {
				assert.EqualError(t, err, tt.text)
			}
			assert.Equal(t, 1, strings.Count(err.Error(), "cardap:"), "the prefix once: %v", err)
		})
	}
}

// TestNewConfigErrorsNameTheField: every misconfiguration of Config is an
// error from New wrapping ErrConfig whose text names the field.
func TestNewConfigErrorsNameTheField(t *testing.T) {
	typeC := cardap.TypeC(cardap.TypeCConfig{})
	tests := []struct {
		name string
		cfg  cardap.Config
		text string
	}{
		{"no AP", cardap.Config{NoRevocation: true}, "cardap: invalid configuration: APs: empty"},
		{"nil AP", cardap.Config{APs: []cardap.AP{typeC, nil}, NoRevocation: true, AllowUnproven: true}, "cardap: invalid configuration: APs[1]: nil"},
		{"unproven", cardap.Config{APs: []cardap.AP{typeC}, NoRevocation: true},
			"cardap: invalid configuration: APs: every AP proves nothing (reads without authentication) and AllowUnproven is false"},
		{"no revocation", cardap.Config{APs: []cardap.AP{typeC}, AllowUnproven: true},
			"cardap: invalid configuration: Revocation: nil and NoRevocation is false"},
		{"both revocation settings", cardap.Config{APs: []cardap.AP{typeC}, AllowUnproven: true, NoRevocation: true, Revocation: &countingRevocation{}},
			"cardap: invalid configuration: NoRevocation: true and Revocation is set"},
		{"negative grace", cardap.Config{APs: []cardap.AP{typeC}, AllowUnproven: true, NoRevocation: true, ExpiryGrace: -time.Hour},
			"cardap: invalid configuration: ExpiryGrace: negative (-1h0m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cardap.New(tt.cfg)
			assert.Nil(t, c)
			require.ErrorIs(t, err, cardap.ErrConfig)
			assert.EqualError(t, err, tt.text)
		})
	}
}
