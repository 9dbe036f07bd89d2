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
