//go:build !cgo

package pcsc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/cardap/pcsc"
	"github.com/mynacard/freespace/reader"
)

// TestServeWithoutCgo: built without cgo, Serve returns reader.ErrNoCgo at
// once instead of waiting forever for a PC/SC service it cannot reach.
func TestServeWithoutCgo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := newClient(t, func(c *cardap.Config) { c.NoRevocation = true })
	err := pcsc.Serve(ctx, c, func(context.Context, cardap.Tap, cardap.Card) {}, pcsc.Options{})
	assert.ErrorIs(t, err, reader.ErrNoCgo)
	assert.NoError(t, ctx.Err(), "returned at once")
}
