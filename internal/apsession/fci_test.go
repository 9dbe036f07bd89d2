package apsession

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCUIDFromFCI(t *testing.T) {
	c := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	fci := append([]byte{0x6F, 0x1F, 0x84, 0x0B, 0xF0, 'F', 'R', 'E', 'E', 'S', 'P', 'A', 'C', 'E', 'A', 0x85, 0x10}, c...)
	got, ok, err := cuidFromFCI(fci)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, c, got[:])

	_, ok, err = cuidFromFCI([]byte{0x6F, 0x03, 0x84, 0x01, 0xF0})
	require.NoError(t, err)
	assert.False(t, ok, "no 85: read EF.CUID instead")
	got, ok, err = cuidFromFCI(append(append([]byte{0x6F, 0x12, 0x85, 0x10}, c...), 0x00, 0x00))
	require.NoError(t, err, "00 padding after the template")
	require.True(t, ok)
	assert.Equal(t, c, got[:])
	_, ok, err = cuidFromFCI(nil)
	require.NoError(t, err)
	assert.False(t, ok)

	for _, bad := range [][]byte{
		{0x62, 0x00},
		{0x6F, 0x05, 0x85, 0x03, 1, 2, 3},
		append([]byte{0x6F, 0x12, 0x85, 0x10}, make([]byte, 16)...),
		{0x6F, 0x10, 0x85},
		// Trailing data after the template, and a second CUID: which
		// CUID the card meant is ambiguous, so neither is taken.
		append(append([]byte{0x6F, 0x12, 0x85, 0x10}, c...), 0x85, 0x10),
		append(append(append([]byte{0x6F, 0x24, 0x85, 0x10}, c...), 0x85, 0x10), make([]byte, 16)...),
		append(append(append([]byte{0x6F, 0x24, 0x85, 0x10}, c...), 0x85, 0x10), c...),
	} {
		_, _, err := cuidFromFCI(bad)
		assert.ErrorIs(t, err, ErrMalformedCUID, "% X", bad)
	}
}

func FuzzCUIDFromFCI(f *testing.F) {
	f.Add(append([]byte{0x6F, 0x12, 0x85, 0x10}, []byte("0123456789abcdef")...))
	f.Add([]byte{0x6F, 0x03, 0x84, 0x01, 0xF0})
	f.Add([]byte{0x6F, 0x82, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ok, err := cuidFromFCI(b)
		if err != nil && !errors.Is(err, ErrMalformedCUID) {
			t.Fatalf("untyped error %v", err)
		}
		if ok && c.IsZero() {
			t.Fatal("zero CUID accepted")
		}
	})
}
