package profile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdentityRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		id   Identity
		hex  string
	}{
		{"id only", Identity{UserID: "U1"}, "700480025531"},
		{"with expiry", Identity{UserID: "U1", Expires: time.Date(2030, 3, 31, 0, 0, 0, 0, time.UTC)},
			"700e8002553181083230333030333331"},
		{"with attribute", Identity{UserID: "U1", Attributes: []Attribute{{"dept", "総務"}}},
			"7014800255 31a10e8004646570748106e7b78fe58b99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.id.MarshalBinary()
			require.NoError(t, err)
			want, err := hex.DecodeString(string(bytes.ReplaceAll([]byte(tt.hex), []byte(" "), nil)))
			require.NoError(t, err)
			assert.Equal(t, want, b)
			got, err := ParseIdentity(b)
			require.NoError(t, err)
			assert.Equal(t, tt.id, got)
		})
	}
}

func TestIdentityLongForm(t *testing.T) {
	attrs := make([]Attribute, MaxAttributes)
	for i := range attrs {
		attrs[i] = Attribute{Name: "n" + string(rune('a'+i)), Value: string(bytes.Repeat([]byte("v"), 200))}
	}
	id := Identity{UserID: string(bytes.Repeat([]byte("X"), MaxUserIDLen)), Attributes: attrs}
	b, err := id.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, []byte{0x70, 0x82}, b[:2], "outer length uses the two-byte long form")
	padded := append(b, 0xFF, 0xFF, 0x00)
	got, err := ParseIdentity(padded)
	require.NoError(t, err)
	assert.Equal(t, id, got)
}

func TestIdentityRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"wrong outer tag", "710480025531"},
		{"length past end", "700980025531"},
		{"inner length past end", "700480085531"},
		{"no user id", "7000"},
		{"empty user id", "70028000"},
		{"unprintable user id", "700380010a"},
		{"duplicate user id", "70088002553180025532"},
		{"unknown tag", "700780025531820100"},
		{"bad expiry", "700e8002553181083230333031333331"},
		{"short expiry", "7008800255318102 3230"},
		{"trailing garbage", "70048002553101"},
		{"multi-byte tag", "70059f01025531"},
		{"three-byte length", "70838000048002553 1"},
		{"attribute without value", "700aa1088004646570748002"},
		{"bad utf8 value", "700ca10a80046465707481 02ff fe"},
		{"attribute name twice", "7014 800255 31 a1068001618101 31 a1068001618101 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(string(bytes.ReplaceAll([]byte(tt.in), []byte(" "), nil)))
			require.NoError(t, err)
			_, err = ParseIdentity(b)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalidIdentity), "%v", err)
		})
	}
}

func TestIdentityValidate(t *testing.T) {
	bad := []Identity{
		{},
		{UserID: string(bytes.Repeat([]byte("x"), MaxUserIDLen+1))},
		{UserID: "a b"},
		{UserID: "u", Attributes: []Attribute{{Name: "", Value: "v"}}},
		{UserID: "u", Attributes: []Attribute{{Name: "n", Value: string(bytes.Repeat([]byte("v"), MaxAttrValueLen+1))}}},
		{UserID: "u", Attributes: make([]Attribute, MaxAttributes+1)},
		{UserID: "u", Attributes: []Attribute{{"role", "staff"}, {"dept", "x"}, {"role", "admin"}}},
	}
	for i, id := range bad {
		_, err := id.MarshalBinary()
		assert.ErrorIs(t, err, ErrInvalidIdentity, "case %d", i)
	}
}

func TestIdentityExpired(t *testing.T) {
	id := Identity{UserID: "u", Expires: time.Date(2030, 3, 31, 0, 0, 0, 0, time.UTC)}
	assert.False(t, id.Expired(time.Date(2030, 3, 31, 23, 59, 0, 0, time.UTC)))
	assert.True(t, id.Expired(time.Date(2030, 4, 1, 0, 0, 1, 0, time.UTC)))
	assert.False(t, Identity{UserID: "u"}.Expired(time.Now()))
	v, ok := Identity{UserID: "u", Attributes: []Attribute{{"a", "b"}}}.Attribute("a")
	assert.True(t, ok)
	assert.Equal(t, "b", v)
}

func FuzzParseIdentity(f *testing.F) {
	for _, s := range []string{"700480025531", "700e8002553181083230333030333331", "7014800255 31a10e8004646570748106e7b78fe58b99", "7000", "70820004800255 31"} {
		b, _ := hex.DecodeString(string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseIdentity(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidIdentity) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		enc, err := id.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed identity does not re-encode: %v", err)
		}
		again, err := ParseIdentity(enc)
		if err != nil {
			t.Fatalf("re-encoded identity does not parse: %v", err)
		}
		if !reflect.DeepEqual(again, id) {
			t.Fatalf("round trip changed the identity: %+v, then %+v", id, again)
		}
	})
}

// The expiry is a calendar date: a value given in another location than
// UTC keeps its own date, both when encoded and when checked.
func TestIdentityExpiryInOtherLocation(t *testing.T) {
	jst := time.FixedZone("JST", 9*60*60)
	id := Identity{UserID: "U1", Expires: time.Date(2030, 3, 31, 0, 0, 0, 0, jst)}
	b, err := id.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, "700e8002553181083230333030333331", hex.EncodeToString(b), "31 March, not the UTC instant's 30 March")
	got, err := ParseIdentity(b)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2030, 3, 31, 0, 0, 0, 0, time.UTC), got.Expires)

	assert.False(t, id.Expired(time.Date(2030, 3, 31, 12, 0, 0, 0, jst)), "valid through its last day")
	assert.False(t, id.Expired(time.Date(2030, 3, 31, 0, 0, 0, 0, time.UTC)))
	assert.True(t, id.Expired(time.Date(2030, 4, 1, 0, 0, 0, 0, jst)))
}
