package apdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// h decodes hex, ignoring spaces; it panics on bad test data.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// seq returns n bytes 0, 1, 2, ... (mod 256).
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func hexOf(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// The encodings follow ISO/IEC 7816-4 §5.1, table 1 (cases 1, 2S, 3S, 4S,
// 2E, 3E, 4E) and the Ne semantics of §5.1: Le 00 = 256, Le 0000 = 65536.
func TestCommandEncode(t *testing.T) {
	d256 := seq(256)
	d65535 := seq(MaxExtendedLc)
	tests := []struct {
		name string
		cmd  Command
		want []byte
		ext  bool // IsExtended
		// reparsed is true when ParseCommand(want) must give back cmd
		// exactly (false for forced-extended case 1, which has no length
		// field to show it).
		reparsed bool
	}{
		{"case 1", Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x0C}, h("00A4040C"), false, true},
		{"case 1 extended forced has nothing to extend", Command{INS: 0xA4, Extended: true}, h("00A40000"), true, false},
		{"case 2S Ne 1", Command{INS: 0xB0, Ne: 1}, h("00B0000001"), false, true},
		{"case 2S Ne 255", Command{INS: 0xB0, Ne: 255}, h("00B00000FF"), false, true},
		{"case 2S Ne 256 is Le 00", Command{INS: 0xB0, Ne: 256}, h("00B0000000"), false, true},
		{"case 2E Ne 257", Command{INS: 0xB0, Ne: 257}, h("00B00000 000101"), true, true},
		{"case 2E Ne 65535", Command{INS: 0xB0, Ne: 65535}, h("00B00000 00FFFF"), true, true},
		{"case 2E Ne 65536 is Le 0000", Command{INS: 0xB0, Ne: 65536}, h("00B00000 000000"), true, true},
		{"case 2E forced Ne 1", Command{INS: 0xB0, Ne: 1, Extended: true}, h("00B00000 000001"), true, true},
		{"case 2E forced Ne 256", Command{INS: 0xB0, Ne: 256, Extended: true}, h("00B00000 000100"), true, true},
		{"case 3S one byte", Command{CLA: 0x80, INS: 0xD6, Data: h("AA")}, h("80D60000 01 AA"), false, true},
		{"case 3S 255 bytes", Command{INS: 0xD6, Data: seq(255)}, append(h("00D60000 FF"), seq(255)...), false, true},
		{"case 3E 256 bytes", Command{INS: 0xD6, Data: d256}, append(h("00D60000 000100"), d256...), true, true},
		{"case 3E 65535 bytes", Command{INS: 0xD6, Data: d65535}, append(h("00D60000 00FFFF"), d65535...), true, true},
		{"case 3E forced", Command{INS: 0xD6, Data: h("AA"), Extended: true}, h("00D60000 000001 AA"), true, true},
		{"case 4S", Command{INS: 0xA4, P1: 0x04, Data: h("A000000001"), Ne: 16}, h("00A40400 05 A000000001 10"), false, true},
		{"case 4S Ne 256", Command{INS: 0x88, Data: h("0102"), Ne: 256}, h("00880000 02 0102 00"), false, true},
		{"case 4E by Ne", Command{INS: 0x88, Data: h("0102"), Ne: 257}, h("00880000 000002 0102 0101"), true, true},
		{"case 4E by Nc, Ne 256", Command{INS: 0x88, Data: d256, Ne: 256}, append(append(h("00880000 000100"), d256...), h("0100")...), true, true},
		{"case 4E Ne 65536", Command{INS: 0x88, Data: d256, Ne: 65536}, append(append(h("00880000 000100"), d256...), h("0000")...), true, true},
		{"case 4E forced", Command{INS: 0x88, Data: h("01"), Ne: 1, Extended: true}, h("00880000 000001 01 0001"), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.ext, tc.cmd.IsExtended())

			n, err := tc.cmd.EncodedLen()
			require.NoError(t, err)
			assert.Equal(t, len(tc.want), n)

			got, err := tc.cmd.Bytes()
			require.NoError(t, err)
			assert.Equal(t, hexOf(tc.want), hexOf(got))

			buf := make([]byte, n+10)
			m, err := tc.cmd.Encode(buf)
			require.NoError(t, err)
			assert.Equal(t, tc.want, buf[:m])

			prefix := []byte{0xEE, 0xEE}
			app, err := tc.cmd.AppendTo(prefix)
			require.NoError(t, err)
			assert.Equal(t, append([]byte{0xEE, 0xEE}, tc.want...), app)

			parsed, err := ParseCommand(tc.want)
			require.NoError(t, err)
			if tc.reparsed {
				assert.Equal(t, tc.cmd.CLA, parsed.CLA)
				assert.Equal(t, tc.cmd.INS, parsed.INS)
				assert.Equal(t, tc.cmd.P1, parsed.P1)
				assert.Equal(t, tc.cmd.P2, parsed.P2)
				assert.Equal(t, len(tc.cmd.Data), len(parsed.Data))
				assert.True(t, bytes.Equal(tc.cmd.Data, parsed.Data))
				assert.Equal(t, tc.cmd.Ne, parsed.Ne)
				assert.Equal(t, tc.ext, parsed.IsExtended())
			}
			again, err := parsed.Bytes()
			require.NoError(t, err)
			assert.Equal(t, tc.want, again, "parse then encode must give the same bytes")
		})
	}
}

func TestCommandEncodeInvalid(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
	}{
		{"negative Ne", Command{INS: 0xB0, Ne: -1}},
		{"Ne above 65536", Command{INS: 0xB0, Ne: MaxExtendedNe + 1}},
		{"Nc above 65535", Command{INS: 0xD6, Data: make([]byte, MaxExtendedLc+1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cmd.EncodedLen()
			assert.ErrorIs(t, err, ErrInvalidCommand)
			_, err = tc.cmd.Bytes()
			assert.ErrorIs(t, err, ErrInvalidCommand)
			_, err = tc.cmd.Encode(make([]byte, 70000))
			assert.ErrorIs(t, err, ErrInvalidCommand)
			dst := []byte{1, 2}
			out, err := tc.cmd.AppendTo(dst)
			assert.ErrorIs(t, err, ErrInvalidCommand)
			assert.Equal(t, dst, out, "dst is returned unchanged on error")
		})
	}
}

func TestCommandEncodeBufferTooSmall(t *testing.T) {
	cmd := Command{INS: 0xA4, Data: h("3F00"), Ne: 256}
	buf := make([]byte, 7) // needs 8
	n, err := cmd.Encode(buf)
	assert.ErrorIs(t, err, ErrInvalidCommand)
	assert.Zero(t, n)
	assert.Equal(t, make([]byte, 7), buf, "nothing written")
}

func TestParseCommandInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"3 bytes", h("00A404")},
		{"short Lc longer than body", h("00A40000 05 0102")},
		{"short Lc shorter than body by 2", h("00A40000 01 AA BB CC")},
		{"two-byte body starting 00", h("00A40000 0000")},
		{"extended Lc zero", h("00A40000 000000 01")},
		{"extended Lc longer than body", h("00A40000 000002 01")},
		{"extended one-byte Le", h("00A40000 000001 AA 00")},
		{"extended three-byte Le", h("00A40000 000001 AA 000000")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCommand(tc.in)
			require.ErrorIs(t, err, ErrInvalidCommand)
			assert.Equal(t, Command{}, c)
		})
	}
}

func TestParseCommandAliasesInput(t *testing.T) {
	raw := h("00D60000 02 AABB")
	c, err := ParseCommand(raw)
	require.NoError(t, err)
	raw[5] = 0x11
	assert.Equal(t, byte(0x11), c.Data[0])
}

func TestEncodeAllocatesNothing(t *testing.T) {
	cmds := map[string]Command{
		"case 1":  {INS: 0xA4},
		"case 4S": {INS: 0xA4, P1: 0x04, Data: h("A000000001"), Ne: 256},
		"case 4E": {INS: 0xD6, Data: seq(1000), Ne: 65536},
		"forced":  {INS: 0xB0, Ne: 5, Extended: true},
	}
	for name, c := range cmds {
		t.Run(name, func(t *testing.T) {
			buf := make([]byte, 2000)
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := c.Encode(buf); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs, "Encode")
			allocs = testing.AllocsPerRun(100, func() {
				if _, err := c.AppendTo(buf[:0]); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs, "AppendTo")
			allocs = testing.AllocsPerRun(100, func() {
				if _, err := c.EncodedLen(); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs, "EncodedLen")
		})
	}
}

func TestCommandErrorsMatchOnlyTheirSentinel(t *testing.T) {
	_, err := ParseCommand(nil)
	assert.False(t, errors.Is(err, ErrMalformedResponse))
	assert.Contains(t, err.Error(), "need at least 4")
}

func TestCommandAndResponseNeverPrintData(t *testing.T) {
	pin := []byte("S3cr3tPIN!")
	c := Command{INS: 0x20, P2: 0x80, Data: pin, Extended: true}
	r := Response{Data: pin, SW: SWSuccess}
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprintf("%v", &c),
		fmt.Sprint(r), fmt.Sprintf("%v %+v %#v %s", r, r, r, r),
	} {
		assertNoSecret(t, s, pin)
	}
	assert.Equal(t, "00 20 00 80 Nc=10 Ne=0 extended", c.String())
	assert.Equal(t, "apdu.Command{00 20 00 80 Nc=10 Ne=0 extended}", c.GoString())
	assert.Equal(t, "9000 with 10 data bytes", r.String())
	assert.Equal(t, "apdu.Response{9000 with 10 data bytes}", r.GoString())
}

// Published vector: the worked secure-messaging example of ICAO Doc 9303
// part 11 (appendix to BAC) protects SELECT EF.COM 00 A4 02 0C 02 01 1E
// (case 3S) into 0C A4 02 0C 15 87 09 01 ... 8E 08 ... 00 (case 4S, Le 00).
func TestCommandICAOVectors(t *testing.T) {
	plain, err := ParseCommand(h("00A4020C02011E"))
	require.NoError(t, err)
	assert.Equal(t, Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: h("011E")}, plain)

	protected := h("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
	c, err := ParseCommand(protected)
	require.NoError(t, err)
	assert.Equal(t, byte(0x0C), c.CLA)
	assert.Len(t, c.Data, 0x15)
	assert.Equal(t, MaxShortNe, c.Ne, "Le 00 means Ne 256")
	again, err := c.Bytes()
	require.NoError(t, err)
	assert.Equal(t, protected, again)

	// Its data field is BER-TLV: DO'87' (padding indicator 01 and the
	// cryptogram) and DO'8E' (the MAC).
	objs, err := ParseAllBER(c.Data)
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.Equal(t, TLV{Tag: 0x87, Value: h("016375432908C044F6")}, objs[0])
	assert.Equal(t, TLV{Tag: 0x8E, Value: h("BF8B92D635FF24F8")}, objs[1])
}
