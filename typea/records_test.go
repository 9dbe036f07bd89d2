package typea

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

func TestRecordsRoundTrip(t *testing.T) {
	id := profile.Identity{UserID: "U1", Attributes: []profile.Attribute{{Name: "a", Value: "1"}, {Name: "b", Value: ""}}}
	recs, err := EncodeRecords(id)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	// docs/PROTOCOL.md §6.3 examples.
	assert.Equal(t, []byte{0x70, 0x04, 0x80, 0x02, 'U', '1'}, recs[0])
	assert.Equal(t, []byte{0xA1, 0x06, 0x80, 0x01, 'a', 0x81, 0x01, '1'}, recs[1])
	assert.Equal(t, []byte{0xA1, 0x05, 0x80, 0x01, 'b', 0x81, 0x00}, recs[2])
	got, err := DecodeRecords(append(recs, []byte{0x00}, []byte{0x00}))
	require.NoError(t, err)
	assert.Equal(t, id, got)
}

func TestRecordErrors(t *testing.T) {
	r1 := []byte{0x70, 0x04, 0x80, 0x02, 'U', '1'}
	tests := []struct {
		name string
		recs [][]byte
		want error
	}{
		{"no records", nil, profile.ErrNotPersonalized},
		{"empty record 1", [][]byte{{}}, profile.ErrNotPersonalized},
		{"record 1 not identity", [][]byte{{0xA1, 0x00}}, ErrRecordFormat},
		{"attribute wrong tag", [][]byte{r1, {0x70, 0x00}}, ErrRecordFormat},
		{"attribute truncated", [][]byte{r1, {0xA1, 0x09, 0x80}}, ErrRecordFormat},
		{"attribute trailing", [][]byte{r1, {0xA1, 0x05, 0x80, 0x01, 'a', 0x81, 0x00, 0x00}}, ErrRecordFormat},
		{"value before name", [][]byte{r1, {0xA1, 0x05, 0x81, 0x00, 0x80, 0x01, 'a'}}, ErrRecordFormat},
		{"no value", [][]byte{r1, {0xA1, 0x03, 0x80, 0x01, 'a'}}, ErrRecordFormat},
		{"duplicate name", [][]byte{r1, {0xA1, 0x05, 0x80, 0x01, 'a', 0x81, 0x00}, {0xA1, 0x05, 0x80, 0x01, 'a', 0x81, 0x00}}, ErrRecordFormat},
		{"bad UTF-8", [][]byte{r1, {0xA1, 0x06, 0x80, 0x01, 'a', 0x81, 0x01, 0xFF}}, ErrRecordFormat},
		{"name with space", [][]byte{r1, {0xA1, 0x05, 0x80, 0x01, ' ', 0x81, 0x00}}, ErrRecordFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRecords(tt.recs)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestRecordSizeLimits(t *testing.T) {
	long := profile.Attribute{Name: "n", Value: strings.Repeat("x", 250)}
	_, err := EncodeAttributeRecord(long)
	var rs *RecordSizeError
	require.ErrorAs(t, err, &rs)
	assert.Equal(t, MaxRecordLen, rs.Max)
	assert.Greater(t, rs.Len, MaxRecordLen)
	assert.ErrorIs(t, err, ErrRecordFormat)
	assert.Contains(t, err.Error(), `attribute "n"`)
	// The largest value that fits: A1 81 xx | 80 01 n | 81 81 vv.
	fit := profile.Attribute{Name: "n", Value: strings.Repeat("x", MaxRecordLen-3-3-3)}
	r, err := EncodeAttributeRecord(fit)
	require.NoError(t, err)
	assert.Len(t, r, MaxRecordLen)
}

func TestPasswordErrorUnwraps(t *testing.T) {
	err := passwordErr(errors.New("plain"))
	assert.EqualError(t, err, "plain")
	assert.NoError(t, passwordErr(nil))

	// 63C2 from the card: a *profile.PasswordError with 2 tries left that still
	// unwraps to the card's *apdu.TriesError and status word.
	err = passwordErr(fmt.Errorf("verify: %w", apdu.StatusWord(0x63C2).Err()))
	var pe *profile.PasswordError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 2, pe.Remaining)
	assert.False(t, pe.Blocked)
	assert.ErrorIs(t, err, apdu.ErrVerificationFailed)
	assert.ErrorIs(t, err, apdu.StatusWord(0x63C2))
	assert.NotErrorIs(t, err, apdu.ErrBlocked)

	// 6983: blocked.
	err = passwordErr(apdu.ErrAuthMethodBlocked.Err())
	require.ErrorAs(t, err, &pe)
	assert.True(t, pe.Blocked)
	assert.Zero(t, pe.Remaining)
	assert.ErrorIs(t, err, apdu.ErrBlocked)
	assert.ErrorIs(t, err, apdu.ErrAuthMethodBlocked)
	assert.Contains(t, err.Error(), "blocked")
}

func FuzzDecodeRecords(f *testing.F) {
	recs, _ := EncodeRecords(profile.Identity{UserID: "U1", Attributes: []profile.Attribute{{Name: "a", Value: "v"}}})
	f.Add(bytes.Join(recs, []byte{0xFE}))
	f.Add([]byte{0x70, 0x04, 0x80, 0x02, 'U', '1', 0xFE, 0x00})
	f.Add([]byte{0xA1, 0x82, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		// 0xFE separates records in the fuzz input.
		in := bytes.Split(b, []byte{0xFE})
		id, err := DecodeRecords(in)
		if err != nil {
			if !errors.Is(err, ErrRecordFormat) && !errors.Is(err, profile.ErrNotPersonalized) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		out, err := EncodeRecords(id)
		if err != nil {
			t.Fatalf("decoded identity does not re-encode: %v", err)
		}
		again, err := DecodeRecords(out)
		if err != nil || again.UserID != id.UserID || len(again.Attributes) != len(id.Attributes) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
