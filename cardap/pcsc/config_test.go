package pcsc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/cardap/pcsc"
)

// TestServeRefusesBadArguments: a Client not created by New, a nil
// Client or a nil handler is an error wrapping cardap.ErrConfig at once,
// before anything talks to PC/SC (no retry loop waiting for pcscd).
func TestServeRefusesBadArguments(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := func(context.Context, cardap.Tap, cardap.Card) {}
	good := newClient(t, func(c *cardap.Config) { c.NoRevocation = true })
	for name, tt := range map[string]struct {
		c *cardap.Client
		h cardap.Handler
	}{
		"zero client": {&cardap.Client{}, h},
		"nil client":  {nil, h},
		"nil handler": {good, nil},
	} {
		t.Run(name, func(t *testing.T) {
			err := pcsc.Serve(ctx, tt.c, tt.h, pcsc.Options{})
			assert.ErrorIs(t, err, cardap.ErrConfig)
			assert.NoError(t, ctx.Err(), "returned at once")
		})
	}
}
