package apdu

import "context"

// Counter is a Transport decorator that counts the command APDUs passing
// through it (GET RESPONSE rounds and resends of a Channel above it
// included when the Channel sits on top). It unwraps to Next, so
// WithTransaction still reaches a PC/SC card below. A Counter belongs to
// one operation: it is not safe for concurrent use.
type Counter struct {
	// Next is the transport the commands go to.
	Next Transport
	// APDUs is the number of commands sent so far.
	APDUs int
}

// Transmit counts the command and forwards it to Next.
func (c *Counter) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.APDUs++
	return c.Next.Transmit(ctx, cmd)
}

// Unwrap returns Next.
func (c *Counter) Unwrap() Transport { return c.Next }
