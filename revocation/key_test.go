package revocation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "00112233445566778899aabbccddeeff", want: "cuid:00112233445566778899aabbccddeeff"},
		{in: "cuid:00112233445566778899aabbccddeeff", want: "cuid:00112233445566778899aabbccddeeff"},
		{in: "serial:0001ab", want: "serial:01ab"},
		{in: "serial:00", want: "serial:00"},
		{in: "serial:" + "01" + "000000000000000000000000000000000000000000", err: true}, // 22 bytes
		{in: "serial:01020304050607080910111213141516171819ff", want: "serial:01020304050607080910111213141516171819ff"},
		{in: "cuid:00112233445566778899AABBCCDDEEFF", err: true},
		{in: "cuid:0011", err: true},
		{in: "serial:abc", err: true},
		{in: "serial:zz", err: true},
		{in: "other:00", err: true},
		{in: "", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, err := ParseKey(tt.in)
			if tt.err {
				require.ErrorIs(t, err, ErrMalformedKey)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, k.String())
			back, err := ParseKey(k.String())
			require.NoError(t, err)
			assert.Equal(t, k, back)
		})
	}
}

func TestKeySpacesAreSeparate(t *testing.T) {
	c, err := ParseKey("cuid:0102030405060708090a0b0c0d0e0f10")
	require.NoError(t, err)
	s, err := ParseKey("serial:0102030405060708090a0b0c0d0e0f10")
	require.NoError(t, err)
	assert.NotEqual(t, c, s)
	assert.NotZero(t, compareKeys(c, s))
	assert.Equal(t, KindCUID, c.Kind())
	assert.Equal(t, KindSerial, s.Kind())
	assert.Equal(t, c.Bytes(), s.Bytes())
}

func TestReasonNames(t *testing.T) {
	for r := Reason(0); r < numReasons; r++ {
		got, err := ParseReason(r.String())
		require.NoError(t, err)
		assert.Equal(t, r, got)
	}
	_, err := ParseReason("misplaced")
	assert.ErrorIs(t, err, ErrInvalidReason)
}
