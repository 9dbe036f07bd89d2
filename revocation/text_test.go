package revocation

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleList = `#freespace-revocation/1 list
#seq 7
#as-of 2026-11-28T00:00:00Z
kind,id,revoked_at,reason
cuid,00112233445566778899aabbccddeeff,2026-11-27T09:30:00Z,lost
serial,01ab,2026-11-27T10:00:00+09:00,key-compromise
#end 2
`

const sampleDelta = "#freespace-revocation/1 delta\n#seq 8\n#prev 7\n#as-of 2026-11-29T00:00:00Z\n" +
	"op\tkind\tid\trevoked_at\treason\n" +
	"+\tcuid\tffeeddccbbaa99887766554433221100\t2026-11-28T12:00:00Z\tstolen\n" +
	"-\tserial\t01ab\t\t\n" +
	"#end 2\n"

func TestTextParserList(t *testing.T) {
	u, err := TextParser{}.Parse(strings.NewReader(sampleList))
	require.NoError(t, err)
	assert.True(t, u.Full)
	assert.Equal(t, uint64(7), u.Seq)
	assert.Equal(t, testAsOf, u.AsOf)
	require.Len(t, u.Add, 2)
	assert.Equal(t, "cuid:00112233445566778899aabbccddeeff", u.Add[0].Key.String())
	assert.Equal(t, ReasonLost, u.Add[0].Reason)
	assert.Equal(t, "2026-11-27T01:00:00Z", u.Add[1].Time().Format("2006-01-02T15:04:05Z07:00"))
}

func TestTextParserDeltaTSV(t *testing.T) {
	u, err := TextParser{}.Parse(strings.NewReader(sampleDelta))
	require.NoError(t, err)
	assert.False(t, u.Full)
	assert.Equal(t, uint64(7), u.Prev)
	require.Len(t, u.Add, 1)
	require.Len(t, u.Remove, 1)
	assert.Equal(t, "serial:01ab", u.Remove[0].String())
}

func TestTextRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sep := range []byte{',', '\t'} {
		u := &Update{Full: false, Seq: 5, Prev: 4, AsOf: testAsOf, Add: randRecords(r, 50)}
		for range 10 {
			u.Remove = append(u.Remove, randKey(r))
		}
		require.NoError(t, u.normalize("test"))
		var buf bytes.Buffer
		require.NoError(t, WriteText(&buf, u, sep))
		got, err := TextParser{}.Parse(&buf)
		require.NoError(t, err)
		assert.Equal(t, u, got)
	}
}

func TestTextParserRefusesMalformed(t *testing.T) {
	lines := strings.SplitAfter(sampleList, "\n")
	replace := func(i int, s string) string {
		c := append([]string(nil), lines...)
		c[i] = s
		return strings.Join(c, "")
	}
	tests := []struct {
		name, in string
		line     int
		cause    error
	}{
		{"empty", "", 1, nil},
		{"magic", replace(0, "#something else\n"), 1, nil},
		{"seq", replace(1, "#seq x\n"), 2, nil},
		{"seq zero", replace(1, "#seq 0\n"), 2, nil},
		{"as-of", replace(2, "#as-of yesterday\n"), 3, nil},
		{"columns", replace(3, "id,kind,revoked_at,reason\n"), 4, nil},
		{"bad cuid", replace(4, "cuid,0011,2026-11-27T09:30:00Z,lost\n"), 5, ErrMalformedKey},
		{"upper-case cuid", replace(4, "cuid,00112233445566778899AABBCCDDEEFF,2026-11-27T09:30:00Z,lost\n"), 5, ErrMalformedKey},
		{"bad reason", replace(4, "cuid,00112233445566778899aabbccddeeff,2026-11-27T09:30:00Z,gone\n"), 5, ErrInvalidReason},
		{"bad time", replace(4, "cuid,00112233445566778899aabbccddeeff,today,lost\n"), 5, nil},
		{"too many fields", replace(4, "cuid,00112233445566778899aabbccddeeff,2026-11-27T09:30:00Z,lost,x\n"), 5, nil},
		{"too few fields", replace(4, "cuid,00112233445566778899aabbccddeeff\n"), 5, nil},
		{"mixed separators", replace(4, "cuid\t00112233445566778899aabbccddeeff,2026-11-27T09:30:00Z,lost\n"), 5, nil},
		{"wrong count", replace(6, "#end 3\n"), 7, nil},
		{"truncated", strings.Join(lines[:6], ""), 7, nil},
		{"truncated mid-line", sampleList[:len(sampleList)-20], 6, nil},
		{"no final newline", strings.TrimSuffix(sampleList, "\n"), 7, nil},
		{"data after end", sampleList + "x\n", 8, nil},
		{"duplicate", replace(5, "cuid,00112233445566778899aabbccddeeff,2026-11-27T09:30:00Z,lost\n"), 6, nil},
		{"long line", replace(4, strings.Repeat("a", 70000)+"\n"), 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := TextParser{}.Parse(strings.NewReader(tt.in))
			require.Error(t, err)
			assert.Nil(t, u)
			assert.ErrorIs(t, err, ErrMalformed)
			var pe *ParseError
			require.True(t, errors.As(err, &pe))
			assert.Equal(t, tt.line, pe.Line, "error: %v", err)
			if tt.cause != nil {
				assert.ErrorIs(t, err, tt.cause)
			}
		})
	}
}

func TestTextParserDeltaRules(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
	}{
		{"prev not seq-1", strings.Replace(sampleDelta, "#prev 7", "#prev 6", 1), 3},
		{"removal with time", strings.Replace(sampleDelta, "-\tserial\t01ab\t\t", "-\tserial\t01ab\t2026-11-28T12:00:00Z\t", 1), 7},
		{"bad op", strings.Replace(sampleDelta, "-\tserial", "*\tserial", 1), 7},
		{"added and removed", strings.Replace(sampleDelta, "-\tserial\t01ab", "-\tcuid\tffeeddccbbaa99887766554433221100", 1), 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TextParser{}.Parse(strings.NewReader(tt.in))
			assert.ErrorIs(t, err, ErrMalformed)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.line, pe.Line, "error: %v", err)
		})
	}
}
