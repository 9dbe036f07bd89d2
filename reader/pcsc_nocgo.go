//go:build !cgo && !windows

package reader

import (
	"context"
	"time"

	"github.com/mynacard/freespace/apdu"
)

// Context would be a PC/SC resource manager context; built without cgo it
// cannot be created (EstablishContext returns ErrNoCgo).
type Context struct{}

// EstablishContext returns ErrNoCgo: PC/SC needs cgo.
func EstablishContext(ctx context.Context) (*Context, error) { return nil, ErrNoCgo }

// Close returns ErrNoCgo.
func (c *Context) Close() error { return ErrNoCgo }

// ListReaders returns ErrNoCgo.
func (c *Context) ListReaders(ctx context.Context) ([]string, error) { return nil, ErrNoCgo }

// Readers returns ErrNoCgo.
func (c *Context) Readers(ctx context.Context) ([]ReaderState, error) { return nil, ErrNoCgo }

// WaitForCard returns ErrNoCgo.
func (c *Context) WaitForCard(ctx context.Context, readerName string) (ReaderState, error) {
	return ReaderState{}, ErrNoCgo
}

// WaitForRemoval returns ErrNoCgo.
func (c *Context) WaitForRemoval(ctx context.Context, readerName string) (ReaderState, error) {
	return ReaderState{}, ErrNoCgo
}

// WaitForChange returns ErrNoCgo.
func (c *Context) WaitForChange(ctx context.Context, readerName string, last ReaderState) (ReaderState, error) {
	return ReaderState{}, ErrNoCgo
}

// WaitForReaderListChange returns ErrNoCgo.
func (c *Context) WaitForReaderListChange(ctx context.Context, timeout time.Duration) error {
	return ErrNoCgo
}

// Connect returns ErrNoCgo.
func (c *Context) Connect(ctx context.Context, readerName string, opts ConnectOptions) (*Card, error) {
	return nil, ErrNoCgo
}

// Card would be a connection to a card; built without cgo it cannot be
// created.
type Card struct{}

// Reader returns "".
func (c *Card) Reader() string { return "" }

// ATR returns nil.
func (c *Card) ATR() []byte { return nil }

// Transmit returns ErrNoCgo.
func (c *Card) Transmit(ctx context.Context, cmd []byte) ([]byte, error) { return nil, ErrNoCgo }

// WithTransaction returns ErrNoCgo without calling fn.
func (c *Card) WithTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	return ErrNoCgo
}

// Protocol returns "".
func (c *Card) Protocol() string { return "" }

// LengthSupport returns nil: nothing is learned without a connection.
func (c *Card) LengthSupport() *apdu.LengthSupport { return nil }

// Reconnect returns ErrNoCgo.
func (c *Card) Reconnect(ctx context.Context) error { return ErrNoCgo }

// Close returns ErrNoCgo.
func (c *Card) Close() error { return ErrNoCgo }
