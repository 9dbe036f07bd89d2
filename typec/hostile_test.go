package typec

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
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
// for byte, with the example of that section (user ID "U1"): three APDUs,
// each EF read by its short EF identifier.
func TestReadExactAPDUs(t *testing.T) {
	s := scriptCard(t, []string{
		"9000",
		testCUIDHex + "9000",
		"700480025531" + strings.Repeat("FF", 26) + "9000",
	})
	res, err := Read(context.Background(), s, Config{})
	require.NoError(t, err)
	assert.Equal(t, "U1", res.Identity.UserID)
	assert.Equal(t, testCUIDHex, res.CUID.String())
	assert.Equal(t, 3, res.APDUs)
	assertSent(t, s.Sent(), selectAPHex, "00B0810010", "00B0820000")
}

// TestReadExactAPDUsSelectByFID pins the sequence of Config.SelectByFID
// (docs/PROTOCOL.md §2.3, alternative): SELECT EF before each READ BINARY.
func TestReadExactAPDUsSelectByFID(t *testing.T) {
	s := scriptCard(t, []string{
		"9000",
		"9000",
		testCUIDHex + "9000",
		"9000",
		"700480025531" + strings.Repeat("FF", 26) + "9000",
	})
	res, err := Read(context.Background(), s, Config{SelectByFID: true})
	require.NoError(t, err)
	assert.Equal(t, "U1", res.Identity.UserID)
	assert.Equal(t, testCUIDHex, res.CUID.String())
	assert.Equal(t, 5, res.APDUs)
	assertSent(t, s.Sent(), selectAPHex, "00A4020C020001", "00B0000010", "00A4020C020002", "00B0000000")
}

// TestReadFallbackExactAPDUs pins the fallback from a read by short EF
// identifier to SELECT EF + READ BINARY (docs/PROTOCOL.md §2.3) for each
// status word that leads there: the card-wide refusals switch the rest of
// the read to file identifiers, the per-EF ones only that EF.
func TestReadFallbackExactAPDUs(t *testing.T) {
	const identity = "700480025531" + "9000"
	cuid := testCUIDHex + "9000"
	wholeCard := func(sw string) []string {
		return []string{"9000", sw, "9000", cuid, "9000", identity}
	}
	wholeCardSent := []string{selectAPHex, "00B0810010", "00A4020C020001", "00B0000010", "00A4020C020002", "00B0000000"}
	cuidOnly := func(sw string) []string { return []string{"9000", sw, "9000", cuid, identity} }
	cuidOnlySent := []string{selectAPHex, "00B0810010", "00A4020C020001", "00B0000010", "00B0820000"}
	tests := []struct {
		name    string
		answers []string
		sent    []string
	}{
		{"6A81 function not supported", wholeCard("6A81"), wholeCardSent},
		{"6A86 incorrect P1-P2", wholeCard("6A86"), wholeCardSent},
		{"6986 no current EF", wholeCard("6986"), wholeCardSent},
		{"6A82 on EF.CUID only", cuidOnly("6A82"), cuidOnlySent},
		{"6981 on EF.CUID only", cuidOnly("6981"), cuidOnlySent},
		{"6B00 on EF.CUID only", cuidOnly("6B00"), cuidOnlySent},
		{"6A82 on EF.Identity only", []string{"9000", cuid, "6A82", "9000", identity},
			[]string{selectAPHex, "00B0810010", "00B0820000", "00A4020C020002", "00B0000000"}},
		{"6B00 on EF.Identity only", []string{"9000", cuid, "6B00", "9000", identity},
			[]string{selectAPHex, "00B0810010", "00B0820000", "00A4020C020002", "00B0000000"}},
		{"6A82 on both", []string{"9000", "6A82", "9000", cuid, "6A82", "9000", identity},
			[]string{selectAPHex, "00B0810010", "00A4020C020001", "00B0000010", "00B0820000", "00A4020C020002", "00B0000000"}},
		{"6Cxx on the read by SFI is no refusal", []string{"9000", cuid, "6C06", identity},
			[]string{selectAPHex, "00B0810010", "00B0820000", "00B0820006"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scriptCard(t, tt.answers)
			res, err := Read(context.Background(), s, Config{})
			require.NoError(t, err)
			assert.Equal(t, "U1", res.Identity.UserID)
			assert.Equal(t, testCUIDHex, res.CUID.String())
			assert.Equal(t, len(tt.sent), res.APDUs, "Result.APDUs counts the fallback")
			assertSent(t, s.Sent(), tt.sent...)
		})
	}
}

// TestClassifySFI pins which answers to a READ BINARY by short EF
// identifier lead to SELECT EF (docs/PROTOCOL.md §2.3).
func TestClassifySFI(t *testing.T) {
	for sw, want := range map[apdu.StatusWord]sfiFallback{
		apdu.ErrFunctionNotSupported:       sfiCardRefuses,
		apdu.ErrIncorrectP1P2:              sfiCardRefuses,
		apdu.ErrCommandNotAllowedNoEF:      sfiCardRefuses,
		apdu.ErrFileNotFound:               sfiEFRefuses,
		apdu.ErrIncompatibleFileStructure:  sfiEFRefuses,
		apdu.ErrWrongP1P2:                  sfiEFRefuses,
		apdu.SWSuccess:                     sfiStands,
		apdu.WarnEndOfFile:                 sfiStands,
		apdu.ErrSecurityStatusNotSatisfied: sfiStands,
		apdu.ErrWrongLength:                sfiStands,
		apdu.ErrINSNotSupported:            sfiStands,
		apdu.ErrCLANotSupported:            sfiStands,
		apdu.ErrReferencedDataNotFound:     sfiStands,
		apdu.ErrNoPreciseDiagnosis:         sfiStands,
	} {
		assert.Equal(t, want, classifySFI(sw), "%v", sw)
	}
}

// assertSent checks the commands sent, in hex, one by one.
func assertSent(t *testing.T, sent [][]byte, want ...string) {
	t.Helper()
	require.Len(t, sent, len(want))
	for i, w := range want {
		assert.Equal(t, mustHex(w), sent[i], "APDU %d", i+1)
	}
}

// TestReadLongIdentity checks that an object over 256 bytes is completed
// with exactly the reads it needs, by offset into the EF the read by SFI
// made current, padding unread.
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
	assert.Equal(t, 4, res.APDUs, "one more READ BINARY for the part past 256 bytes")
	assertSent(t, card.sent, selectAPHex, "00B0810010", "00B0820000", fmt.Sprintf("00B00100%02X", len(enc)-256))
}

// TestReadFakeCardsWithoutSFI runs whole reads on cards that do not take
// short EF identifiers, each in its own way, and on a card that does with
// the fallback switched off or on.
func TestReadFakeCardsWithoutSFI(t *testing.T) {
	attrs := []profile.Attribute{{Name: "a", Value: strings.Repeat("x", 250)}, {Name: "b", Value: strings.Repeat("y", 100)}}
	longID := profile.Identity{UserID: "LONG-1", Attributes: attrs}
	long, err := longID.MarshalBinary()
	require.NoError(t, err)
	short, u1 := mustHex("700480025531FFFF"), profile.Identity{UserID: "U1"}
	legacy := func(c *efCard) { c.legacy = true }
	tests := []struct {
		name     string
		identity []byte
		setup    func(c *efCard)
		cfg      Config
		want     profile.Identity
		apdus    int
	}{
		{"SFI card", short, nil, Config{}, u1, 3},
		{"SFI card, long identity", long, nil, Config{}, longID, 4},
		{"SFI card, SelectByFID", short, nil, Config{SelectByFID: true}, u1, 5},
		{"card ignoring P1 bit 8", short, legacy, Config{}, u1, 6},
		{"card ignoring P1 bit 8, long identity", long, legacy, Config{}, longID, 7},
		{"card ignoring P1 bit 8, SelectByFID", short, legacy, Config{SelectByFID: true}, u1, 5},
		{"card answering 6A81", short, func(c *efCard) { c.sfiSW = apdu.ErrFunctionNotSupported }, Config{}, u1, 6},
		{"card answering 6A86", short, func(c *efCard) { c.sfiSW = apdu.ErrIncorrectP1P2 }, Config{}, u1, 6},
		{"EFs without SFIs (6A82)", short, func(c *efCard) { c.sfis = nil }, Config{}, u1, 7},
		{"EFs without SFIs, long identity", long, func(c *efCard) { c.sfis = nil }, Config{}, longID, 8},
		{"other SFIs, configured", short, func(c *efCard) { c.sfis = map[byte]uint16{7: profile.FIDCUID, 30: profile.FIDIdentity} }, Config{CUIDSFI: 7, IdentitySFI: 30}, u1, 3},
		{"SFI reads would fail (6F00), SelectByFID sends none", short, func(c *efCard) { c.sfiSW = apdu.ErrNoPreciseDiagnosis }, Config{SelectByFID: true}, u1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := newEFCard(mustHex(testCUIDHex), tt.identity)
			if tt.setup != nil {
				tt.setup(card)
			}
			res, err := Read(context.Background(), card, tt.cfg)
			require.NoError(t, err)
			assert.Equal(t, testCUIDHex, res.CUID.String())
			assert.Equal(t, tt.want, res.Identity)
			assert.Equal(t, tt.apdus, res.APDUs)
			assert.Equal(t, card.apdus, res.APDUs, "APDUs the card saw")
		})
	}
}

// TestHandleWithoutSFI: each method of an AP handle falls back on its own
// (a handle keeps no state between calls).
func TestHandleWithoutSFI(t *testing.T) {
	card := newEFCard(mustHex(testCUIDHex), mustHex("700480025531"))
	card.legacy = true
	ctx := context.Background()
	ap, err := Open(ctx, card, Config{})
	require.NoError(t, err)
	c, err := ap.CUID(ctx)
	require.NoError(t, err)
	assert.Equal(t, testCUIDHex, c.String())
	id, err := ap.ReadIdentity(ctx)
	require.NoError(t, err)
	assert.Equal(t, "U1", id.UserID)
	assertSent(t, card.sent,
		selectAPHex,
		selectAPHex, "00B0810010", "00A4020C020001", "00B0000010",
		selectAPHex, "00B0820000", "00A4020C020002", "00B0000000")
}

func TestHostileCard(t *testing.T) {
	ok2 := []string{"9000", testCUIDHex + "9000"}
	longHead := "7082010180025531" + strings.Repeat("FF", 248) + "9000"
	tests := []struct {
		name    string
		answers []string
		is      []error
	}{
		{"select answers one byte", []string{"90"}, []error{profile.ErrMalformed, apdu.ErrMalformedResponse}},
		{"select answers nothing", []string{""}, []error{profile.ErrMalformed, apdu.ErrMalformedResponse}},
		{"AP not present", []string{"6A82"}, []error{profile.ErrNotPresent}},
		{"select refused otherwise", []string{"6999"}, []error{apdu.StatusWord(0x6999)}},
		{"EF.CUID missing", []string{"9000", "6A82", "6A82"}, []error{profile.ErrMalformed, apdu.ErrFileNotFound}},
		{"EF.CUID missing, card without SFI", []string{"9000", "6986", "6A82"}, []error{profile.ErrMalformed, apdu.ErrFileNotFound}},
		{"SFI refused, then SELECT EF refused", []string{"9000", "6A81", "6982"}, []error{apdu.ErrSecurityStatusNotSatisfied}},
		{"SFI refused, then READ BINARY refused", []string{"9000", "6A86", "9000", "6A81"}, []error{apdu.ErrFunctionNotSupported}},
		{"CUID too short", []string{"9000", "0011 6282"}, []error{profile.ErrMalformed, profile.ErrInvalidCUID}},
		{"CUID EF too short, 6700", []string{"9000", "6700"}, []error{profile.ErrMalformed, apdu.ErrWrongLength}},
		{"CUID EF too short, 6B00 both ways", []string{"9000", "6B00", "9000", "6B00"}, []error{profile.ErrMalformed, apdu.ErrWrongP1P2}},
		{"CUID longer than asked", []string{"9000", testCUIDHex + "00 9000"}, []error{profile.ErrMalformed, apdu.ErrMalformedResponse}},
		{"CUID longer than asked after the fallback", []string{"9000", "6A82", "9000", testCUIDHex + "00 9000"}, []error{profile.ErrMalformed, apdu.ErrMalformedResponse}},
		{"CUID all zero", []string{"9000", strings.Repeat("00", 16) + "9000"}, []error{profile.ErrMalformed, profile.ErrInvalidCUID}},
		{"CUID needs security (no fallback)", []string{"9000", "6982"}, []error{apdu.ErrSecurityStatusNotSatisfied}},
		{"CUID read 6D00 (no fallback)", []string{"9000", "6D00"}, []error{apdu.ErrINSNotSupported}},
		{"CUID read 6F00 (no fallback)", []string{"9000", "6F00"}, []error{apdu.ErrNoPreciseDiagnosis}},
		{"CUID read answers 61xx with nothing behind", []string{"9000", "6110", ""}, []error{profile.ErrMalformed, apdu.ErrMalformedResponse}},
		{"identity EF missing", append(ok2, "6A82", "6A82"), []error{profile.ErrMalformed, apdu.ErrFileNotFound}},
		{"identity erased FF", append(ok2, strings.Repeat("FF", 64)+"9000"), []error{profile.ErrNotPersonalized}},
		{"identity erased 00", append(ok2, strings.Repeat("00", 256)+"9000"), []error{profile.ErrNotPersonalized}},
		{"identity EF empty 6282", append(ok2, "6282"), []error{profile.ErrNotPersonalized}},
		{"identity EF empty 6B00 both ways", append(ok2, "6B00", "9000", "6B00"), []error{profile.ErrNotPersonalized}},
		{"identity EF empty 6282 after the fallback", append(ok2, "6A82", "9000", "6282"), []error{profile.ErrNotPersonalized}},
		{"identity wrong tag", append(ok2, "710480025531 9000"), []error{profile.ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity garbage after erased byte", append(ok2, "FF41 9000"), []error{profile.ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity three-byte length", append(ok2, "7083000004 9000"), []error{profile.ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity huge length", append(ok2, "7082FFFF80025531 9000"), []error{profile.ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity past end of EF (6282)", append(ok2, "7082010080025531 6282"), []error{profile.ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity past end of EF (6B00 on next read)", append(ok2, longHead, "6B00"), []error{profile.ErrMalformed, profile.ErrInvalidIdentity}},
		{"next read returns nothing", append(ok2, longHead, "9000"), []error{profile.ErrMalformed, apdu.ErrMalformedResponse}},
		{"next read refused", append(ok2, longHead, "6982"), []error{apdu.ErrSecurityStatusNotSatisfied}},
		{"next read finds no current EF (the read by SFI did not select)", append(ok2, longHead, "6986"), []error{apdu.ErrCommandNotAllowedNoEF}},
		{"identity read answers 257 bytes", append(ok2, strings.Repeat("70", 257)+"9000"), []error{profile.ErrMalformed, apdu.ErrResponseTooLarge}},
		{"identity read answers 257 bytes after the fallback", append(ok2, "6A82", "9000", strings.Repeat("70", 257)+"9000"), []error{profile.ErrMalformed, apdu.ErrResponseTooLarge}},
		{"trailing garbage", append(ok2, "70048002553101 9000"), []error{profile.ErrMalformed, profile.ErrInvalidIdentity}},
		{"identity read needs security (no fallback)", append(ok2, "6982"), []error{apdu.ErrSecurityStatusNotSatisfied}},
		{"identity SELECT EF refused after the fallback", append(ok2, "6A86", "6982"), []error{apdu.ErrSecurityStatusNotSatisfied}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scriptCard(t, tt.answers)
			res, err := Read(context.Background(), s, Config{})
			require.Error(t, err)
			for _, want := range tt.is {
				assert.ErrorIs(t, err, want)
			}
			assert.Len(t, s.Sent(), len(tt.answers), "every scripted answer used, none more")
			assert.Equal(t, len(tt.answers), res.APDUs, "Result.APDUs on error")
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
	assert.ErrorIs(t, err, profile.ErrMalformed)
	assert.Less(t, n, 100)
}

func TestTransportErrorsPassThrough(t *testing.T) {
	for _, base := range []error{apdu.ErrCardRemoved, apdu.ErrCardReset, context.DeadlineExceeded} {
		tr := apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) { return nil, base })
		_, err := Read(context.Background(), tr, Config{})
		assert.ErrorIs(t, err, base)
		assert.False(t, errors.Is(err, profile.ErrMalformed))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Read(ctx, newEFCard(mustHex(testCUIDHex), mustHex("700480025531")), Config{})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestNilTransport(t *testing.T) {
	_, err := Read(context.Background(), nil, Config{})
	assert.ErrorIs(t, err, errNilTransport)
	_, err = Open(context.Background(), nil, Config{})
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
	card.sfis = map[byte]uint16{5: 0x1001, 6: 0x1002}
	_, err = Read(context.Background(), card, Config{})
	assert.ErrorIs(t, err, profile.ErrNotPresent, "default AID not on this card")

	card.sent = nil
	res, err := Read(context.Background(), card, Config{AID: aid, CUIDSFI: 5, IdentitySFI: 6})
	require.NoError(t, err)
	assert.Equal(t, "U1", res.Identity.UserID)
	assertSent(t, card.sent, "00A4040C06F00102030405", "00B0850010", "00B0860000")

	// Default SFIs name no EF on this card (6A82): each EF falls back to
	// its configured file identifier.
	card.sent = nil
	res, err = Read(context.Background(), card, Config{AID: aid, CUIDFID: 0x1001, IdentityFID: 0x1002})
	require.NoError(t, err)
	assert.Equal(t, "U1", res.Identity.UserID)
	assertSent(t, card.sent, "00A4040C06F00102030405",
		"00B0810010", "00A4020C021001", "00B0000010",
		"00B0820000", "00A4020C021002", "00B0000000")

	for _, bad := range []Config{
		{AID: profile.AID{1, 2}},
		{CUIDFID: 0x3F00},
		{IdentityFID: 0xFFFF},
		{CUIDFID: 7, IdentityFID: 7},
		{CUIDSFI: 31},
		{IdentitySFI: 0xFF},
		{CUIDSFI: 2},     // the default of EF.Identity
		{IdentitySFI: 1}, // the default of EF.CUID
		{CUIDSFI: 9, IdentitySFI: 9},
		{CUIDSFI: 31, SelectByFID: true}, // validated whatever the mode
	} {
		card.sent = nil
		_, err := Read(context.Background(), card, bad)
		assert.Error(t, err, "%+v", bad)
		_, err = Open(context.Background(), card, bad)
		assert.Error(t, err, "%+v", bad)
		assert.Empty(t, card.sent, "a bad Config sends nothing: %+v", bad)
	}
}

func TestConfigDefaults(t *testing.T) {
	ap, err := Open(context.Background(), newEFCard(mustHex(testCUIDHex), nil), Config{})
	require.NoError(t, err)
	got := ap.Config()
	assert.Equal(t, Config{AID: profile.DefaultAID(profile.TypeC), CUIDFID: 0x0001, IdentityFID: 0x0002, CUIDSFI: 1, IdentitySFI: 2}, got)
}

func TestAPHandle(t *testing.T) {
	card := newEFCard(mustHex(testCUIDHex), mustHex("700480025531FFFF"))
	ctx := context.Background()
	ap, err := Open(ctx, card, Config{})
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

	_, err = Open(ctx, newEFCard(nil, nil).withAID(profile.AID{0xF0, 1, 2, 3, 4}), Config{})
	assert.ErrorIs(t, err, profile.ErrNotPresent)
}

func (c *efCard) withAID(a profile.AID) *efCard { c.aid = a; return c }

func TestStatusErrorText(t *testing.T) {
	e := &StatusError{Op: "SELECT EF 0002", SW: apdu.ErrSecurityStatusNotSatisfied}
	assert.Contains(t, e.Error(), "SELECT EF 0002")
	assert.Contains(t, e.Error(), "6982")
	var se *StatusError
	_, err := Read(context.Background(), scriptCard(t, []string{"6999"}), Config{})
	require.ErrorAs(t, err, &se)
	assert.Equal(t, apdu.StatusWord(0x6999), se.SW)

	// The step names the way the EF was addressed.
	_, err = Read(context.Background(), scriptCard(t, []string{"9000", "6982"}), Config{})
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "READ BINARY EF.CUID by SFI 1", se.Op)
	_, err = Read(context.Background(), scriptCard(t, []string{"9000", testCUIDHex + "9000", "6A82", "9000", "6982"}), Config{})
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "READ BINARY EF.Identity", se.Op)
}

// A removal wins over a malformed answer: a transport error that matches
// both apdu.ErrCardRemoved and apdu.ErrMalformedResponse (as the reader's
// "no response bytes" error of a vanished card once did), at any APDU of
// the read, is returned as the removal and never as profile.ErrMalformed.
func TestRemovalWinsOverMalformed(t *testing.T) {
	both := fmt.Errorf("reader: no response bytes: %w (%w)", apdu.ErrCardRemoved, apdu.ErrMalformedResponse)
	for _, cfg := range []Config{{}, {SelectByFID: true}} {
		for k := 1; k <= 5; k++ {
			card := newEFCard(mustHex(testCUIDHex), mustHex("700480025531"))
			n := 0
			tr := apdu.TransportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
				n++
				if n == k {
					return nil, both
				}
				return card.Transmit(ctx, cmd)
			})
			_, err := Read(context.Background(), tr, cfg)
			if n < k {
				continue // the read needs fewer APDUs
			}
			assert.ErrorIs(t, err, apdu.ErrCardRemoved, "APDU %d, SelectByFID %v", k, cfg.SelectByFID)
			assert.NotErrorIs(t, err, profile.ErrMalformed, "APDU %d, SelectByFID %v", k, cfg.SelectByFID)
		}
	}
}
