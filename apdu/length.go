package apdu

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Support is what is known about a capability of a card and the readers
// and drivers on the way to it.
type Support uint32

const (
	// SupportUnknown: not learned yet.
	SupportUnknown Support = iota
	// Supported: seen working.
	Supported
	// Unsupported: refused (or announced as absent by the card).
	Unsupported
)

// String returns "unknown", "supported" or "unsupported".
func (s Support) String() string {
	switch s {
	case SupportUnknown:
		return "unknown"
	case Supported:
		return "supported"
	case Unsupported:
		return "unsupported"
	}
	return fmt.Sprintf("support(%d)", uint32(s))
}

// LengthSupport records, for one connection to one card, whether
// extended-length APDUs (ISO/IEC 7816-4 §5.1) get through the card, the
// reader and its driver. Many contactless readers have none, and the card
// cannot tell: the historical bytes only say what the card can do. The
// Channels over one connection share it (see LengthSupporter), so what one
// learns the others use. The zero value is SupportUnknown. Safe for
// concurrent use.
type LengthSupport struct{ v atomic.Uint32 }

// Load returns what is known.
func (l *LengthSupport) Load() Support { return Support(l.v.Load()) }

// Store records what was learned.
func (l *LengthSupport) Store(s Support) { l.v.Store(uint32(s)) }

// learn records s when nothing is known yet.
func (l *LengthSupport) learn(s Support) { l.v.CompareAndSwap(uint32(SupportUnknown), uint32(s)) }

// LengthSupporter is implemented by transports that keep a LengthSupport
// for their connection (reader.Card: one per connection, started from the
// ATR's card capabilities and forgotten on Reconnect).
type LengthSupporter interface {
	LengthSupport() *LengthSupport
}

// LengthSupportOf returns the LengthSupport of t or of a transport it wraps
// (see Unwrapper), or nil when none keeps one.
func LengthSupportOf(t Transport) *LengthSupport {
	for t != nil {
		if ls, ok := t.(LengthSupporter); ok {
			if l := ls.LengthSupport(); l != nil {
				return l
			}
		}
		u, ok := t.(Unwrapper)
		if !ok {
			return nil
		}
		t = u.Unwrap()
	}
	return nil
}

// isContextErr reports whether err is the caller's cancellation or
// deadline, which no fallback may hide.
func isContextErr(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// shortForm turns an extended command into the short APDUs that carry it
// (see Channel): Ne above 256 becomes 256 (the rest by GET RESPONSE), data
// above 255 bytes is chained. It reports whether chaining is needed.
func shortForm(cmd Command) (Command, bool, error) {
	cmd.Extended = false
	if cmd.Ne > MaxShortNe {
		cmd.Ne = MaxShortNe
	}
	if len(cmd.Data) <= MaxShortLc {
		return cmd, false, nil
	}
	if cmd.CLA&claChaining != 0 || cmd.CLA == 0xFF {
		return cmd, false, fmt.Errorf("%w: CLA %02X cannot be chained", ErrInvalidCommand, cmd.CLA)
	}
	return cmd, true, nil
}

// tryExtended sends an extended command while the connection's support is
// not known yet: the first answer decides. 6700 (wrong length), or a
// transport error that is not the caller's context, to the extended form
// makes the Channel resend the command once in short form; when that is
// not refused too, extended length is recorded as unsupported and the
// short answer returned. Any other answer records it as supported. A
// command is resent at most once, and only before anything was learned
// (a reader that refuses an extended APDU has not passed it to the card).
func (c *Channel) tryExtended(ctx context.Context, cmd Command, raw []byte) ([]byte, error) {
	resp, err := c.run(ctx, cmd, raw, false)
	switch {
	case err != nil && isContextErr(ctx, err):
		return nil, err
	case err == nil && swOf(resp) != ErrWrongLength:
		// Only when nothing was learned meanwhile: a Channel below this
		// one (under secure messaging) may have fallen back to short
		// APDUs to carry this very command.
		c.length.learn(Supported)
		return resp, nil
	}
	short, chained, serr := shortForm(cmd)
	if serr != nil {
		if err != nil {
			return nil, err
		}
		return resp, nil
	}
	out, err2 := c.sendShort(ctx, short, chained)
	if err2 != nil {
		if err != nil {
			return nil, fmt.Errorf("%w (and resent in short form: %w)", err, err2)
		}
		return nil, err2
	}
	if swOf(out) != ErrWrongLength {
		c.length.Store(Unsupported)
	}
	return out, nil
}
