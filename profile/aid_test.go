package profile

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultAIDsArePlaceholders(t *testing.T) {
	for _, typ := range []APType{TypeA, TypeC, TypeD} {
		a := DefaultAID(typ)
		require.NoError(t, a.Validate())
		assert.Equal(t, byte(0xF0), a[0]&0xF0, "proprietary range (first nibble F)")
		assert.Equal(t, byte(typ), a[len(a)-1])
		a[0] = 0 // a copy: changing it must not change the default
		assert.Equal(t, byte(0xF0), DefaultAID(typ)[0])
	}
	assert.Equal(t, "F0465245455350414345 43", DefaultAID(TypeC).String()[:20]+" "+DefaultAID(TypeC).String()[20:])
}

func TestParseAID(t *testing.T) {
	a, err := ParseAID("D3 92 F0 00 26 01 00 00 00 01")
	require.NoError(t, err)
	assert.Equal(t, "D392F000260100000001", a.String())
	for _, bad := range []string{"", "D392", "zz92F00026", "00112233445566778899AABBCCDDEEFF00"} {
		_, err := ParseAID(bad)
		assert.ErrorIs(t, err, ErrInvalidAID, bad)
	}
	assert.True(t, a.Equal(AID{0xD3, 0x92, 0xF0, 0, 0x26, 1, 0, 0, 0, 1}))
	assert.Equal(t, "A", TypeA.String())
	assert.Equal(t, "?07", APType(7).String())
}

func TestCUID(t *testing.T) {
	c, err := ParseCUID("00112233445566778899aabbccddeeff")
	require.NoError(t, err)
	assert.Equal(t, "00112233445566778899aabbccddeeff", c.String())
	assert.False(t, c.IsZero())
	txt, _ := c.MarshalText()
	var d CUID
	require.NoError(t, d.UnmarshalText(txt))
	assert.Equal(t, c, d)
	for _, bad := range []string{"", "0011", "zz112233445566778899aabbccddeeff"} {
		_, err := ParseCUID(bad)
		assert.ErrorIs(t, err, ErrInvalidCUID)
	}
	_, err = CUIDFromBytes(make([]byte, 15))
	assert.ErrorIs(t, err, ErrInvalidCUID)
	e, err := CUIDFromBytes(c[:])
	require.NoError(t, err)
	assert.Equal(t, c, e)
}

// TestHexVerbsDoNotDoubleEncode: %x of a CUID or an AID is the hex of its
// bytes, not the hex of its hex String (issue 14 §5).
func TestHexVerbsDoNotDoubleEncode(t *testing.T) {
	c := CUID{0xC0, 0x01, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xFF}
	a := AID{0xF0, 0x46, 0x52, 0x45, 0x45}
	tests := []struct {
		format string
		arg    any
		want   string
	}{
		{"%x", c, "c00102030405060708090a0b0c0d0eff"},
		{"%X", c, "C00102030405060708090A0B0C0D0EFF"},
		{"%s", c, "c00102030405060708090a0b0c0d0eff"},
		{"%v", c, "c00102030405060708090a0b0c0d0eff"},
		{"%q", c, `"c00102030405060708090a0b0c0d0eff"`},
		{"%v", []CUID{c}, "[c00102030405060708090a0b0c0d0eff]"},
		{"%x", a, "f046524545"},
		{"%X", a, "F046524545"},
		{"% X", a, "F0 46 52 45 45"},
		{"%s", a, "F046524545"},
		{"%v", a, "F046524545"},
		{"%#v", a, "[]byte{0xf0, 0x46, 0x52, 0x45, 0x45}"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, fmt.Sprintf(tt.format, tt.arg), "%s of %T", tt.format, tt.arg)
	}
}
