package apdu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		data []byte
		sw   StatusWord
	}{
		{"SW only", h("9000"), []byte{}, SWSuccess},
		{"data and SW", h("0102 9000"), h("0102"), SWSuccess},
		{"error SW", h("6A82"), []byte{}, ErrFileNotFound},
		{"warning with data", h("AABBCC 6282"), h("AABBCC"), WarnEndOfFile},
		{"more data available", h("61 10"), []byte{}, StatusWord(0x6110)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseResponse(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.data, r.Data)
			assert.Equal(t, tc.sw, r.SW)
			assert.Equal(t, tc.in, r.Bytes(), "Bytes gives back the input")
			assert.Equal(t, append([]byte{0xEE}, tc.in...), r.AppendTo([]byte{0xEE}))
		})
	}
}

func TestParseResponseTooShort(t *testing.T) {
	for _, in := range [][]byte{nil, {}, {0x90}} {
		r, err := ParseResponse(in)
		require.ErrorIs(t, err, ErrMalformedResponse)
		assert.Equal(t, Response{}, r)
	}
}

func TestResponseErr(t *testing.T) {
	tests := []struct {
		name   string
		r      Response
		target error
	}{
		{"9000 is nil", Response{SW: SWSuccess}, nil},
		{"6A82", Response{SW: 0x6A82}, ErrFileNotFound},
		{"6982", Response{SW: 0x6982}, ErrSecurityStatusNotSatisfied},
		{"63C1", Response{SW: 0x63C1}, ErrVerificationFailed},
		{"6983", Response{SW: 0x6983}, ErrBlocked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Err()
			if tc.target == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.target)
		})
	}
}

func TestParseResponseAliasesInput(t *testing.T) {
	raw := h("0102 9000")
	r, err := ParseResponse(raw)
	require.NoError(t, err)
	raw[0] = 0xFF
	assert.Equal(t, byte(0xFF), r.Data[0])
}

func TestResponseAppendToAllocatesNothing(t *testing.T) {
	r := Response{Data: seq(300), SW: SWSuccess}
	buf := make([]byte, 0, 400)
	allocs := testing.AllocsPerRun(100, func() { _ = r.AppendTo(buf[:0]) })
	assert.Zero(t, allocs)
}
