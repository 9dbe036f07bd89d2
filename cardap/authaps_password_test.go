package cardap_test

import (
	"context"
	"strings"
	"sync"
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

// passwordPrompts is a PasswordFunc that counts its calls per AP type and
// answers with the password configured for that type.
type passwordPrompts struct {
	mu    sync.Mutex
	pw    map[profile.APType]string
	calls map[profile.APType]int
	// during, when set, runs inside each call (before it answers).
	during func(req cardap.PasswordRequest)
}

func newPasswordPrompts(pw map[profile.APType]string) *passwordPrompts {
	return &passwordPrompts{pw: pw, calls: map[profile.APType]int{}}
}

func (p *passwordPrompts) ask(_ context.Context, req cardap.PasswordRequest) (profile.Password, error) {
	p.mu.Lock()
	p.calls[req.AP]++
	pw := p.pw[req.AP]
	during := p.during
	p.mu.Unlock()
	if during != nil {
		during(req)
	}
	return profile.Password(pw), nil
}

func (p *passwordPrompts) count(ap profile.APType) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[ap]
}

// newTypeACard returns a card with a Type A AP holding id, protected by
// pw. The mock accepts VERIFY before and after mutual authentication, so
// it serves both password modes.
func newTypeACard(ks *keys.Store, id profile.Identity, pw string) *mockcard.Card {
	return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: ks},
		Password: &mockcard.APPassword{Value: profile.Password(pw)}}))
}

// newTypeABeforeAuthCard is newTypeACard for an AP that takes its
// password in plain before mutual authentication (profile 2.1 §6.4).
func newTypeABeforeAuthCard(ks *keys.Store, id profile.Identity, pw string) *mockcard.Card {
	return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: ks},
		Password: &mockcard.APPassword{Value: profile.Password(pw), BeforeAuth: true}}))
}

// TestPasswordAskedOnlyForAPOnCard: a client trying Type A, Type D and
// Type C in turn (both authenticated APs with a password) asks the holder
// for a password only when the card carries that AP, exactly once.
func TestPasswordAskedOnlyForAPOnCard(t *testing.T) {
	ks := keystest.Store(1)
	alice := profile.Identity{UserID: "EMP-A"}
	passwords := map[profile.APType]string{profile.TypeA: "1234", profile.TypeD: "2468"}
	tests := []struct {
		name  string
		card  func(t *testing.T) *mockcard.Card
		order []profile.APType // AP order of the client
		want  map[profile.APType]int
		ap    profile.APType // the AP that identifies; 0: refused as unknown
	}{
		{"no AP at all", func(*testing.T) *mockcard.Card { return mockcard.MustNew() },
			[]profile.APType{profile.TypeA, profile.TypeD, profile.TypeC}, nil, 0},
		{"type C only", func(*testing.T) *mockcard.Card { return mockcard.MustNew(mockcard.WithTypeC(alice)) },
			[]profile.APType{profile.TypeA, profile.TypeD, profile.TypeC}, nil, profile.TypeC},
		{"type D only", func(t *testing.T) *mockcard.Card { return sealedcard.TypeD(t, alice, "2468") },
			[]profile.APType{profile.TypeA, profile.TypeD, profile.TypeC}, map[profile.APType]int{profile.TypeD: 1}, profile.TypeD},
		{"type D only, C tried first", func(t *testing.T) *mockcard.Card { return sealedcard.TypeD(t, alice, "2468") },
			[]profile.APType{profile.TypeC, profile.TypeA, profile.TypeD}, map[profile.APType]int{profile.TypeD: 1}, profile.TypeD},
		{"type A only", func(*testing.T) *mockcard.Card {
			return newTypeACard(ks, alice, "1234")
		}, []profile.APType{profile.TypeD, profile.TypeA, profile.TypeC}, map[profile.APType]int{profile.TypeA: 1}, profile.TypeA},
		{"type A and C, C first", func(*testing.T) *mockcard.Card {
			return mockcard.MustNew(mockcard.WithTypeC(alice),
				mockcard.WithTypeA(mockcard.TypeA{Identity: alice, Keys: mockcard.APKeys{Masters: ks},
					Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
		}, []profile.APType{profile.TypeC, profile.TypeA, profile.TypeD}, nil, profile.TypeC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prompts := newPasswordPrompts(passwords)
			byType := map[profile.APType]cardap.AP{
				profile.TypeA: cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: prompts.ask}),
				profile.TypeD: cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: prompts.ask}),
				profile.TypeC: cardap.TypeC(cardap.TypeCConfig{}),
			}
			var aps []cardap.AP
			for _, typ := range tt.order {
				aps = append(aps, byType[typ])
			}
			c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.APs = aps })
			id, err := c.Identify(context.Background(), tt.card(t))
			if tt.ap == 0 {
				assert.Equal(t, cardap.ReasonUnknownCard, cardap.ReasonOf(err), "%v", err)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.ap, id.AP)
				assert.Equal(t, "EMP-A", id.UserID)
			}
			for _, typ := range []profile.APType{profile.TypeA, profile.TypeD} {
				assert.Equal(t, tt.want[typ], prompts.count(typ), "password prompts for %v", typ)
			}
		})
	}
}

// txTracker is a transport with PC/SC-like transactions that records
// whether one is open and which instructions reached the card.
type txTracker struct {
	apdu.Transport
	mu   sync.Mutex
	inTx bool
	ins  []byte
}

func (tr *txTracker) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	tr.mu.Lock()
	if len(cmd) > 1 {
		tr.ins = append(tr.ins, cmd[1])
	}
	tr.mu.Unlock()
	return tr.Transport.Transmit(ctx, cmd)
}

func (tr *txTracker) WithTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	tr.mu.Lock()
	if tr.inTx {
		tr.mu.Unlock()
		panic("nested transaction")
	}
	tr.inTx = true
	tr.mu.Unlock()
	defer func() {
		tr.mu.Lock()
		tr.inTx = false
		tr.mu.Unlock()
	}()
	return fn(ctx)
}

func (tr *txTracker) state() (bool, []byte) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.inTx, append([]byte(nil), tr.ins...)
}

// TestPasswordAskedAfterStatusOutsideTransaction: the prompt comes after
// SELECT, (in after-auth mode) mutual authentication and the password's
// status query, with no PC/SC transaction held; the password goes to the
// card once, and the identification costs the documented APDUs.
func TestPasswordAskedAfterStatusOutsideTransaction(t *testing.T) {
	ks := keystest.Store(1)
	alice := profile.Identity{UserID: "EMP-A"}
	const (
		insSelect    = 0xA4
		insChallenge = 0x84
		insMutual    = 0x82
		insVerify    = 0x20
		insRead      = 0xB2
	)
	aps := map[string]func(pw cardap.PasswordFunc) cardap.AP{
		"A after": func(pw cardap.PasswordFunc) cardap.AP {
			return cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: pw})
		},
		"A before": func(pw cardap.PasswordFunc) cardap.AP {
			return cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordBeforeAuth, AllowPasswordBeforeAuth: true}, PasswordFunc: pw})
		},
		"D": func(pw cardap.PasswordFunc) cardap.AP {
			return cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: pw})
		},
	}
	tests := []struct {
		name        string
		card        func(t *testing.T) *mockcard.Card
		ap          string
		typ         profile.APType
		beforeAsk   []byte // the instructions sent before the prompt
		verifyAfter []byte // the instructions right after the prompt
	}{
		{"type A after-auth", func(*testing.T) *mockcard.Card { return newTypeACard(ks, alice, "1234") }, "A after", profile.TypeA,
			[]byte{insSelect, insChallenge, insMutual, insVerify}, []byte{insVerify, insVerify, insRead}},
		// After the prompt: SELECT again (CUID check), status, VERIFY,
		// then mutual authentication and the record.
		{"type A before-auth", func(*testing.T) *mockcard.Card { return newTypeABeforeAuthCard(ks, alice, "1234") }, "A before", profile.TypeA,
			[]byte{insSelect, insVerify}, []byte{insSelect, insVerify, insVerify, insChallenge, insMutual, insRead}},
		{"type D", func(t *testing.T) *mockcard.Card { return sealedcard.TypeD(t, alice, "1234") }, "D", profile.TypeD,
			[]byte{insSelect, insChallenge, insMutual, insVerify}, []byte{insVerify, insVerify}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := tt.card(t)
			tr := &txTracker{Transport: card}
			prompts := newPasswordPrompts(map[profile.APType]string{tt.typ: "1234"})
			var sentBefore []byte
			prompts.during = func(cardap.PasswordRequest) {
				inTx, ins := tr.state()
				assert.False(t, inTx, "no transaction is held during the prompt")
				sentBefore = ins
			}
			ap := aps[tt.ap](prompts.ask)
			c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.APs = []cardap.AP{ap} })
			id, err := c.Identify(context.Background(), tr)
			require.NoError(t, err)
			assert.Equal(t, "EMP-A", id.UserID)
			assert.Equal(t, 1, prompts.count(tt.typ))
			assert.Equal(t, tt.beforeAsk, sentBefore, "SELECT, authentication and the status query precede the prompt")
			_, all := tr.state()
			require.GreaterOrEqual(t, len(all), len(sentBefore)+len(tt.verifyAfter))
			assert.Equal(t, tt.verifyAfter, all[len(sentBefore):len(sentBefore)+len(tt.verifyAfter)])
			assert.Equal(t, len(all), id.APDUs)
			verifies := 0
			for _, ins := range all[len(sentBefore):] {
				if ins == insVerify {
					verifies++
				}
			}
			assert.Equal(t, 2, verifies, "after the prompt: one status query and one VERIFY with the password")
			left, err := card.PINTriesLeft(id.AID, mockcard.PasswordRefAP)
			require.NoError(t, err)
			assert.Equal(t, 3, left)
		})
	}
}

// TestPasswordNotAskedWhenBlockedOrLastTry: the status query spends no try
// and the holder is not asked for a password the card would refuse or
// that would block it; with AllowLastTry the last try is asked, once.
func TestPasswordNotAskedWhenBlockedOrLastTry(t *testing.T) {
	ctx := context.Background()
	ks := keystest.Store(1)
	alice := profile.Identity{UserID: "EMP-A"}
	tests := []struct {
		name string
		card func(t *testing.T) *mockcard.Card
		ap   func(pw cardap.PasswordFunc, allowLast bool) cardap.AP
		typ  profile.APType
	}{
		{"type A", func(*testing.T) *mockcard.Card { return newTypeACard(ks, alice, "1234") },
			func(pw cardap.PasswordFunc, allowLast bool) cardap.AP {
				return cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: pw, AllowLastTry: allowLast})
			}, profile.TypeA},
		{"type D", func(t *testing.T) *mockcard.Card { return sealedcard.TypeD(t, alice, "1234") },
			func(pw cardap.PasswordFunc, allowLast bool) cardap.AP {
				return cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth, AllowLastTry: allowLast}, PasswordFunc: pw})
			}, profile.TypeD},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := tt.card(t)
			aid := profile.DefaultAID(tt.typ)
			wrong := newPasswordPrompts(map[profile.APType]string{tt.typ: "9999"})
			client := func(allowLast bool) *cardap.Client {
				return newClient(t, nil, func(c *cardap.Config) {
					c.NoRevocation = true
					c.APs = []cardap.AP{tt.ap(wrong.ask, allowLast)}
				})
			}
			strict, lax := client(false), client(true)
			for i := 1; i <= 2; i++ {
				_, err := strict.Identify(ctx, card)
				assert.Equal(t, cardap.ReasonPasswordWrong, cardap.ReasonOf(err), "%v", err)
				assert.Equal(t, i, wrong.count(tt.typ))
			}
			_, err := strict.Identify(ctx, card)
			assert.Equal(t, cardap.ReasonPasswordBlocked, cardap.ReasonOf(err), "%v", err)
			assert.ErrorIs(t, err, typea.ErrLastTry, "typed.ErrLastTry is the same sentinel")
			assert.Equal(t, 2, wrong.count(tt.typ), "not asked at the last try")
			left, err := card.PINTriesLeft(aid, mockcard.PasswordRefAP)
			require.NoError(t, err)
			assert.Equal(t, 1, left)

			_, err = lax.Identify(ctx, card)
			assert.Equal(t, cardap.ReasonPasswordBlocked, cardap.ReasonOf(err), "%v", err)
			assert.Equal(t, 3, wrong.count(tt.typ), "the allowed last try is asked")

			for _, c := range []*cardap.Client{strict, lax} {
				_, err = c.Identify(ctx, card)
				assert.Equal(t, cardap.ReasonPasswordBlocked, cardap.ReasonOf(err), "%v", err)
				assert.ErrorIs(t, err, apdu.ErrBlocked)
			}
			assert.Equal(t, 3, wrong.count(tt.typ), "a blocked password is not asked")
		})
	}
}

// swapTransport forwards to the card currently in the reader.
type swapTransport struct {
	mu   sync.Mutex
	card *mockcard.Card
}

func (s *swapTransport) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	s.mu.Lock()
	c := s.card
	s.mu.Unlock()
	return c.Transmit(ctx, cmd)
}

func (s *swapTransport) swap(c *mockcard.Card) {
	s.mu.Lock()
	s.card = c
	s.mu.Unlock()
}

// TestPasswordCardSwappedDuringPrompt: the holder's prompt runs outside a
// transaction, so another card may be in the reader when it returns. The
// password then never reaches either card (both keep their tries), the
// card is refused, and the holder is not asked again.
func TestPasswordCardSwappedDuringPrompt(t *testing.T) {
	ks := keystest.Store(1)
	alice, bob := profile.Identity{UserID: "EMP-A"}, profile.Identity{UserID: "EMP-B"}
	tests := []struct {
		name   string
		cards  func(t *testing.T) (first, second *mockcard.Card)
		ap     func(pw cardap.PasswordFunc) cardap.AP
		typ    profile.APType
		reason cardap.Reason
	}{
		{"type A before-auth: CUID check", func(*testing.T) (*mockcard.Card, *mockcard.Card) {
			return newTypeABeforeAuthCard(ks, alice, "1234"), newTypeABeforeAuthCard(ks, bob, "1234")
		}, func(pw cardap.PasswordFunc) cardap.AP {
			return cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordBeforeAuth, AllowPasswordBeforeAuth: true}, PasswordFunc: pw})
		}, profile.TypeA, cardap.ReasonCardRemoved},
		{"type A after-auth: secure messaging", func(*testing.T) (*mockcard.Card, *mockcard.Card) {
			return newTypeACard(ks, alice, "1234"), newTypeACard(ks, bob, "1234")
		}, func(pw cardap.PasswordFunc) cardap.AP {
			return cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: pw})
		}, profile.TypeA, cardap.ReasonAuthFailed},
		{"type D: secure messaging", func(t *testing.T) (*mockcard.Card, *mockcard.Card) {
			return sealedcard.TypeD(t, alice, "1234"), sealedcard.TypeD(t, bob, "1234")
		}, func(pw cardap.PasswordFunc) cardap.AP {
			return cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: pw})
		}, profile.TypeD, cardap.ReasonAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, second := tt.cards(t)
			tr := &swapTransport{card: first}
			prompts := newPasswordPrompts(map[profile.APType]string{tt.typ: "1234"})
			prompts.during = func(cardap.PasswordRequest) { tr.swap(second) }
			c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true; c.APs = []cardap.AP{tt.ap(prompts.ask)} })
			id, err := c.Identify(context.Background(), tr)
			require.Error(t, err)
			assert.Nil(t, id)
			assert.Equal(t, tt.reason, cardap.ReasonOf(err), "%v", err)
			assert.Equal(t, 1, strings.Count(err.Error(), "cardap:"), "the package prefix once: %v", err)
			assert.Equal(t, 1, prompts.count(tt.typ), "never asked again")
			aid := profile.DefaultAID(tt.typ)
			for _, card := range []*mockcard.Card{first, second} {
				left, err := card.PINTriesLeft(aid, mockcard.PasswordRefAP)
				require.NoError(t, err)
				assert.Equal(t, 3, left, "no try spent")
			}
		})
	}
}
