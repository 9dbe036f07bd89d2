package typec

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		panic(err)
	}
	return b
}

const (
	testCUIDHex = "00112233445566778899aabbccddeeff"
	// selectAPHex is SELECT by DF name of the default Type C AID, no FCI.
	selectAPHex = "00A4040C0B F0465245455350414345 43"
)

// TestReadExactAPDUs pins the APDU sequence of docs/PROTOCOL.md §2.3 byte
// for byte, with the example of that section (user ID "U1").
func TestReadExactAPDUs(t *testing.T) {
	s := &script{answers: []string{
		"9000",
		"9000",
		testCUIDHex + "9000",
		"9000",
		"700480025531" + strings.Repeat("FF", 26) + "9000",
	}}
	res, err := Read(context.Background(), s, Config{})
	require.NoError(t, err)
	assert.Equal(t, "U1", res.Identity.UserID)
	assert.Equal(t, testCUIDHex, res.CUID.String())
	assert.Equal(t, 5, res.APDUs)
	want := []string{selectAPHex, "00A4020C020001", "00B0000010", "00A4020C020002", "00B0000000"}
	require.Len(t, s.sent, len(want))
	for i, w := range want {
		assert.Equal(t, mustHex(w), s.sent[i], "APDU %d", i+1)
	}
}

// TestReadLongIdentity checks that an object over 256 bytes is completed
// with exactly the reads it needs, padding unread.
func TestReadLongIdentity(t *testing.T) {
	attrs := []profile.Attribute{{Name: "a", Value: strings.Repeat("x", 250)}, {Name: "b", Value: strings.Repeat("y", 100)}}
	id := profile.Identity{UserID: "LONG-1", Attributes: attrs}
	enc, err := id.MarshalBinary()
	require.NoError(t, err)
	require.Greater(t, len(enc), 256)
	ef := append(enc, make([]byte, 1024-len(enc))...)
	card := newEFCard(mustHex(testCUIDHex), ef)
	res, err := Read(context.Background(), card, Config{})
	require.NoError(t, err)
	assert.Equal(t, id, res.Identity)
	assert.Equal(t, 6, res.APDUs, "one more READ BINARY for the part past 256 bytes")
}

func TestHostileCard(t *testing.T) {
	ok3 := []string{"9000", "9000", testCUIDHex + "9000", "9000"}
	tests := []struct {
		name    string
		answers []string
		is      []error
	}{
		{"select answers one byte", []string{"90"}, []error{ErrMalformed, apdu.ErrMalformedResponse}},
		{"select answers nothing", []string{""}, []error{ErrMalformed, apdu.ErrMalformedResponse}},
		{"AP not present", []string{"6A82"}, []error{ErrNotPresent}},
		{"select refused otherwise", []string{"6999"}, []error{apdu.StatusWord(0x6999)}},
		{"EF.CUID missing", []string{"9000", "6A82"}, []error{ErrMalformed, apdu.ErrFileNotFound}},
		{"CUID too short", []string{"9000", "9000", "0011 6282"}, []error{ErrMalformed, profile.ErrInvalidCUID}},
		{"CUID EF too short, 6700", []string{"9000", "9000", "6700"}, []error{ErrMalformed, apdu.ErrWrongLength}},
		{"CUID longer than asked", []string{"9000", "9000", testCUIDHex + "00 9000"}, []error{ErrMalformed, apdu.ErrMalformedResponse}},
		{"CUID all zero", []string{"9000", "9000", strings.Repeat("00", 16) + "9000"}, []error{ErrMalformed, profile.ErrInvalidCUID}},
		{"CUID needs security", []string{"9000", "9000", "6982"}, []error{apdu.ErrSecurityStatusNotSatisfied}},
		{"identity EF missing", append(ok3[:3:3], "6A82"), []error{ErrMalformed, apdu.ErrFileNotFound}},
		{"identity erased FF", append(ok3, strings.Repeat("FF", 64)+"9000"), []error{ErrNotPersonalized}},
		{"identity erased 00", append(ok3, strings.Repeat("00", 256)+"9000"), []error{ErrNotPersonalized}},
		{"identity EF empty 6282", append(ok3, "6282"), []error{ErrNotPersonalized}},
		{"identity EF empty 6B00", append(ok3, "6B00"), []error{ErrNotPersonalized}},
		{"identity wrong tag", append(ok3, "710480025531 9000"), []error{ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity garbage after erased byte", append(ok3, "FF41 9000"), []error{ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity three-byte length", append(ok3, "7083000004 9000"), []error{ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity huge length", append(ok3, "7082FFFF80025531 9000"), []error{ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity past end of EF (6282)", append(ok3, "7082010080025531 6282"), []error{ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity past end of EF (6B00 on next read)", append(ok3, "7082010180025531"+strings.Repeat("FF", 248)+"9000", "6B00"), []error{ErrMalformed, profile.ErrInvalidIdentity}},
		{"next read returns nothing", append(ok3, "7082010180025531"+strings.Repeat("FF", 248)+"9000", "9000"), []error{ErrMalformed, apdu.ErrMalformedResponse}},
		{"next read refused", append(ok3, "7082010180025531"+strings.Repeat("FF", 248)+"9000", "6982"), []error{apdu.ErrSecurityStatusNotSatisfied}},
		{"identity read answers 257 bytes", append(ok3, strings.Repeat("70", 257)+"9000"), []error{ErrMalformed, apdu.ErrResponseTooLarge}},
		{"trailing garbage", append(ok3, "70048002553101 9000"), []error{ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity read needs security", append(ok3, "6982"), []error{apdu.ErrSecurityStatusNotSatisfied}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{answers: tt.answers}
			_, err := Read(context.Background(), s, Config{})
			require.Error(t, err)
			for _, want := range tt.is {
				assert.ErrorIs(t, err, want)
			}
			assert.Len(t, s.sent, len(tt.answers), "every scripted answer used, none more")
		})
	}
}

func TestEndless61xx(t *testing.T) {
	n := 0
	tr := apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) {
		n++
		return mustHex("6110"), nil
	})
	_, err := Read(context.Background(), tr, Config{})
	require.Error(t, err)
	assert.ErrorIs(t, err, apdu.ErrTooManyGetResponses)
	assert.ErrorIs(t, err, ErrMalformed)
	assert.Less(t, n, 100)
}

func TestTransportErrorsPassThrough(t *testing.T) {
	for _, base := range []error{apdu.ErrCardRemoved, apdu.ErrCardReset, context.DeadlineExceeded} {
		tr := apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) { return nil, base })
		_, err := Read(context.Background(), tr, Config{})
		assert.ErrorIs(t, err, base)
		assert.False(t, errors.Is(err, ErrMalformed))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Read(ctx, newEFCard(mustHex(testCUIDHex), mustHex("700480025531")), Config{})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestNilTransport(t *testing.T) {
	_, err := Read(context.Background(), nil, Config{})
	assert.ErrorIs(t, err, errNilTransport)
	_, err = Select(context.Background(), nil, Config{})
	assert.ErrorIs(t, err, errNilTransport)
	var zero AP
	_, err = zero.ReadIdentity(context.Background())
	assert.ErrorIs(t, err, errNilTransport)
}

func TestConfig(t *testing.T) {
	aid, err := profile.ParseAID("F0 01 02 03 04 05")
	require.NoError(t, err)
	card := newEFCard(mustHex(testCUIDHex), mustHex("700480025531"))
	card.aid = aid
	card.files = map[uint16][]byte{0x1001: mustHex(testCUIDHex), 0x1002: mustHex("700480025531")}
	_, err = Read(context.Background(), card, Config{})
	assert.ErrorIs(t, err, ErrNotPresent, "default AID not on this card")
	res, err := Read(context.Background(), card, Config{AID: aid, CUIDFID: 0x1001, IdentityFID: 0x1002})
	require.NoError(t, err)
	assert.Equal(t, "U1", res.Identity.UserID)

	for _, bad := range []Config{
		{AID: profile.AID{1, 2}},
		{CUIDFID: 0x3F00},
		{IdentityFID: 0xFFFF},
		{CUIDFID: 7, IdentityFID: 7},
	} {
		_, err := Read(context.Background(), card, bad)
		assert.Error(t, err, "%+v", bad)
		_, err = Select(context.Background(), card, bad)
		assert.Error(t, err, "%+v", bad)
	}
}

func TestAPHandle(t *testing.T) {
	card := newEFCard(mustHex(testCUIDHex), mustHex("700480025531FFFF"))
	ctx := context.Background()
	ap, err := Select(ctx, card, Config{})
	require.NoError(t, err)
	assert.Equal(t, profile.DefaultAID(profile.TypeC), ap.Config().AID)
	c, err := ap.CUID(ctx)
	require.NoError(t, err)
	assert.Equal(t, testCUIDHex, c.String())
	// Another application selects something else in between: the handle
	// selects the AP again.
	card.selected = 0
	id, err := ap.ReadIdentity(ctx)
	require.NoError(t, err)
	assert.Equal(t, "U1", id.UserID)

	_, err = Select(ctx, newEFCard(nil, nil).withAID(profile.AID{0xF0, 1, 2, 3, 4}), Config{})
	assert.ErrorIs(t, err, ErrNotPresent)
}

func (c *efCard) withAID(a profile.AID) *efCard { c.aid = a; return c }

func TestStatusErrorText(t *testing.T) {
	e := &StatusError{Op: "SELECT EF 0002", SW: apdu.ErrSecurityStatusNotSatisfied}
	assert.Contains(t, e.Error(), "SELECT EF 0002")
	assert.Contains(t, e.Error(), "6982")
	var se *StatusError
	_, err := Read(context.Background(), &script{answers: []string{"6999"}}, Config{})
	require.ErrorAs(t, err, &se)
	assert.Equal(t, apdu.StatusWord(0x6999), se.SW)
}
