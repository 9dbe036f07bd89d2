package mockcard

import (
	"context"
	"strings"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCommands runs every command through its status-word paths. Each case
// starts from a fresh card, runs setup (each must answer 9000 unless it
// starts with '!'), then checks the full response of cmd.
func TestCommands(t *testing.T) {
	sel := []string{selTest}
	selEF := func(fid string) []string { return []string{selTest, "00A4020C02" + fid} }
	verified := []string{selTest, "0020008104" + "31323334"}
	tests := []struct {
		name  string
		setup []string
		cmd   string
		want  string
	}{
		// Malformed and class errors.
		{"too short", nil, "00A4", "6700"},
		{"Lc mismatch", nil, "00A4040C05F001", "6700"},
		{"unknown CLA 80", nil, "80A4040C06F00102030405", "6E00"},
		{"CLA FF", nil, "FFA4040C06F00102030405", "6E00"},
		{"logical channel", nil, "01A4040C06F00102030405", "6881"},
		{"SM bits 04", nil, "04A4040C06F00102030405", "6882"},
		{"CLA 0C without session", sel, "0CB0000005", "6982"},
		{"unknown INS", sel, "00CA000000", "6D00"},

		// SELECT.
		{"select AP no FCI", nil, selTest, "9000"},
		{"select AP FCI", nil, "00A4040006F0010203040500", "6F108406F00102030405A506C204544553549000"}, // with the test-card marker
		{"select AP FCI case 3", nil, "00A4040006F00102030405", "9000"},
		{"select AP FCI short Le", nil, "00A4040006F0010203040504", "6C12"},
		{"select AP FCP", nil, "00A4040406F0010203040500", "62088406F001020304059000"},
		{"select AP unknown", nil, "00A4040C05F0FFFFFFFF", "6A82"},
		{"select AP partial P2", nil, "00A4040206F00102030405", "6A86"},
		{"select AP no data", nil, "00A4040C", "6700"},
		{"select bad P1", nil, "00A4080C023F00", "6A86"},
		{"select MF", sel, "00A4000C023F00", "9000"},
		{"select MF no data", sel, "00A4000C", "9000"},
		{"select MF other FID", sel, "00A4000C021234", "6A82"},
		{"select EF", sel, "00A4020C020101", "9000"},
		{"select EF FCP", sel, "00A4020402010100", "620B8002000582010183020101" + "9000"},
		{"select EF FCI", sel, "00A4020002010200", "6F0B8002000482010483020102" + "9000"},
		{"select EF unknown", sel, "00A4020C020999", "6A82"},
		{"select EF bad length", sel, "00A4020C03010100", "6700"},
		{"select EF under MF", nil, "00A4020C020101", "6A82"},
		{"select MF bad length", sel, "00A4000C033F0000", "6700"},
		{"select AP AID too long", nil, "00A4040C11" + strings.Repeat("F0", 17), "6700"},

		// READ BINARY.
		{"read binary", selEF("0101"), "00B0000005", "68656C6C6F9000"},
		{"read binary offset", selEF("0101"), "00B0000203", "6C6C6F9000"},
		{"read binary Le 00", selEF("0101"), "00B0000000", "68656C6C6F9000"},
		{"read binary past end Le", selEF("0101"), "00B0000008", "68656C6C6F6282"},
		{"read binary at end", selEF("0101"), "00B0000501", "6282"},
		{"read binary beyond end", selEF("0101"), "00B0000601", "6B00"},
		{"read binary SFI", sel, "00B0810203", "6C6C6F9000"},
		{"read binary SFI bits 7-6", sel, "00B0A10203", "6A86"},
		{"read binary SFI unknown", sel, "00B0870003", "6A82"},
		{"read binary no EF", sel, "00B0000005", "6986"},
		{"read binary no Le", selEF("0101"), "00B00000", "6700"},
		{"read binary with data", selEF("0101"), "00B000000100", "6700"},
		{"read binary record EF", selEF("0102"), "00B0000005", "6981"},
		{"read binary never", selEF("0104"), "00B0000001", "6982"},
		{"read binary needs SM", selEF("0103"), "00B0000001", "6982"},
		{"read binary extended", selEF("0101"), "00B00000000005", "68656C6C6F9000"},
		{"read binary SFI 1F", sel, "00B09F0001", "6A86"},

		// UPDATE BINARY.
		{"update binary needs PIN", selEF("0101"), "00D6000001FF", "6982"},
		{"update binary", append(verified, "00A4020C020101"), "00D6000002AABB", "9000"},
		{"update binary grows", append(verified, "00A4020C020101"), "00D6000502AABB", "9000"},
		{"update binary past end", append(verified, "00A4020C020101"), "00D6000602AABB", "6B00"},
		{"update binary too big", append(verified, "00A4020C020101"), "00D600053C" + strings.Repeat("AA", 60), "6A84"},
		{"update binary no data", append(verified, "00A4020C020101"), "00D60000", "6700"},
		{"update binary with Le", append(verified, "00A4020C020101"), "00D6000001AA00", "6700"},
		{"update binary never", selEF("0103"), "00D6000001AA", "6982"},
		{"update binary record EF", selEF("0102"), "00D6000001AA", "6981"},
		{"update binary SFI", verified, "00D6810002AABB", "9000"},

		// Records.
		{"read record needs PIN", selEF("0102"), "00B2010400", "6982"},
		{"read record", append(verified, "00A4020C020102"), "00B2010400", "72319000"},
		{"read record SFI", verified, "00B2021400", "72329000"},
		{"read record exact Le", verified, "00B2021402", "72329000"},
		{"read record short Le", verified, "00B2021401", "6C02"},
		{"read record long Le", verified, "00B2021405", "72326282"},
		{"read record not found", verified, "00B2031400", "6A83"},
		{"read record P1 00", verified, "00B2001400", "6A86"},
		{"read record P2 mode", verified, "00B2011500", "6A86"},
		{"read record transparent", verified, "00B2010C00", "6981"},
		{"read record SFI 1F", verified, "00B201FC00", "6A86"},
		{"read record no EF", verified, "00B2010400", "6986"},
		{"append record", selEF("0102"), "00E2000002AABB", "9000"},
		{"append record SFI", sel, "00E2001002AABB", "9000"},
		{"append record bad P1", sel, "00E2011002AABB", "6A86"},
		{"append record too long", sel, "00E2001011" + "0102030405060708090A0B0C0D0E0F1011", "6A84"},
		{"append record full", append(selEF("0102"), "00E2000001AA"), "00E2000001BB", "6A84"},
		{"update record needs key", verified, "00DC011401AA", "6982"},
		{"update record P1 00", verified, "00DC001401AA", "6A86"},
		{"update record P2 mode", verified, "00DC011501AA", "6A86"},
		{"append record with Le", sel, "00E2001002AABB00", "6700"},

		// VERIFY.
		{"verify with Le", sel, "0020008100", "6700"},
		{"verify status case 1", sel, "00200081", "63C3"},
		{"verify ok", sel, "002000810431323334", "9000"},
		{"verify wrong", sel, "002000810431313131", "63C2"},
		{"verify status after ok", verified, "00200081", "9000"},
		{"verify bad format short", sel, "0020008103313233", "6A80"},
		{"verify unknown ref", sel, "002000820431323334", "6A88"},
		{"verify bad P1", sel, "002001810431323334", "6A86"},
		{"verify reset state", verified, "0020FF81", "9000"},
		{"verify reset with data", verified, "0020FF810431323334", "6700"},
		{"verify under MF", nil, "002000810431323334", "6A88"},

		// CHANGE REFERENCE DATA.
		{"change", sel, "00240081083132333435363738", "9000"},
		{"change wrong old", sel, "00240081083939393935363738", "63C2"},
		{"change short data", sel, "002400810431323334", "63C2"},
		{"change bad new", sel, "002400810631323334FFFF", "6A80"},
		// No oracle on the current PIN's length: a new part too short for
		// the bounds costs a try like any wrong current PIN.
		{"change wrong old bad new", sel, "0024008106393939393939", "63C2"},
		{"change P1 01 unverified", sel, "002401810435363738", "6982"},
		{"change P1 01 verified", verified, "002401810435363738", "9000"},
		{"change bad P1", sel, "00240281083132333435363738", "6A86"},
		{"change unknown ref", sel, "00240082083132333435363738", "6A88"},

		// RESET RETRY COUNTER without the admin key.
		{"reset retry counter unauthenticated", sel, "002C0381", "6982"},
		{"reset retry counter bad P1", sel, "002C0081", "6A86"},
		{"reset retry counter P1 01", sel, "002C0181", "6A86"},

		// GET CHALLENGE / MUTUAL AUTHENTICATE basics.
		{"get challenge bad Le", sel, "0084000004", "6700"},
		{"get challenge bad P1", sel, "0084010008", "6A86"},
		{"get challenge with data", sel, "00840000010008", "6700"},
		{"mutual auth without Le", []string{selTest, "0084000008"}, "0082000110" + strings.Repeat("00", 16), "6700"},
		{"get challenge no keys", []string{selOther}, "0084000008", "6985"},
		{"mutual auth without challenge", sel, "0082000138" + strings.Repeat("00", 56) + "00", "6985"},
		{"mutual auth wrong length", []string{selTest, "0084000008"}, "008200011000112233445566778899AABBCCDDEEFF00", "6700"},
		{"mutual auth unknown key", sel, "008200091000112233445566778899AABBCCDDEEFF00", "6A88"},
		{"mutual auth bad P1", sel, "008201011000112233445566778899AABBCCDDEEFF00", "6A86"},

		// ACTIVATE FILE.
		{"activate needs admin", sel, "00440000", "6982"}, // also when already operational
		{"activate MF", nil, "00440000", "6985"},
		{"activate bad P1", sel, "00440100", "6A86"},
		{"activate with data", sel, "0044000001AA", "6700"},
		{"activate with Le", sel, "0044000000", "6700"},

		// GET RESPONSE with nothing pending.
		{"get response nothing", sel, "00C0000005", "6985"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCard(t)
			for _, s := range tc.setup {
				require.Equal(t, "9000", sw(tx(t, c, s)), "setup %s", s)
			}
			assert.Equal(t, tc.want, tx(t, c, tc.cmd))
		})
	}
}

func TestPINRetryAndBlock(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	assert.Equal(t, "63C2", tx(t, c, "002000810430303030"))
	assert.Equal(t, "63C2", tx(t, c, "00200081"), "status query spends no try")
	assert.Equal(t, "63C1", tx(t, c, "002000810430303030"))
	assert.Equal(t, "9000", tx(t, c, "002000810431323334"), "success")
	assert.Equal(t, "9000", tx(t, c, "0020FF81"), "P1 FF resets the verified state")
	assert.Equal(t, "63C3", tx(t, c, "00200081"))
	n, err := c.PINTriesLeft(testAID, 0x81)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "counter reset to max on success")
	for want := 2; want >= 0; want-- {
		assert.Equal(t, apdu.StatusWord(0x63C0|uint16(want)).String(), tx(t, c, "002000810430303030"))
	}
	assert.Equal(t, "6983", tx(t, c, "00200081"), "blocked status")
	assert.Equal(t, "6983", tx(t, c, "002000810431323334"), "right PIN while blocked")
	assert.Equal(t, "6983", tx(t, c, "00240081083132333435363738"), "change while blocked")
	n, _ = c.PINTriesLeft(testAID, 0x81)
	assert.Equal(t, 0, n)
}

func TestPINChangeThenVerify(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	require.Equal(t, "9000", tx(t, c, "00240081083132333435363738"))
	assert.Equal(t, "9000", tx(t, c, "00200081"), "verified after change")
	tx(t, c, selTest)
	assert.Equal(t, "63C3", tx(t, c, "00200081"), "SELECT resets the verified state")
	assert.Equal(t, "63C2", tx(t, c, "002000810431323334"), "old PIN no longer works")
	assert.Equal(t, "9000", tx(t, c, "002000810435363738"))
}

func TestSecurityStateResetBySelectAndReset(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	tx(t, c, "002000810431323334")
	require.Equal(t, "9000", tx(t, c, "00200081"))
	tx(t, c, selOther)
	tx(t, c, selTest)
	assert.Equal(t, "63C3", tx(t, c, "00200081"), "other AP selected in between")

	tx(t, c, "002000810431323334")
	c.Reset()
	assert.Equal(t, "6A88", tx(t, c, "00200081"), "after reset the MF is selected")
	tx(t, c, selTest)
	assert.Equal(t, "63C3", tx(t, c, "00200081"), "reset clears verification")
}

func TestLengthModes(t *testing.T) {
	c := newTestCard(t, WithExtendedLength(false))
	tx(t, c, selTest)
	tx(t, c, "00A4020C020101")
	assert.Equal(t, "6700", tx(t, c, "00B00000000005"), "extended Le when switched off")
	assert.Equal(t, "68656C6C6F9000", tx(t, c, "00B0000005"))

	// Chaining: UPDATE BINARY in two parts.
	tx(t, c, "002000810431323334")
	tx(t, c, "00A4020C020101")
	assert.Equal(t, "9000", tx(t, c, "10D6000002AABB"))
	assert.Equal(t, "9000", tx(t, c, "00D6000002CCDD"))
	assert.Equal(t, "AABBCCDD6F9000", tx(t, c, "00B0000005"))
	assert.Equal(t, "9000", tx(t, c, "10D6000001AA"))
	assert.Equal(t, "6883", tx(t, c, "00B0000005"), "chain broken by another command")

	c2 := newTestCard(t, WithChaining(false))
	tx(t, c2, selTest)
	assert.Equal(t, "6884", tx(t, c2, "10D6000001AA"))
}

func TestGetResponseMode(t *testing.T) {
	c := newTestCard(t, WithGetResponse(2))
	tx(t, c, selTest)
	tx(t, c, "00A4020C020101")
	assert.Equal(t, "6105", tx(t, c, "00B0000005"))
	assert.Equal(t, "6A86", tx(t, c, "00C0010003"), "GET RESPONSE takes P1-P2 00 00")
	assert.Equal(t, "6700", tx(t, c, "00C00000"), "and an Le")
	assert.Equal(t, "68656C6102", tx(t, c, "00C0000003"), "the pending data survived the errors")
	assert.Equal(t, "6C6F9000", tx(t, c, "00C0000000"))
	assert.Equal(t, "6985", tx(t, c, "00C0000001"), "nothing pending any more")
	assert.Equal(t, "68659000", tx(t, c, "00B0000002"), "at the threshold: direct")

	// Another command discards pending data.
	assert.Equal(t, "6105", tx(t, c, "00B0000005"))
	assert.Equal(t, "9000", tx(t, c, "00A4020C020101"))
	assert.Equal(t, "6985", tx(t, c, "00C0000005"))

	// The apdu Channel follows 61xx transparently.
	data, err := apdu.NewChannel(c, apdu.ChannelConfig{}).Do(context.Background(), apdu.Command{INS: apdu.InsReadBinary, Ne: 5})
	require.NoError(t, err)
	assert.Equal(t, "hello", string(data))
}

func TestLifecycleSealing(t *testing.T) {
	spec := testSpec()
	spec.Lifecycle = Personalization
	c, err := New(WithAP(spec))
	require.NoError(t, err)
	tx(t, c, selTest)
	tx(t, c, "00A4020C020101")
	assert.Equal(t, "9000", tx(t, c, "00D6000001AA"), "personalization: update always")
	assert.Equal(t, "6982", tx(t, c, "00440000"), "sealing needs the admin key")
	life, err := c.Lifecycle(testAID)
	require.NoError(t, err)
	assert.Equal(t, Personalization, life)
	ctx := context.Background()
	sess := authenticate(t, c, 0x02, testKey2Enc, testKey2Mac)
	assert.Equal(t, apdu.SWSuccess, smSW(t, sess, ctx, apdu.Command{INS: apdu.InsActivateFile}))
	life, _ = c.Lifecycle(testAID)
	assert.Equal(t, Operational, life)
	tx(t, c, selTest)
	tx(t, c, "00A4020C020101")
	assert.Equal(t, "6982", tx(t, c, "00D6000001AA"), "operational: update needs the PIN")
}

// The data of a whole chain, last part included, is bounded by 65535
// bytes (the largest Nc): 6700 beyond, and the chain is over.
func TestChainTotalBounded(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	tx(t, c, "002000810431323334")
	tx(t, c, "00A4020C020101")
	first := "10D60000" + "00FFFF" + strings.Repeat("AA", 0xFFFF)
	assert.Equal(t, "9000", tx(t, c, first))
	assert.Equal(t, "6700", tx(t, c, "00D6000001BB"), "65536 bytes in all")
	assert.Equal(t, "9000", tx(t, c, "00D600000162"), "no chain pending any more")
	got, err := c.ReadEF(testAID, 0x0101)
	require.NoError(t, err)
	assert.Equal(t, "bello", string(got))
}
