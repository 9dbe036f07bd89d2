package mockcard

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPINMatches(t *testing.T) {
	long := bytes.Repeat([]byte{'1'}, maxPINLen)
	tests := []struct {
		name           string
		candidate, pin []byte
		want           bool
	}{
		{"equal", []byte("1234"), []byte("1234"), true},
		{"different", []byte("1235"), []byte("1234"), false},
		{"prefix", []byte("123"), []byte("1234"), false},
		{"longer", []byte("12340"), []byte("1234"), false},
		{"zero padding is not a match", []byte("1234\x00"), []byte("1234"), false},
		{"empty candidate", nil, []byte("1234"), false},
		{"longest", long, append([]byte(nil), long...), true},
		{"beyond the longest", append(long, '1'), append(long, '1'), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pinMatches(tt.candidate, tt.pin))
		})
	}
}

// TestChangeRefDataOldBeforeNewLength: CHANGE REFERENCE DATA checks the
// current PIN before the new one's length (docs/PROTOCOL.md §6.4). A wrong
// current PIN spends a try whatever the new part; a matching one restores
// the counter, and only then does a new PIN outside the bounds get 6A80,
// leaving the PIN unchanged.
func TestChangeRefDataOldBeforeNewLength(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	tries := func() int {
		n, err := c.PINTriesLeft(testAID, 0x81)
		require.NoError(t, err)
		return n
	}
	// Wrong current "9999", new "12" too short: the try is spent.
	assert.Equal(t, "63C2", tx(t, c, "0024008106393939393132"))
	assert.Equal(t, 2, tries())
	// Right current "1234", new "12" too short: 6A80, counter restored.
	assert.Equal(t, "6A80", tx(t, c, "0024008106313233343132"))
	assert.Equal(t, 3, tries())
	// Right current, new 17 bytes (over MaxLen 16): 6A80 as well.
	assert.Equal(t, "6A80", tx(t, c, "0024008115"+"31323334"+strings.Repeat("35", 17)))
	assert.Equal(t, 3, tries())
	// The PIN is still "1234".
	assert.Equal(t, "9000", tx(t, c, "002000810431323334"))
}
