package cardap_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/internal/pcsctest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestServePCSC runs the serve loop through a real pcscd: two cards are
// presented one after the other in a vpcd reader, and each is identified
// once, while the card is in the reader.
func TestServePCSC(t *testing.T) {
	slot := pcsctest.Acquire(t)
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	taps := make(chan cardap.Tap, 4)
	done := make(chan error, 1)
	go func() {
		done <- c.ServePCSC(ctx, func(_ context.Context, tap cardap.Tap, _ cardap.Card) { taps <- tap },
			cardap.PCSCOptions{Readers: []string{slot.ReaderName}})
	}()
	for _, user := range []string{"U-PCSC-1", "U-PCSC-2"} {
		card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: user}))
		conn := slot.Attach(t, card)
		select {
		case tap := <-taps:
			require.NoError(t, tap.Err)
			assert.Equal(t, user, tap.Identity.UserID)
			assert.Equal(t, slot.ReaderName, tap.Slot)
		case <-ctx.Done():
			t.Fatalf("no tap for %s", user)
		}
		require.NoError(t, conn.Close())
		pcsctest.WaitAbsent(t, slot)
	}
	select {
	case tap := <-taps:
		t.Fatalf("unexpected extra tap %+v", tap)
	default:
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}
