package apdu

import (
	"context"
	"errors"
)

// Transport sends one command APDU and returns the card's response APDU
// (response data followed by SW1 SW2). It is the single interface shared by
// every layer: the PC/SC reader, the in-process mock card, secure messaging
// and the Channel all satisfy it, so decorators can be stacked.
//
// Implementations must honour ctx, must not retain cmd after returning, and
// return a fresh slice the caller may keep. A transport error (card removed,
// reader gone, context cancelled) is returned as the error; a status word is
// never an error at this level.
type Transport interface {
	Transmit(ctx context.Context, cmd []byte) ([]byte, error)
}

// TransportFunc adapts a function to the Transport interface.
type TransportFunc func(ctx context.Context, cmd []byte) ([]byte, error)

// Transmit calls f(ctx, cmd).
func (f TransportFunc) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	return f(ctx, cmd)
}

// Transactor is implemented by transports that can give one caller exclusive
// use of the card for a multi-APDU operation (a PC/SC transaction). The
// transaction lasts for the call of fn only; it is never held for the
// connection's lifetime.
type Transactor interface {
	WithTransaction(ctx context.Context, fn func(ctx context.Context) error) error
}

// WithTransaction runs fn inside a transaction of t when t (or a transport it
// wraps, see Unwrapper) implements Transactor, and simply calls fn otherwise.
func WithTransaction(ctx context.Context, t Transport, fn func(ctx context.Context) error) error {
	for t != nil {
		if tx, ok := t.(Transactor); ok {
			return tx.WithTransaction(ctx, fn)
		}
		u, ok := t.(Unwrapper)
		if !ok {
			break
		}
		t = u.Unwrap()
	}
	return fn(ctx)
}

// Unwrapper is implemented by decorators (Channel, trace, secure messaging)
// to expose the transport they wrap.
type Unwrapper interface {
	Unwrap() Transport
}

// Transport-level sentinel errors. Every transport (PC/SC reader, mock card,
// vpcd) wraps its own failures so that errors.Is works with these values
// regardless of where the card lives.
var (
	// ErrCardRemoved: the card left the reader (or was never there).
	ErrCardRemoved = errors.New("apdu: card removed")
	// ErrCardReset: the card was reset by another application; the session
	// state on the card (selected AP, authentication) is gone.
	ErrCardReset = errors.New("apdu: card reset")
	// ErrMalformedResponse: the response is not a valid APDU response
	// (for example shorter than the two status bytes).
	ErrMalformedResponse = errors.New("apdu: malformed response")
	// ErrResponseTooLarge: the response exceeds the configured bound.
	ErrResponseTooLarge = errors.New("apdu: response too large")
	// ErrInvalidCommand: a command APDU cannot be encoded or parsed.
	ErrInvalidCommand = errors.New("apdu: invalid command")
)
