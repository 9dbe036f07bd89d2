package personalize_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typec"
	"github.com/mynacard/freespace/typed"
)

var req = personalize.Request{
	Identity: profile.Identity{UserID: "USER-42", Attributes: []profile.Attribute{{Name: "plan", Value: "gold"}, {Name: "office", Value: "前橋"}}},
	Password: profile.Password("2468"),
	Data:     []byte("evacuee record: name, address, birth date, sex"),
}

// freshCard is a card carrying fresh (unsealed, loaded) Type A, C and D
// APs, as the loading system leaves them.
func freshCard(t testing.TB, st *keys.Store) *mockcard.Card {
	t.Helper()
	pw := &mockcard.APPassword{Value: profile.Password("0000")}
	card, err := mockcard.New(
		mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st}, Password: pw, Unsealed: true}),
		mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "UNSET"}, Unsealed: true}),
		mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}, Password: pw, Unsealed: true}),
	)
	require.NoError(t, err)
	return card
}

type run func(ctx context.Context, card *mockcard.Card, st *keys.Store) (personalize.Result, error)

var runs = map[string]run{
	"A": func(ctx context.Context, card *mockcard.Card, st *keys.Store) (personalize.Result, error) {
		return personalize.TypeA(ctx, card, typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, req)
	},
	"C": func(ctx context.Context, card *mockcard.Card, st *keys.Store) (personalize.Result, error) {
		r := req
		r.Password = nil
		return personalize.TypeC(ctx, card, typec.Config{}, r)
	},
	"D": func(ctx context.Context, card *mockcard.Card, st *keys.Store) (personalize.Result, error) {
		return personalize.TypeD(ctx, card, typed.Config{Keys: st, Password: profile.PasswordAfterAuth}, req)
	},
}

// verify checks the end state: sealed, the identity readable with the new
// password, writes refused without the update key.
func verify(t *testing.T, label, typ string, card *mockcard.Card, st *keys.Store) {
	t.Helper()
	ctx := context.Background()
	switch typ {
	case "A":
		lc, err := card.Lifecycle(profile.DefaultAID(profile.TypeA))
		require.NoError(t, err)
		require.Equal(t, mockcard.Operational, lc, label)
		res, err := typea.Read(ctx, card, typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, req.Password)
		require.NoError(t, err, label)
		require.Equal(t, req.Identity.UserID, res.Identity.UserID, label)
		a, err := typea.OpenUnauthenticated(ctx, card, typea.Config{Password: profile.PasswordAfterAuth, Keys: st})
		require.NoError(t, err)
		require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
		require.NoError(t, a.Verify(ctx, req.Password, typea.VerifyOptions{}))
		id, err := a.ReadAll(ctx)
		require.NoError(t, err, label)
		require.Equal(t, req.Identity, id, label)
	case "C":
		lc, err := card.Lifecycle(profile.DefaultAID(profile.TypeC))
		require.NoError(t, err)
		require.Equal(t, mockcard.Operational, lc, label)
		r, err := typec.Read(ctx, card, typec.Config{})
		require.NoError(t, err, label)
		require.Equal(t, req.Identity, r.Identity, label)
	case "D":
		lc, err := card.Lifecycle(profile.DefaultAID(profile.TypeD))
		require.NoError(t, err)
		require.Equal(t, mockcard.Operational, lc, label)
		ap, err := typed.Open(ctx, card, typed.Config{Keys: st, Password: profile.PasswordAfterAuth}, req.Password)
		require.NoError(t, err, label)
		c, err := ap.Read(ctx)
		require.NoError(t, err, label)
		require.Equal(t, req.Identity, c.Identity, label)
		require.Equal(t, req.Data, c.Data, label)
	}
}

func TestPersonalizeAllTypesIdempotent(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := freshCard(t, st)
	for _, typ := range []string{"A", "C", "D"} {
		res, err := runs[typ](ctx, card, st)
		require.NoError(t, err, typ)
		assert.False(t, res.AlreadySealed, typ)
		assert.False(t, res.CUID.IsZero(), typ)
		verify(t, typ, typ, card, st)
		res, err = runs[typ](ctx, card, st)
		require.NoError(t, err, typ)
		assert.True(t, res.AlreadySealed, "second run of %s changes nothing", typ)
		verify(t, typ+" again", typ, card, st)
	}
}

// TestPersonalizeResumable pulls the card away before and after every APDU
// of each personalization run, and torn after every few bytes of each
// write, then runs the same request again: it must complete.
func TestPersonalizeResumable(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive fault injection")
	}
	ctx := context.Background()
	st := keystest.Store(1)
	for _, typ := range []string{"A", "C", "D"} {
		card := freshCard(t, st)
		card.ResetStats()
		_, err := runs[typ](ctx, card, st)
		require.NoError(t, err)
		n := card.Stats().APDUs
		cases := 0
		for i := 1; i <= n; i++ {
			for _, f := range []mockcard.Fault{{Kind: mockcard.FaultRemoveBefore, At: i}, {Kind: mockcard.FaultRemoveAfter, At: i}, {Kind: mockcard.FaultTear, At: i, Bytes: 7}} {
				card := freshCard(t, st)
				require.NoError(t, card.Inject(f))
				_, err := runs[typ](ctx, card, st)
				require.Error(t, err, "%s %v", typ, f)
				card.Insert()
				_, err = runs[typ](ctx, card, st)
				label := fmt.Sprintf("Type %s, %v at APDU %d of %d", typ, f.Kind, i, n)
				require.NoError(t, err, label)
				verify(t, label, typ, card, st)
				cases++
			}
		}
		t.Logf("Type %s: %d APDUs, %d interrupted runs resumed", typ, n, cases)
	}
}

func TestPersonalizeRejectsBadInputBeforeWriting(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := freshCard(t, st)
	card.ResetStats()
	bad := req
	bad.Identity.UserID = ""
	_, err := personalize.TypeA(ctx, card, typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, bad)
	assert.ErrorIs(t, err, profile.ErrInvalidIdentity)
	_, err = personalize.TypeA(ctx, card, typea.Config{Keys: st, Password: profile.PasswordNone}, req)
	assert.ErrorIs(t, err, personalize.ErrInvalidRequest)
	long := req
	long.Password = profile.Password(bytes.Repeat([]byte("7"), 65))
	_, err = personalize.TypeA(ctx, card, typea.Config{Keys: st, Password: profile.PasswordAfterAuth}, long)
	assert.ErrorIs(t, err, typea.ErrPasswordFormat)
	_, err = personalize.TypeD(ctx, card, typed.Config{Keys: st, Password: profile.PasswordAfterAuth}, long)
	assert.ErrorIs(t, err, typea.ErrPasswordFormat)
	assert.Zero(t, card.Stats().APDUs)
	big := req
	big.Data = make([]byte, 5000)
	_, err = personalize.TypeD(ctx, card, typed.Config{Password: profile.PasswordAfterAuth, Keys: st, Capacity: 4096}, big)
	assert.ErrorIs(t, err, typed.ErrCapacity)
	assert.Zero(t, card.Stats().APDUs, "a configured capacity is checked before any APDU")
	// Without a configured capacity the card's FCP gives it: still
	// refused before anything is written.
	_, err = personalize.TypeD(ctx, card, typed.Config{Password: profile.PasswordAfterAuth, Keys: st}, big)
	var ce *typed.CapacityError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 2048, ce.Have)
	data, err := card.ReadEF(profile.DefaultAID(profile.TypeD), profile.FIDData)
	require.NoError(t, err)
	assert.Equal(t, make([]byte, 4096), data, "nothing written")
	lc, err := card.Lifecycle(profile.DefaultAID(profile.TypeD))
	require.NoError(t, err)
	assert.Equal(t, mockcard.Personalization, lc)
	assert.NotContains(t, req.String(), "2468")
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", req, req, req), "2468")
}

// txCounter is a transport with PC/SC-like transactions that counts them
// and fails on nesting.
type txCounter struct {
	*mockcard.Card
	begun, depth int
}

func (c *txCounter) WithTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	c.begun++
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 1 {
		return fmt.Errorf("nested transaction")
	}
	return fn(ctx)
}

func TestOneTransactionPerRun(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	tc := &txCounter{Card: freshCard(t, st)}
	_, err := personalize.TypeA(ctx, tc, typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, req)
	require.NoError(t, err)
	assert.Equal(t, 1, tc.begun)
	tc.begun = 0
	_, err = personalize.TypeD(ctx, tc, typed.Config{Keys: st, Password: profile.PasswordAfterAuth}, req)
	require.NoError(t, err)
	assert.Equal(t, 1, tc.begun)
	tc.begun = 0
	_, err = typea.Read(ctx, tc, typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, req.Password)
	require.NoError(t, err)
	assert.Equal(t, 1, tc.begun)
}

// fcpLiar returns an interceptor in front of next that rewrites the EF
// size (tag 80) in the FCP answering a plain SELECT EF with P2 = 04 to
// size, and the list of every command it saw.
func fcpLiar(next *mockcard.Card, size uint16) (*apdutest.Interceptor, *[][]byte) {
	var cmds [][]byte
	return &apdutest.Interceptor{Next: next, Rewrite: func(e apdutest.Exchange) ([]byte, error) {
		cmds = append(cmds, append([]byte(nil), e.Command...))
		resp := e.Response
		if e.Err != nil || len(e.Command) < 4 || !bytes.Equal(e.Command[:4], []byte{0x00, 0xA4, 0x02, 0x04}) {
			return resp, e.Err
		}
		if i := bytes.Index(resp, []byte{0x80, 0x02}); i >= 0 && i+4 <= len(resp) {
			resp[i+2], resp[i+3] = byte(size>>8), byte(size)
		}
		return resp, nil
	}}, &cmds
}

// TestTypeCHostileFCPSize: an EF.Identity size beyond the 15-bit offsets
// of UPDATE BINARY (ISO/IEC 7816-4 §11.3.3) is refused as the card's error
// before anything is written: padding up to it would send offsets with P1
// bit 8 set, which names a short EF identifier, i.e. writes another file.
func TestTypeCHostileFCPSize(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	for _, size := range []uint16{0x8001, 0xFFFF} {
		liar, sent := fcpLiar(freshCard(t, st), size)
		r := req
		r.Password = nil
		_, err := personalize.TypeC(ctx, liar, typec.Config{}, r)
		require.ErrorIs(t, err, profile.ErrMalformed, "FCP size %04X", size)
		for _, c := range *sent {
			if len(c) >= 4 && c[1] == 0xD6 {
				t.Errorf("FCP size %04X: UPDATE BINARY sent: % X", size, c[:4])
			}
		}
	}
}

// TestTypeCPadsToWideFCPSize: a shorter identity written over a longer
// one is padded with 00 to the EF size whatever the length of tag 80 (3 or
// 4 bytes here), so no stale bytes of the old identity are left behind it.
func TestTypeCPadsToWideFCPSize(t *testing.T) {
	for _, n := range []int{3, 4} {
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			ctx := context.Background()
			old := profile.Identity{UserID: "OLD-USER-WITH-A-LONG-ID", Attributes: []profile.Attribute{{Name: "note", Value: "a long attribute value that the new identity does not have"}}}
			card, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: old, Unsealed: true}), mockcard.WithFCPSizeLen(n))
			require.NoError(t, err)
			short := personalize.Request{Identity: profile.Identity{UserID: "U7"}}
			_, err = personalize.TypeC(ctx, card, typec.Config{}, short)
			require.NoError(t, err)
			r, err := typec.Read(ctx, card, typec.Config{})
			require.NoError(t, err)
			assert.Equal(t, short.Identity, r.Identity)
		})
	}
}
