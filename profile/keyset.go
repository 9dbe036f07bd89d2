package profile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// FCI data objects of an AP with keys (docs/PROTOCOL.md §5.3): SELECT by
// DF name with P2 = 00 answers 6F L 84 L AID [85 10 CUID] [A5 L ...],
// where A5 is the proprietary BER-TLV template of ISO/IEC 7816-4 §7.4.3
// (table 12). Hosts ignore the tags inside A5 they do not know.
const (
	// TagFCIProprietary is the FCI's proprietary BER-TLV template.
	TagFCIProprietary = 0xA5
	// TagKeySetVersion, inside A5, is C1 01 vv: the AP's card-key set
	// version vv (1 to 255), shared by every key of the AP. Also the tag
	// of PUT DATA that commits a staged key set (§5.4).
	TagKeySetVersion = 0xC1
	// TagStagedKeySet is the PUT DATA tag that stages a new key set
	// (§5.4).
	TagStagedKeySet = 0xC3
	// TagTestCard, inside A5, is C2 04 "TEST": the test-card marker
	// (TestCardMarker) that only test cards carry (§1.4); `cardap
	// conformance --destructive` writes only to such cards unless told.
	TagTestCard = 0xC2
)

// TestCardMarker is the value of the test-card marker, ASCII "TEST".
const TestCardMarker = "TEST"

// Key-set versions are one byte on the card: 1 to MaxKeySet.
const (
	// DefaultKeySet is the version of a card whose FCI announces none (a
	// card of profile 2.0 or earlier), unless the terminal configures
	// another (KeySetPolicy.Default).
	DefaultKeySet = 1
	// MaxKeySet is the highest key-set version.
	MaxKeySet = 255
)

// ErrKeySet is matched by every *KeySetError: the terminal does not use
// the card-key set the card holds (or a key set it was asked to load).
var ErrKeySet = errors.New("card-key set refused")

// ErrKeySetNotNewer: a rekey was asked for a key-set version that is not
// newer than the one the card holds (a card's keys never go back).
var ErrKeySetNotNewer = errors.New("the requested key set is not newer than the card's")

// KeySetReason is why a key set is refused.
type KeySetReason uint8

// The reasons of a *KeySetError.
const (
	// KeySetNotAccepted: the version is not in the terminal's accepted
	// list (KeySetPolicy.Accepted).
	KeySetNotAccepted KeySetReason = iota + 1
	// KeySetRetired: the version is below the terminal's minimum
	// (KeySetPolicy.Min).
	KeySetRetired
	// KeySetUnknown: the terminal's key provider holds no master key of
	// this version for the AP.
	KeySetUnknown
	// KeySetIncomplete: the key provider holds some master keys of this
	// version for the AP but not all (KeySetError.Missing names them): a
	// key is never taken from another version.
	KeySetIncomplete
)

// String returns a stable kebab-case name: "not-accepted", "retired",
// "unknown", "incomplete".
func (r KeySetReason) String() string {
	switch r {
	case KeySetNotAccepted:
		return "not-accepted"
	case KeySetRetired:
		return "retired"
	case KeySetUnknown:
		return "unknown"
	case KeySetIncomplete:
		return "incomplete"
	}
	return fmt.Sprintf("key-set-reason(%d)", uint8(r))
}

// MarshalText implements encoding.TextMarshaler.
func (r KeySetReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// KeySetError reports a card-key set the terminal refuses, before any
// MUTUAL AUTHENTICATE: the AP, the version (the card's, or the one a
// rekey was to load) and why. It matches ErrKeySet.
type KeySetError struct {
	// AID is the AP's.
	AID AID
	// Version is the key-set version refused.
	Version int
	// CUID is the card's, when it was read before the refusal (zero
	// otherwise).
	CUID CUID
	// Default: the card announced no version and Version is the
	// terminal's default for such cards (KeySetPolicy.Default).
	Default bool
	// Reason says why.
	Reason KeySetReason
	// Missing names the master keys of Version the key provider lacks
	// (KeySetIncomplete), as "name v2".
	Missing []string
	// Err is the cause, or nil: the key provider's "key not found" for
	// KeySetUnknown and KeySetIncomplete.
	Err error
}

// Error names the AP, the version and the reason; never a key.
func (e *KeySetError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "card-key set %d of AP %s", e.Version, e.AID)
	if e.Default {
		b.WriteString(" (the card announces none: the configured default)")
	}
	switch e.Reason {
	case KeySetNotAccepted:
		b.WriteString(" is not among the versions this terminal accepts")
	case KeySetRetired:
		b.WriteString(" is retired on this terminal")
	case KeySetUnknown:
		b.WriteString(": the key provider holds none of its master keys")
	case KeySetIncomplete:
		b.WriteString(" is incomplete: the key provider lacks " + strings.Join(e.Missing, ", "))
	default:
		b.WriteString(" is refused: " + e.Reason.String())
	}
	return b.String()
}

// Is matches ErrKeySet.
func (e *KeySetError) Is(target error) bool { return target == ErrKeySet }

// Unwrap returns the cause.
func (e *KeySetError) Unwrap() error { return e.Err }

// KeySetPolicy is a terminal's choice among card-key set versions
// (docs/PROTOCOL.md §5.3). The card only chooses among the versions the
// policy accepts: a version outside them is refused with a *KeySetError
// before any MUTUAL AUTHENTICATE, and the terminal never tries one
// version after another. The zero policy reads a card that announces no
// version as version 1 and accepts every version the key provider holds.
type KeySetPolicy struct {
	// Default is the version of a card whose FCI announces none (0: 1).
	Default int
	// Min retires older key sets: a lower version is refused with
	// KeySetRetired (0 or 1: none retired).
	Min int
	// Accepted, when not empty, lists exactly the versions accepted
	// (each at least Min); any other is refused with KeySetNotAccepted.
	Accepted []int
}

// Validate checks the versions: 0 to 255 for Default and Min, 1 to 255
// and at least Min for each accepted one.
func (p KeySetPolicy) Validate() error {
	if p.Default < 0 || p.Default > MaxKeySet {
		return fmt.Errorf("default version %d, want 0 to %d", p.Default, MaxKeySet)
	}
	if p.Min < 0 || p.Min > MaxKeySet {
		return fmt.Errorf("minimum version %d, want 0 to %d", p.Min, MaxKeySet)
	}
	for _, v := range p.Accepted {
		if v < 1 || v > MaxKeySet {
			return fmt.Errorf("accepted version %d, want 1 to %d", v, MaxKeySet)
		}
		if v < p.Min {
			return fmt.Errorf("accepted version %d below the minimum %d", v, p.Min)
		}
	}
	return nil
}

// DefaultVersion is the version of a card that announces none.
func (p KeySetPolicy) DefaultVersion() int {
	if p.Default == 0 {
		return DefaultKeySet
	}
	return p.Default
}

// Check returns nil when the policy accepts version v of the AP aid, or
// a *KeySetError (KeySetRetired, KeySetNotAccepted). dflt says that v
// is the default of a card that announced none; it is reported in the
// error.
func (p KeySetPolicy) Check(aid AID, v int, dflt bool) error {
	e := &KeySetError{AID: aid, Version: v, Default: dflt}
	switch {
	case v < 1 || v > MaxKeySet:
		e.Reason = KeySetNotAccepted
	case v < p.Min:
		e.Reason = KeySetRetired
	case len(p.Accepted) > 0 && !slices.Contains(p.Accepted, v):
		e.Reason = KeySetNotAccepted
	default:
		return nil
	}
	return e
}

// String describes the policy for messages: "key sets ≥ 2, default 1".
func (p KeySetPolicy) String() string {
	s := fmt.Sprintf("key sets ≥ %d", max(1, p.Min))
	if len(p.Accepted) > 0 {
		s = fmt.Sprintf("key sets %v", p.Accepted)
	}
	return fmt.Sprintf("%s, default %d", s, p.DefaultVersion())
}
