package mockcard

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFCPSizeLen: SELECT EF with P2 = 04 answers the FCP with the EF size
// (its current 5 bytes for EF 0101) on the configured number of bytes; lengths
// outside 1 to 4 are refused when the card is made.
func TestFCPSizeLen(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "620B80020005820101830201019000"}, // the default, 2 bytes
		{1, "620A800105820101830201019000"},
		{3, "620C8003000005820101830201019000"},
		{4, "620D800400000005820101830201019000"},
	} {
		var opts []Option
		if tc.n != 0 {
			opts = append(opts, WithFCPSizeLen(tc.n))
		}
		c := newTestCard(t, opts...)
		require.Equal(t, "9000", tx(t, c, selTest))
		assert.Equal(t, tc.want, tx(t, c, "00A4020402010100"), "size on %d bytes", tc.n)
		clone, err := c.Clone()
		require.NoError(t, err)
		require.Equal(t, "9000", tx(t, clone, selTest))
		assert.Equal(t, tc.want, tx(t, clone, "00A4020402010100"), "a clone keeps the size length")
	}
	for _, n := range []int{-1, 0, 5} {
		_, err := New(WithFCPSizeLen(n))
		assert.Error(t, err, "length %d", n)
	}
}
