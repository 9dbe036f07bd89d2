package pcsc_test

import (
	"context"
	"testing"
	"time"

	"github.com/mynacard/freespace/internal/testsupport/leaktest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/cardap/pcsc"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestServeNoGoroutineLeak runs Serve through a real pcscd, serves
// one card, and checks that cancelling ctx ends every goroutine it
// started (one per reader, and the waits on the PC/SC service).
func TestServeNoGoroutineLeak(t *testing.T) {
	slot := pcsctest.Acquire(t)
	leaktest.Check(t)
	c := newClient(t, func(c *cardap.Config) { c.NoRevocation = true })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	taps := make(chan cardap.Tap, 1)
	done := make(chan error, 1)
	go func() {
		done <- pcsc.Serve(ctx, c, func(_ context.Context, tap cardap.Tap, _ cardap.Card) { taps <- tap },
			pcsc.Options{Readers: []string{slot.ReaderName}})
	}()
	conn := slot.Attach(t, mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-LEAK"})))
	select {
	case tap := <-taps:
		require.NoError(t, tap.Err)
	case <-ctx.Done():
		t.Fatal("no tap")
	}
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}
