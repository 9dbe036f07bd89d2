package revocation

import "fmt"

// Reason is why an entry was revoked.
type Reason uint8

// Reasons, with the names the CSV/TSV form writes (docs/PROTOCOL.md
// chapter 9.1). The CRL reason codes of RFC 5280 section 5.3.1 map onto
// them (package revocation/feed).
const (
	ReasonUnspecified   Reason = 0 // no reason given
	ReasonLost          Reason = 1 // the holder lost the card
	ReasonStolen        Reason = 2 // the card was stolen
	ReasonSuspended     Reason = 3 // use suspended (may be lifted)
	ReasonHolderRequest Reason = 4 // the holder asked for it
	ReasonSuperseded    Reason = 5 // replaced by a new card
	ReasonDeceased      Reason = 6 // the holder died
	ReasonKeyCompromise Reason = 7 // the card's keys are compromised
	ReasonOther         Reason = 8 // any other reason
	numReasons                 = 9
)

var reasonNames = [numReasons]string{
	"unspecified", "lost", "stolen", "suspended", "holder-request",
	"superseded", "deceased", "key-compromise", "other",
}

// String returns the reason's name as written in the CSV/TSV form.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// ParseReason parses a reason name; the empty string is ReasonUnspecified.
func ParseReason(s string) (Reason, error) {
	if s == "" {
		return ReasonUnspecified, nil
	}
	for i, n := range reasonNames {
		if n == s {
			return Reason(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrInvalidReason, truncate(s))
}

// MarshalText implements encoding.TextMarshaler.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Reason) UnmarshalText(b []byte) error {
	v, err := ParseReason(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Origin says where a revocation came from: the delivered list or a local
// stop.
type Origin uint8

// Origins.
const (
	// OriginDelivered is a revocation delivered in the list; it cannot be
	// undone locally.
	OriginDelivered Origin = 1
	// OriginLocalStop is an urgent stop made in the operator's own system.
	OriginLocalStop Origin = 2
)

// String returns "delivered" or "local-stop".
func (o Origin) String() string {
	switch o {
	case OriginDelivered:
		return "delivered"
	case OriginLocalStop:
		return "local-stop"
	}
	return fmt.Sprintf("origin(%d)", uint8(o))
}

// MarshalText implements encoding.TextMarshaler.
func (o Origin) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it reads what
// MarshalText writes.
func (o *Origin) UnmarshalText(b []byte) error {
	switch string(b) {
	case "delivered":
		*o = OriginDelivered
	case "local-stop":
		*o = OriginLocalStop
	default:
		return fmt.Errorf("%w: origin %q", ErrMalformed, truncate(string(b)))
	}
	return nil
}
