package profile

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// CUIDLen is the length of a card-unique identifier in bytes.
const CUIDLen = 16

// CUID is the card-unique identifier of a card AP: 16 bytes assigned when
// the AP is loaded, unique per card and AP, readable without authentication
// from EF FIDCUID. It is the diversification data for per-card keys, the
// associated data of Type D's encryption, the key of revocation lists, and
// how a swapped card is detected. It is not the My Number and reveals
// nothing about the holder.
type CUID [CUIDLen]byte

// ErrInvalidCUID is returned when a CUID has the wrong length or is not hex.
var ErrInvalidCUID = errors.New("profile: invalid card-unique identifier")

// ParseCUID parses 32 hex digits.
func ParseCUID(s string) (CUID, error) {
	var c CUID
	if len(s) != 2*CUIDLen {
		return c, fmt.Errorf("%w: %d characters, want %d hex digits", ErrInvalidCUID, len(s), 2*CUIDLen)
	}
	if _, err := hex.Decode(c[:], []byte(s)); err != nil {
		return CUID{}, fmt.Errorf("%w: not hex", ErrInvalidCUID)
	}
	return c, nil
}

// CUIDFromBytes copies exactly 16 bytes into a CUID.
func CUIDFromBytes(b []byte) (CUID, error) {
	var c CUID
	if len(b) != CUIDLen {
		return c, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidCUID, len(b), CUIDLen)
	}
	copy(c[:], b)
	return c, nil
}

// String returns 32 lower-case hex digits.
func (c CUID) String() string { return hex.EncodeToString(c[:]) }

// Format prints the CUID's 16 bytes: %x and %X as 32 hex digits (not the
// hex of String's hex), %s, %v and %q as String, %#v as Go syntax.
func (c CUID) Format(f fmt.State, verb rune) {
	formatBytes(f, verb, c[:], c.String(), [CUIDLen]byte(c))
}

// IsZero reports whether c is all zero (never a valid assigned CUID).
func (c CUID) IsZero() bool { return c == CUID{} }

// MarshalText implements encoding.TextMarshaler.
func (c CUID) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *CUID) UnmarshalText(b []byte) error {
	v, err := ParseCUID(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// formatBytes is the Format of CUID and AID: %x / %X format the bytes
// themselves (with a String method fmt would otherwise hex-encode the
// string, "%x" of a CUID giving 64 digits), %s / %v / %q the text, %#v
// the Go value goSyntax; flags and width are kept.
func formatBytes(f fmt.State, verb rune, b []byte, text string, goSyntax any) {
	switch {
	case verb == 'x' || verb == 'X':
		fmt.Fprintf(f, fmt.FormatString(f, verb), b)
	case verb == 'v' && f.Flag('#'):
		fmt.Fprintf(f, "%#v", goSyntax)
	case verb == 's' || verb == 'v' || verb == 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), text)
	default:
		fmt.Fprintf(f, fmt.FormatString(f, verb), b)
	}
}
