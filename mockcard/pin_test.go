package mockcard

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mynacard/freespace/apdu"

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

// TestPINRequireSM: a PIN object that requires secure messaging refuses
// the PIN in plain (6982, no try spent), so a host that would send it in
// clear fails against the mock instead of passing; the status query stays
// plain, and the same commands under secure messaging work. The setting
// survives a state round trip.
func TestPINRequireSM(t *testing.T) {
	spec := testSpec()
	spec.PINs[0].RequireSM = true
	c, err := New(WithAP(spec))
	require.NoError(t, err)
	tries := func(c *Card) int {
		n, err := c.PINTriesLeft(testAID, 0x81)
		require.NoError(t, err)
		return n
	}

	tx(t, c, selTest)
	assert.Equal(t, "6982", tx(t, c, "002000810431323334"), "VERIFY in plain, right PIN")
	assert.Equal(t, "6982", tx(t, c, "002000810439393939"), "VERIFY in plain, wrong PIN")
	assert.Equal(t, "6982", tx(t, c, "00240081083132333435363738"), "CHANGE REFERENCE DATA in plain")
	assert.Equal(t, 3, tries(c), "no try spent in plain")
	assert.Equal(t, "63C3", tx(t, c, "00200081"), "the status query stays plain")

	ctx := context.Background()
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	assert.Equal(t, apdu.StatusWord(0x63C2), smSW(t, s, ctx, apdu.Command{INS: apdu.InsVerify, P2: 0x81, Data: []byte("9999")}))
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, apdu.Command{INS: apdu.InsVerify, P2: 0x81, Data: []byte("1234")}))
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, apdu.Command{INS: apdu.InsChangeReferenceData, P2: 0x81, Data: []byte("12345678")}))

	b, err := c.MarshalState()
	require.NoError(t, err)
	loaded, err := UnmarshalState(b)
	require.NoError(t, err)
	tx(t, loaded, selTest)
	assert.Equal(t, "6982", tx(t, loaded, "002000810435363738"), "still refused in plain after a state round trip")
	assert.Equal(t, 3, tries(loaded))
}
