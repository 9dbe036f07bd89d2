package reader

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
)

func atrHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseATR(t *testing.T) {
	tests := []struct {
		name       string
		atr        string
		protocols  []int
		historical string
		ext, chain apdu.Support
		tckValid   bool
	}{
		// The ATR OpenSC's JPKI driver lists (card-jpki.c jpki_atrs): T=1,
		// no historical bytes.
		{"My Number Card (OpenSC table)", "3B E0 00 FF 81 31 FE 45 14", []int{1}, "", apdu.SupportUnknown, apdu.SupportUnknown, true},
		// The mock's default: T=0 and T=1, "freespace mock".
		{"mock default", "3B 8E 80 01" + hex.EncodeToString([]byte("freespace mock")) + "XX", []int{0, 1}, hex.EncodeToString([]byte("freespace mock")), apdu.SupportUnknown, apdu.SupportUnknown, true},
		// Category 80, card capabilities 73 with third byte C0 (chaining
		// and extended length): a PC/SC contactless ATR shape.
		{"capabilities: extended", "3B 88 80 01 80 73 00 00 C0 00 00 00 " + "XX", []int{0, 1}, "8073 0000C0 000000", apdu.Supported, apdu.Supported, true},
		{"capabilities: no extended", "3B 88 80 01 80 73 00 00 80 00 00 00 " + "XX", []int{0, 1}, "8073 000080 000000", apdu.Unsupported, apdu.Supported, true},
		// Category 00: objects, then a 3-byte status indicator.
		{"category 00", "3B 88 80 01 00 73 00 00 40 00 90 00 XX", []int{0, 1}, "0073 000040 009000", apdu.Supported, apdu.Unsupported, true},
		{"T=0 only, no TD", "3B 02 14 50", []int{0}, "1450", apdu.SupportUnknown, apdu.SupportUnknown, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.atr
			if strings.HasSuffix(raw, "XX") {
				b := atrHex(strings.TrimSuffix(raw, "XX"))
				var x byte
				for _, v := range b[1:] {
					x ^= v
				}
				raw = hex.EncodeToString(append(b, x))
			}
			a, err := ParseATR(atrHex(raw))
			require.NoError(t, err)
			assert.Equal(t, tc.protocols, a.Protocols)
			assert.Equal(t, hex.EncodeToString(atrHex(tc.historical)), hex.EncodeToString(a.Historical))
			assert.Equal(t, tc.ext, a.ExtendedLength)
			assert.Equal(t, tc.chain, a.CommandChaining)
			assert.Equal(t, tc.tckValid, a.TCKValid)
			assert.Contains(t, a.String(), "extended length "+tc.ext.String())
		})
	}
}

func TestParseATRMalformed(t *testing.T) {
	for _, tc := range []string{
		"", "3B", "3C 00", // TS
		"3B 80",          // TD1 announced, missing
		"3B 85 80 01 41", // 5 historical bytes announced, 1 there
		"3B 80 81 31",    // T=1 without TCK
		"3B 00 00 00",    // bytes after TCK
	} {
		_, err := ParseATR(atrHex(tc))
		assert.ErrorIs(t, err, ErrMalformedATR, "%q", tc)
	}
}

func TestExtendedLengthHint(t *testing.T) {
	no := atrHex("3B 88 80 01 80 73 00 00 80 00 00 00")
	var x byte
	for _, v := range no[1:] {
		x ^= v
	}
	assert.Equal(t, apdu.Unsupported, extendedLengthHint(append(no, x)))
	assert.Equal(t, apdu.SupportUnknown, extendedLengthHint(atrHex("3B E0 00 FF 81 31 FE 45 14")))
	assert.Equal(t, apdu.SupportUnknown, extendedLengthHint(nil))
}
