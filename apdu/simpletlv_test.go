package apdu

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SIMPLE-TLV per ISO/IEC 7816-4 (SIMPLE-TLV data objects): tag 01..FE, length 00..FE or
// FF xx xx.
func TestParseSimpleTLV(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		tag   byte
		value []byte
		rest  []byte
	}{
		{"one-byte length", h("01 02 AABB"), 0x01, h("AABB"), []byte{}},
		{"empty value", h("03 00"), 0x03, []byte{}, []byte{}},
		{"rest kept", h("03 00 04 01 CC"), 0x03, []byte{}, h("04 01 CC")},
		{"FE bytes", append(h("FE FE"), seq(254)...), 0xFE, seq(254), []byte{}},
		{"three-byte length", append(h("02 FF 0100"), seq(256)...), 0x02, seq(256), []byte{}},
		{"three-byte length, small", h("02 FF 0001 AA"), 0x02, h("AA"), []byte{}},
		{"three-byte length 65535", append(h("02 FF FFFF"), seq(65535)...), 0x02, seq(65535), []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, rest, err := ParseSimpleTLV(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.tag, o.Tag)
			assert.True(t, bytes.Equal(tc.value, o.Value))
			assert.Equal(t, tc.rest, rest)
		})
	}
}

func TestParseSimpleTLVMalformed(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		offset int
	}{
		{"empty", nil, 0},
		{"tag 00", h("00 01 AA"), 0},
		{"tag FF", h("FF 01 AA"), 0},
		{"length missing", h("01"), 1},
		{"three-byte length truncated", h("01 FF 01"), 1},
		{"length past buffer", h("01 05 AA"), 1},
		{"three-byte length past buffer", h("01 FF 0100 AA"), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, rest, err := ParseSimpleTLV(tc.in)
			require.ErrorIs(t, err, ErrMalformedTLV)
			var te *TLVError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tc.offset, te.Offset)
			assert.Equal(t, SimpleTLV{}, o)
			assert.Equal(t, tc.in, rest)
		})
	}
}

func TestParseAllAndFindSimpleTLV(t *testing.T) {
	in := h("01 02 AABB 02 00 03 FF 0001 CC")
	objs, err := ParseAllSimpleTLV(in)
	require.NoError(t, err)
	require.Len(t, objs, 3)
	assert.Equal(t, SimpleTLV{Tag: 1, Value: h("AABB")}, objs[0])
	assert.Equal(t, byte(2), objs[1].Tag)
	assert.Equal(t, SimpleTLV{Tag: 3, Value: h("CC")}, objs[2])

	o, err := FindSimpleTLV(in, 3)
	require.NoError(t, err)
	assert.Equal(t, h("CC"), o.Value)
	_, err = FindSimpleTLV(in, 9)
	assert.ErrorIs(t, err, ErrTagNotFound)

	_, err = ParseAllSimpleTLV(h("01 01 AA 02 05 BB"))
	var te *TLVError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 4, te.Offset)
	_, err = FindSimpleTLV(h("01 01 AA 00"), 9)
	assert.ErrorIs(t, err, ErrMalformedTLV)

	n := 0
	for range SimpleTLVObjects(in) {
		n++
		break
	}
	assert.Equal(t, 1, n)
}

func TestAppendSimpleTLV(t *testing.T) {
	tests := []struct {
		name string
		n    int
		head string
	}{
		{"0", 0, "0100"},
		{"254", 254, "01FE"},
		{"255", 255, "01FF00FF"},
		{"65535", 65535, "01FFFFFF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := seq(tc.n)
			out, err := AppendSimpleTLV(nil, 0x01, v)
			require.NoError(t, err)
			assert.Equal(t, append(h(tc.head), v...), out)
			o, rest, err := ParseSimpleTLV(out)
			require.NoError(t, err)
			assert.Empty(t, rest)
			assert.True(t, bytes.Equal(v, o.Value))
			again, err := o.AppendTo(nil)
			require.NoError(t, err)
			assert.Equal(t, out, again)
		})
	}
	for _, tc := range []struct {
		tag byte
		n   int
	}{{0x00, 1}, {0xFF, 1}, {0x01, MaxSimpleTLVLen + 1}} {
		dst := []byte{9}
		out, err := AppendSimpleTLV(dst, tc.tag, make([]byte, tc.n))
		assert.ErrorIs(t, err, ErrMalformedTLV)
		assert.Equal(t, dst, out)
	}
	buf := make([]byte, 0, 400)
	v := seq(300)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := AppendSimpleTLV(buf[:0], 0x10, v); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
