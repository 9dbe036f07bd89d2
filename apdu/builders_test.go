package apdu

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBuilders checks each builder's encoding against the command as
// ISO/IEC 7816-4 §11 lays it out, byte by byte.
func TestBuilders(t *testing.T) {
	aid := h("D3 92 10 00 31 00 01 01 04 08")
	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{"SELECT AID", SelectAID(aid), "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"},
		{"SELECT EF no data", SelectEF(0x0001, SelectNoResponse), "00 A4 02 0C 02 00 01"},
		{"SELECT EF FCP", SelectEF(0x1234, SelectReturnFCP), "00 A4 02 04 02 12 34 00"},
		{"READ BINARY", ReadBinary(0x0102, 0x20), "00 B0 01 02 20"},
		{"READ BINARY 256", ReadBinary(0, MaxShortNe), "00 B0 00 00 00"},
		{"READ BINARY extended", ReadBinary(0x7FFF, 1000), "00 B0 7F FF 00 03 E8"},
		{"READ BINARY SFI", ReadBinarySFI(0x1E, 0, 18), "00 B0 9E 00 12"},
		{"UPDATE BINARY", UpdateBinary(0x10, h("AA BB")), "00 D6 00 10 02 AA BB"},
		{"READ RECORD SFI", ReadRecord(1, 2, MaxShortNe), "00 B2 02 0C 00"},
		{"READ RECORD current", ReadRecord(0, 1, 16), "00 B2 01 04 10"},
		{"UPDATE RECORD", UpdateRecord(2, 3, h("01")), "00 DC 03 14 01 01"},
		{"APPEND RECORD", AppendRecord(2, h("01 02")), "00 E2 00 10 02 01 02"},
		{"VERIFY status", Verify(0x81, nil), "00 20 00 81"},
		{"VERIFY", Verify(0x81, []byte("1234")), "00 20 00 81 04 31 32 33 34"},
		{"CHANGE REFERENCE DATA", ChangeReferenceData(0x81, h("31 32")), "00 24 00 81 02 31 32"},
		{"RESET RETRY COUNTER only", ResetRetryCounter(0x81, nil), "00 2C 03 81"},
		{"RESET RETRY COUNTER new", ResetRetryCounter(0x81, h("35")), "00 2C 02 81 01 35"},
		{"GET CHALLENGE", GetChallenge(8), "00 84 00 00 08"},
		{"MUTUAL AUTHENTICATE", MutualAuthenticate(0x01, h("01 02"), 8), "00 82 00 01 02 01 02 08"},
		{"GET RESPONSE", GetResponse(MaxShortNe), "00 C0 00 00 00"},
		{"ACTIVATE FILE", ActivateFile(), "00 44 00 00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cmd.Bytes()
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("% X", h(tc.want)), fmt.Sprintf("% X", got))
		})
	}
}

// TestBuildersRejectOutOfRange: an argument a builder cannot encode
// faithfully gives a command that refuses to encode, never a command that
// means something else (an offset above 7FFF would set the SFI bit of
// READ BINARY, §11.3.3).
func TestBuildersRejectOutOfRange(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
	}{
		{"AID too short", SelectAID(h("D3 92"))},
		{"AID too long", SelectAID(make([]byte, 17))},
		{"offset above 15 bits", ReadBinary(0x8000, 1)},
		{"negative offset", ReadBinary(-1, 1)},
		{"update offset", UpdateBinary(0x8000, h("00"))},
		{"SFI zero", ReadBinarySFI(0, 0, 1)},
		{"SFI 31", ReadBinarySFI(31, 0, 1)},
		{"record SFI 31", ReadRecord(31, 1, 1)},
		{"record zero", ReadRecord(1, 0, 1)},
		{"record FF", UpdateRecord(1, 0xFF, nil)},
		{"append SFI", AppendRecord(31, nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cmd.Bytes()
			require.ErrorIs(t, err, ErrInvalidCommand)
			_, err = tc.cmd.EncodedLen()
			require.ErrorIs(t, err, ErrInvalidCommand)
			_, err = tc.cmd.AppendTo(nil)
			require.ErrorIs(t, err, ErrInvalidCommand)
		})
	}
}

// TestInsFormat: %v names the instruction, %02X prints the byte (not the
// hex of the name, the double encoding a Stringer would give).
func TestInsFormat(t *testing.T) {
	tests := []struct {
		ins        Ins
		name, hexa string
	}{
		{InsSelect, "SELECT", "A4"},
		{InsReadBinary, "READ BINARY", "B0"},
		{InsReadBinary | 1, "READ BINARY (odd)", "B1"},
		{InsMutualAuthenticate, "MUTUAL AUTHENTICATE", "82"},
		{Ins(0x12), "INS 12", "12"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.name, tc.ins.String())
		assert.Equal(t, tc.name, fmt.Sprintf("%v", tc.ins))
		assert.Equal(t, tc.name, fmt.Sprintf("%s", tc.ins))
		assert.Equal(t, tc.hexa, fmt.Sprintf("%02X", tc.ins))
		assert.Equal(t, fmt.Sprint(byte(tc.ins)), fmt.Sprintf("%d", tc.ins))
	}
	assert.Equal(t, "00 A4 04 0C Nc=10 Ne=0", SelectAID(make([]byte, 10)).String())
}

// TestInsFormatFlags: width and flags apply to the name and to the byte.
func TestInsFormatFlags(t *testing.T) {
	assert.Equal(t, "SELECT    |", fmt.Sprintf("%-10v|", InsSelect))
	assert.Equal(t, `"VERIFY"`, fmt.Sprintf("%q", InsVerify))
	assert.Equal(t, "0xa4", fmt.Sprintf("%#x", InsSelect))
	assert.Equal(t, "   164", fmt.Sprintf("%6d", InsSelect))
}
