package reader

import "strings"

// State holds the SCARD_STATE_* flags of a reader (pcsclite.h). The upper 16
// bits of the raw PC/SC value are pcsc-lite's event counter; State keeps the
// lower 16 bits only.
type State uint32

// Reader state flags, as defined by PC/SC (pcsclite.h).
const (
	StateChanged     State = 0x0002 // the state differs from the one the caller knew
	StateUnknown     State = 0x0004 // the reader is not known (gone)
	StateUnavailable State = 0x0008 // the state is unavailable
	StateEmpty       State = 0x0010 // no card in the reader
	StatePresent     State = 0x0020 // a card is in the reader
	StateATRMatch    State = 0x0040 // the ATR matches a searched card
	StateExclusive   State = 0x0080 // the card is in exclusive use
	StateInUse       State = 0x0100 // the card is in use by an application
	StateMute        State = 0x0200 // the card does not answer (bad ATR)
	StateUnpowered   State = 0x0400 // the card is not powered
)

// String lists the set flags, e.g. "present|inuse".
func (s State) String() string {
	var parts []string
	for f := StateChanged; f <= StateUnpowered; f <<= 1 {
		if s&f != 0 {
			parts = append(parts, f.flagName())
		}
	}
	if len(parts) == 0 {
		return "unaware"
	}
	return strings.Join(parts, "|")
}

// flagName names a single flag.
func (s State) flagName() string {
	switch s {
	case StateChanged:
		return "changed"
	case StateUnknown:
		return "unknown"
	case StateUnavailable:
		return "unavailable"
	case StateEmpty:
		return "empty"
	case StatePresent:
		return "present"
	case StateATRMatch:
		return "atrmatch"
	case StateExclusive:
		return "exclusive"
	case StateInUse:
		return "inuse"
	case StateMute:
		return "mute"
	case StateUnpowered:
		return "unpowered"
	}
	return ""
}

// ReaderState is a reader's state as reported by SCardGetStatusChange.
type ReaderState struct {
	Name  string // reader name
	State State  // SCARD_STATE_* flags
	ATR   []byte // the card's ATR when a card is present
	raw   uint32 // the full event state, including pcsc-lite's event counter
}

// Present reports whether a card is in the reader.
func (s ReaderState) Present() bool { return s.State&StatePresent != 0 }

// Empty reports whether the reader is known to hold no card.
func (s ReaderState) Empty() bool { return s.State&StateEmpty != 0 }

// Gone reports whether the reader is no longer known to PC/SC.
func (s ReaderState) Gone() bool { return s.State&StateUnknown != 0 }
