//go:build !cgo && !windows

package reader

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWithoutCgo(t *testing.T) {
	ctx := context.Background()
	_, err := EstablishContext(ctx)
	assert.ErrorIs(t, err, ErrNoCgo)
	var c *Context
	_, err = c.Connect(ctx, "r", ConnectOptions{})
	assert.ErrorIs(t, err, ErrNoCgo)
	_, err = c.WaitForCard(ctx, "r")
	assert.ErrorIs(t, err, ErrNoCgo)
	var card *Card
	_, err = card.Transmit(ctx, []byte{0, 0xA4, 0, 0})
	assert.ErrorIs(t, err, ErrNoCgo)
	called := false
	assert.ErrorIs(t, card.WithTransaction(ctx, func(context.Context) error { called = true; return nil }), ErrNoCgo)
	assert.False(t, called)
}
