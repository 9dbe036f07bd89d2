package apsession

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/profile"
)

// fci wraps objects in a 6F template after 84 AID.
func fci(objs ...byte) []byte {
	body := append([]byte{0x84, 0x05, 0xF0, 1, 2, 3, 4}, objs...)
	return append([]byte{0x6F, byte(len(body))}, body...)
}

func TestKeySetFromFCI(t *testing.T) {
	for _, tc := range []struct {
		name string
		fci  []byte
		v    int
		ok   bool
	}{
		{"no FCI", nil, 0, false},
		{"no A5", fci(), 0, false},
		{"A5 without C1", fci(0xA5, 0x06, 0xC2, 0x04, 'T', 'E', 'S', 'T'), 0, false},
		{"version 1", fci(0xA5, 0x03, 0xC1, 0x01, 0x01), 1, true},
		{"version 255", fci(0xA5, 0x03, 0xC1, 0x01, 0xFF), 255, true},
		{"unknown tags ignored", fci(0xA5, 0x0C, 0xC2, 0x04, 'T', 'E', 'S', 'T', 0xC1, 0x01, 0x02, 0xDF, 0x01, 0x00), 2, true},
		{"version before the CUID", fci(0xA5, 0x03, 0xC1, 0x01, 0x07, 0x85, 0x00), 7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok, err := keySetFromFCI(tc.fci)
			require.NoError(t, err)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.v, v)
		})
	}
	for name, bad := range map[string][]byte{
		"version 0":         fci(0xA5, 0x03, 0xC1, 0x01, 0x00),
		"two-byte version":  fci(0xA5, 0x04, 0xC1, 0x02, 0x00, 0x01),
		"empty version":     fci(0xA5, 0x02, 0xC1, 0x00),
		"C1 twice":          fci(0xA5, 0x06, 0xC1, 0x01, 0x01, 0xC1, 0x01, 0x02),
		"A5 twice":          fci(0xA5, 0x03, 0xC1, 0x01, 0x01, 0xA5, 0x03, 0xC1, 0x01, 0x02),
		"A5 truncated":      fci(0xA5, 0x05, 0xC1, 0x01, 0x01),
		"A5 content broken": fci(0xA5, 0x02, 0xC1, 0x05),
		"not 6F":            {0x62, 0x00},
	} {
		_, _, err := keySetFromFCI(bad)
		assert.ErrorIs(t, err, profile.ErrMalformed, name)
		assert.ErrorIs(t, err, ErrMalformedKeySet, name)
	}
}

func FuzzKeySetFromFCI(f *testing.F) {
	f.Add(fci(0xA5, 0x03, 0xC1, 0x01, 0x01))
	f.Add(fci(0xA5, 0x06, 0xC2, 0x04, 'T', 'E', 'S', 'T'))
	f.Add([]byte{0x6F, 0x82, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok, err := keySetFromFCI(b)
		if err != nil && !errors.Is(err, ErrMalformedKeySet) {
			t.Fatalf("untyped error %v", err)
		}
		if ok && (v < 1 || v > profile.MaxKeySet) {
			t.Fatalf("version %d accepted", v)
		}
	})
}
