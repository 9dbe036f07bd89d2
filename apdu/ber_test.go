package apdu

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTag(t *testing.T) {
	tests := []struct {
		tag         Tag
		len         int
		constructed bool
		class       int
		valid       bool
		str         string
	}{
		{0x5A, 1, false, 1, true, "5A"},
		{0x70, 1, true, 1, true, "70"},
		{0x84, 1, false, 2, true, "84"},
		{0xA5, 1, true, 2, true, "A5"},
		{0x04, 1, false, 0, true, "04"},
		{0x5F20, 2, false, 1, true, "5F20"},
		{0x7F49, 2, true, 1, true, "7F49"},
		{0x9F38, 2, false, 2, true, "9F38"},
		{0x9F8101, 3, false, 2, true, "9F8101"},
		{0xDF818203, 4, false, 3, true, "DF818203"},
		{0x00, 1, false, 0, false, "00"},
		{0xFF, 1, true, 3, false, "FF"},
		{0x1F, 1, false, 0, false, "1F"},     // needs a subsequent byte
		{0x5A20, 2, false, 1, false, "5A20"}, // first byte does not announce more
		{0x5F80, 2, false, 1, false, "5F80"}, // last byte announces more
		{0x5F8001, 3, false, 1, true, "5F8001"},
		{0x5F0101, 3, false, 1, false, "5F0101"}, // middle byte does not announce more
	}
	for _, tc := range tests {
		t.Run(tc.str, func(t *testing.T) {
			assert.Equal(t, tc.len, tc.tag.Len())
			assert.Equal(t, tc.constructed, tc.tag.Constructed())
			assert.Equal(t, tc.class, tc.tag.Class())
			assert.Equal(t, tc.valid, tc.tag.Valid())
			assert.Equal(t, tc.str, tc.tag.String())
			assert.Equal(t, tc.str, hexOf(tc.tag.AppendTo(nil)))
		})
	}
}

func TestParseBER(t *testing.T) {
	v128 := seq(128)
	v256 := seq(256)
	v65536 := seq(65536)
	tests := []struct {
		name  string
		in    []byte
		tag   Tag
		value []byte
		rest  []byte
	}{
		{"short length", h("5A 02 0102"), 0x5A, h("0102"), []byte{}},
		{"empty value", h("5A 00"), 0x5A, []byte{}, []byte{}},
		{"rest kept", h("5A 01 AA 5F20 00"), 0x5A, h("AA"), h("5F20 00")},
		{"127 bytes short form", append(h("04 7F"), seq(127)...), 0x04, seq(127), []byte{}},
		{"81 form", append(h("04 81 80"), v128...), 0x04, v128, []byte{}},
		{"82 form", append(h("04 82 0100"), v256...), 0x04, v256, []byte{}},
		{"83 form", append(h("04 83 010000"), v65536...), 0x04, v65536, []byte{}},
		{"84 form", append(h("04 84 00010000"), v65536...), 0x04, v65536, []byte{}},
		{"non-minimal 81 accepted", h("04 81 01 AA"), 0x04, h("AA"), []byte{}},
		{"two-byte tag", h("5F20 03 414243"), 0x5F20, h("414243"), []byte{}},
		{"three-byte tag", h("9F8101 01 00"), 0x9F8101, h("00"), []byte{}},
		{"four-byte tag", h("DF818203 01 01"), 0xDF818203, h("01"), []byte{}},
		{"constructed", h("7F49 05 86 03 010203"), 0x7F49, h("86 03 010203"), []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, rest, err := ParseBER(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.tag, o.Tag)
			assert.True(t, bytes.Equal(tc.value, o.Value))
			assert.Equal(t, tc.rest, rest)
			assert.Equal(t, len(o.Value), cap(o.Value), "value capacity is clipped so appends cannot overwrite the rest")
		})
	}
}

func TestParseBERMalformed(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		offset int
	}{
		{"empty", nil, 0},
		{"first tag byte 00", h("00 01 AA"), 0},
		{"first tag byte FF", h("FF 01 AA"), 0},
		{"tag truncated", h("5F"), 1},
		{"three-byte tag truncated", h("9F81"), 2},
		{"tag longer than four bytes", h("1F 81 81 81 01 00"), 4},
		{"length missing", h("5A"), 1},
		{"indefinite length", h("7F49 80 5A 01 AA 00 00"), 2},
		{"length field 85", h("5A 85 0000000001 AA"), 1},
		{"long length truncated", h("5A 82 01"), 1},
		{"length past buffer", h("5A 05 0102"), 1},
		{"81 length past buffer", h("5A 81 80 0102"), 1},
		{"huge 84 length", h("5A 84 FFFFFFFF 00"), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, rest, err := ParseBER(tc.in)
			require.ErrorIs(t, err, ErrMalformedTLV)
			var te *TLVError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tc.offset, te.Offset, te.Error())
			assert.Equal(t, TLV{}, o)
			assert.Equal(t, tc.in, rest)
		})
	}
}

func TestParseAllBER(t *testing.T) {
	in := h("00 5A 01 AA FF FF 5F20 00 70 03 80 01 BB 00 00")
	objs, err := ParseAllBER(in)
	require.NoError(t, err)
	require.Len(t, objs, 3)
	assert.Equal(t, Tag(0x5A), objs[0].Tag)
	assert.Equal(t, Tag(0x5F20), objs[1].Tag)
	assert.Empty(t, objs[1].Value)
	assert.Equal(t, Tag(0x70), objs[2].Tag)
	kids, err := objs[2].Children()
	require.NoError(t, err)
	require.Len(t, kids, 1)
	assert.Equal(t, TLV{Tag: 0x80, Value: h("BB")}, kids[0])

	_, err = objs[0].Children()
	assert.ErrorIs(t, err, ErrMalformedTLV, "primitive has no children")

	empty, err := ParseAllBER(h("00 FF 00"))
	require.NoError(t, err)
	assert.Empty(t, empty)

	// An error after good objects reports the absolute offset.
	_, err = ParseAllBER(h("5A 01 AA 5F20 05 01"))
	var te *TLVError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 5, te.Offset)
}

func TestBERObjectsStopsEarly(t *testing.T) {
	n := 0
	for o, err := range BERObjects(h("5A 01 AA 5A 01 BB 5A 01 CC")) {
		require.NoError(t, err)
		assert.Equal(t, Tag(0x5A), o.Tag)
		n++
		if n == 2 {
			break
		}
	}
	assert.Equal(t, 2, n)
}

func TestFindBER(t *testing.T) {
	// An FCI-like template: 6F { 84 AID, A5 { 9F38 01 00, BF0C { 5F2D 02 6A61 } } }
	in := h("6F 19 84 07 A0000000031010 A5 0E 9F38 01 00 BF0C 07 5F2D 02 6A61 00 00")
	tests := []struct {
		tag   Tag
		value []byte
	}{
		{0x6F, in[2:]},
		{0x84, h("A0000000031010")},
		{0x9F38, h("00")},
		{0xBF0C, h("5F2D 02 6A61 00 00")},
		{0x5F2D, h("6A61")},
	}
	for _, tc := range tests {
		t.Run(tc.tag.String(), func(t *testing.T) {
			o, err := FindBER(in, tc.tag)
			require.NoError(t, err)
			assert.Equal(t, tc.tag, o.Tag)
			assert.Equal(t, tc.value, o.Value)
		})
	}
	_, err := FindBER(in, 0x5A)
	assert.ErrorIs(t, err, ErrTagNotFound)
	assert.NotErrorIs(t, err, ErrMalformedTLV)

	top, err := FindBER(in, 0x6F)
	require.NoError(t, err)
	o, err := top.Find(0x5F2D)
	require.NoError(t, err)
	assert.Equal(t, h("6A61"), o.Value)
	_, err = TLV{Tag: 0x5A, Value: h("5F2D 00")}.Find(0x5F2D)
	assert.ErrorIs(t, err, ErrMalformedTLV, "Find on a primitive")

	// The first match in depth-first order wins.
	o, err = FindBER(h("70 03 5A 01 01 5A 01 02"), 0x5A)
	require.NoError(t, err)
	assert.Equal(t, h("01"), o.Value)
}

func TestFindBERMalformedNested(t *testing.T) {
	// The inner 5A claims 5 bytes where only 2 remain: the length byte is
	// at absolute offset 5.
	in := h("5A 01 AA 70 04 5A 05 01 02")
	_, err := FindBER(in, 0x99)
	var te *TLVError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 6, te.Offset, te.Error())
	assert.NotErrorIs(t, err, ErrTagNotFound)
}

// nest wraps inner in depth levels of constructed tag 70.
func nest(depth int, inner []byte) []byte {
	out := inner
	for range depth {
		next, err := AppendBER(nil, 0x70, out)
		if err != nil {
			panic(err)
		}
		out = next
	}
	return out
}

func TestFindBERDepthBound(t *testing.T) {
	ok := nest(MaxTLVDepth-1, h("5A 01 AA"))
	o, err := FindBER(ok, 0x5A)
	require.NoError(t, err)
	assert.Equal(t, h("AA"), o.Value)

	deep := nest(MaxTLVDepth, h("5A 01 AA"))
	_, err = FindBER(deep, 0x5A)
	require.ErrorIs(t, err, ErrMalformedTLV)
	assert.Contains(t, err.Error(), "nesting deeper")

	// A depth bomb far beyond the bound fails the same way, without
	// recursing further.
	_, err = FindBER(nest(1000, nil), 0x5A)
	require.ErrorIs(t, err, ErrMalformedTLV)
}

func TestAppendBER(t *testing.T) {
	tests := []struct {
		name  string
		tag   Tag
		value []byte
		head  string
	}{
		{"empty", 0x5A, nil, "5A00"},
		{"short", 0x5F20, h("4142"), "5F2002"},
		{"127", 0x04, seq(127), "047F"},
		{"128", 0x04, seq(128), "048180"},
		{"255", 0x04, seq(255), "0481FF"},
		{"256", 0x04, seq(256), "04820100"},
		{"65535", 0x04, seq(65535), "0482FFFF"},
		{"65536", 0x04, seq(65536), "0483010000"},
		{"four-byte tag", 0xDF818203, h("01"), "DF81820301"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := AppendBER([]byte{0xEE}, tc.tag, tc.value)
			require.NoError(t, err)
			want := append(append([]byte{0xEE}, h(tc.head)...), tc.value...)
			assert.True(t, bytes.Equal(want, out))
			o, rest, err := ParseBER(out[1:])
			require.NoError(t, err)
			assert.Empty(t, rest)
			assert.Equal(t, tc.tag, o.Tag)
			assert.True(t, bytes.Equal(tc.value, o.Value))
		})
	}
	for _, bad := range []Tag{0x00, 0xFF, 0x1F, 0x5F80, 0x5A20} {
		dst := []byte{1}
		out, err := AppendBER(dst, bad, nil)
		assert.ErrorIs(t, err, ErrMalformedTLV, bad.String())
		assert.Equal(t, dst, out)
	}
	_, err := AppendBERLength(nil, -1)
	assert.ErrorIs(t, err, ErrMalformedTLV)
	out, err := AppendBERLength(nil, 0x01000000)
	require.NoError(t, err)
	assert.Equal(t, h("84 01000000"), out)
}

func TestBERBuilder(t *testing.T) {
	point := seq(200)
	var b BERBuilder
	b.Begin(0x7F49).Add(0x86, point).Add(0x87, h("01")).End()
	got, err := b.Bytes()
	require.NoError(t, err)
	// 86 81 C8 <200> = 203, 87 01 01 = 3: 206 = CE.
	want := append(append(h("7F49 81 CE 86 81 C8"), point...), h("87 01 01")...)
	assert.Equal(t, hexOf(want), hexOf(got))

	b.Reset(got[:0])
	b.Begin(0x70).Begin(0xA5).Add(0x5A, h("AA")).End().Begin(0x71).End().End().Add(0x9F38, nil)
	got, err = b.Bytes()
	require.NoError(t, err)
	assert.Equal(t, "7007A5035A01AA7100"+"9F3800", hexOf(got))

	big := seq(70000)
	b.Reset(nil)
	b.Begin(0x70).Add(0x04, big).End()
	got, err = b.Bytes()
	require.NoError(t, err)
	o, err := FindBER(got, 0x04)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(big, o.Value))
	assert.Equal(t, h("70 83 011175 04 83 011170"), got[:10])
}

func TestBERBuilderErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *BERBuilder)
	}{
		{"End without Begin", func(b *BERBuilder) { b.End() }},
		{"Begin primitive", func(b *BERBuilder) { b.Begin(0x5A) }},
		{"Begin invalid", func(b *BERBuilder) { b.Begin(0x7F80) }},
		{"Add invalid", func(b *BERBuilder) { b.Add(0x00, nil) }},
		{"left open", func(b *BERBuilder) { b.Begin(0x70).Add(0x5A, nil) }},
		{"too deep", func(b *BERBuilder) {
			for range MaxTLVDepth + 1 {
				b.Begin(0x70)
			}
		}},
		{"error is sticky", func(b *BERBuilder) { b.End().Begin(0x70).End() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b BERBuilder
			tc.build(&b)
			out, err := b.Bytes()
			assert.ErrorIs(t, err, ErrMalformedTLV)
			assert.Nil(t, out)
		})
	}
}

func TestBERBuildAllocatesNothing(t *testing.T) {
	buf := make([]byte, 0, 1024)
	value := seq(300)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := AppendBER(buf[:0], 0x5F20, value); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "AppendBER")

	var b BERBuilder
	allocs = testing.AllocsPerRun(100, func() {
		b.Reset(buf[:0])
		b.Begin(0x7F49).Add(0x86, value).Begin(0xA5).Add(0x87, value[:5]).End().End()
		if _, err := b.Bytes(); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "BERBuilder")

	in := nest(5, h("5A 01 AA"))
	allocs = testing.AllocsPerRun(100, func() {
		for _, err := range BERObjects(in) {
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := FindBER(in, 0x5A); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "BERObjects and FindBER on success")
}

func TestTLVAppendTo(t *testing.T) {
	o := TLV{Tag: 0x5F20, Value: h("41")}
	out, err := o.AppendTo(nil)
	require.NoError(t, err)
	assert.Equal(t, h("5F20 01 41"), out)
	_, err = TLV{Tag: 0}.AppendTo(nil)
	assert.True(t, errors.Is(err, ErrMalformedTLV))
}
