//go:build cgo || windows

package reader_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/reader"
)

// vanishingCard removes itself when the command it is told arrives,
// without answering it: pcscd then waits for an answer that never comes.
type vanishingCard struct {
	*testCard
	at, n int
}

func (c *vanishingCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.n++
	if c.n == c.at {
		return nil, apdu.ErrCardRemoved // vpcd closes the connection
	}
	return c.testCard.Transmit(ctx, cmd)
}

// TestVanishedCardIsOnlyARemoval: a card that leaves while pcscd waits for
// its answer gives an error that is a removal and nothing else (it once
// also matched apdu.ErrMalformedResponse, and a Type C read called a
// valid card malformed), says "reader:" once and fits on one line.
func TestVanishedCardIsOnlyARemoval(t *testing.T) {
	t.Parallel()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	for _, at := range []int{1, 2} {
		slot.Attach(t, &vanishingCard{testCard: newTestCard([]byte("data")), at: at})
		card, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
		require.NoError(t, err)
		var last error
		for i := 1; i <= at; i++ {
			_, last = card.Transmit(ctx, selectAPDU())
		}
		require.Error(t, last, "command %d", at)
		assert.ErrorIs(t, last, apdu.ErrCardRemoved)
		assert.ErrorIs(t, last, apdu.ErrCardRemoved)
		assert.NotErrorIs(t, last, apdu.ErrMalformedResponse)
		assert.Equal(t, 1, strings.Count(last.Error(), "reader:"), last.Error())
		assert.NotContains(t, last.Error(), "\n")
		require.NoError(t, card.Close())
		pcsctest.WaitAbsent(t, slot)
	}
}
