package cardap_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestZeroClient: a Client not made by New (zero, or nil) is a clear
// error wrapping ErrConfig from Identify and the serve loops, never a
// panic.
func TestZeroClient(t *testing.T) {
	ctx := context.Background()
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U"}))
	h := func(context.Context, cardap.Tap, cardap.Card) {}
	for name, c := range map[string]*cardap.Client{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			var (
				id  *cardap.Identity
				err error
			)
			require.NotPanics(t, func() { id, err = c.Identify(ctx, card) })
			assert.Nil(t, id)
			assert.ErrorIs(t, err, cardap.ErrConfig)
			assert.EqualError(t, err, "cardap: invalid configuration: Client not created by New")
			assert.ErrorIs(t, c.Serve(ctx, h, cardap.NewTapSlot("s")), cardap.ErrConfig)
			assert.ErrorIs(t, c.ServeSlot(ctx, h, cardap.NewTapSlot("s"), cardap.ServeOptions{}), cardap.ErrConfig)
			assert.NotNil(t, c.Logger(), "a discarding logger")
		})
	}
}

// TestServeRefusesNilArguments: a nil handler or slot is a configuration
// error at once, not a panic on the first card.
func TestServeRefusesNilArguments(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })
	assert.ErrorIs(t, c.Serve(ctx, nil, cardap.NewTapSlot("s")), cardap.ErrConfig)
	assert.ErrorIs(t, c.ServeSlot(ctx, nil, cardap.NewTapSlot("s"), cardap.ServeOptions{}), cardap.ErrConfig)
	assert.ErrorIs(t, c.ServeSlot(ctx, func(context.Context, cardap.Tap, cardap.Card) {}, nil, cardap.ServeOptions{}), cardap.ErrConfig)
	_, err := c.Identify(ctx, nil)
	assert.Error(t, err)
}

// TestZeroTapSlot: the zero TapSlot is an empty slot that works (it hung
// until its context ended: its channels were nil), and Close of a zero
// TapSlot ends a Tap with ErrSlotGone.
func TestZeroTapSlot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := newClient(t, nil, func(c *cardap.Config) { c.NoRevocation = true })
	var slot cardap.TapSlot
	taps := make(chan cardap.Tap, 1)
	done := make(chan error, 1)
	go func() {
		done <- c.Serve(ctx, func(_ context.Context, tap cardap.Tap, _ cardap.Card) { taps <- tap }, &slot)
	}()
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-ZERO"}))
	require.NoError(t, slot.Tap(ctx, card))
	tap := <-taps
	require.NoError(t, tap.Err)
	assert.Equal(t, "U-ZERO", tap.Identity.UserID)
	slot.Close()
	require.NoError(t, <-done, "every slot gone")
	assert.ErrorIs(t, slot.Tap(ctx, card), cardap.ErrSlotGone)

	var closed cardap.TapSlot
	closed.Close()
	err := closed.Tap(ctx, card)
	assert.True(t, errors.Is(err, cardap.ErrSlotGone), "got %v", err)
}
