package profile

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Tags and bounds of the Identity object (docs/PROTOCOL.md §1.3). The
// object is BER-TLV (ISO/IEC 7816-4 §6.3) with one-byte tags and definite
// lengths in short or long form:
//
//	70 L                Identity template
//	   80 L  user ID    1..64 bytes, printable ASCII 21..7E
//	   81 08 expiry     YYYYMMDD in ASCII digits (optional)
//	   A1 L  attribute  (optional, repeated, at most 16)
//	      80 L name     1..32 bytes, printable ASCII 21..7E
//	      81 L value    0..255 bytes of UTF-8
const (
	TagIdentity  byte = 0x70
	TagUserID    byte = 0x80
	TagExpiry    byte = 0x81
	TagAttribute byte = 0xA1
	TagAttrName  byte = 0x80
	TagAttrValue byte = 0x81

	MaxUserIDLen     = 64
	MaxAttributes    = 16
	MaxAttrNameLen   = 32
	MaxAttrValueLen  = 255
	MaxIdentityBytes = 8192
)

// ErrInvalidIdentity is wrapped by every Identity encoding or decoding error.
var ErrInvalidIdentity = errors.New("profile: invalid identity object")

// Attribute is a named value stored beside the user ID.
type Attribute struct {
	Name  string `json:"name"`  // 1..32 bytes of printable ASCII
	Value string `json:"value"` // 0..255 bytes of UTF-8
}

// Identity is what an AP tells about its holder: the operator's user ID,
// an optional expiry date and optional attributes.
type Identity struct {
	// UserID is the operator's identifier of the holder: 1..64 bytes of
	// printable ASCII.
	UserID string
	// Expires is the last day of validity; zero means no expiry. Only its
	// calendar date counts, read in its own location (2030-03-31 00:00
	// JST is 31 March, not the UTC instant's 30 March). Decoded values are
	// UTC midnight.
	Expires time.Time
	// Attributes are optional named values, at most MaxAttributes.
	Attributes []Attribute
}

// Attribute returns the value of the named attribute.
func (id Identity) Attribute(name string) (string, bool) {
	for _, a := range id.Attributes {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Expired reports whether the identity has an expiry date before now's date
// (an identity is valid through the whole day of its expiry date). Both are
// compared as calendar dates, each in its own location: pass now in the
// time zone whose calendar applies (time.Now() for the local one).
func (id Identity) Expired(now time.Time) bool {
	if id.Expires.IsZero() {
		return false
	}
	return dateOf(now).After(dateOf(id.Expires))
}

// dateOf returns t's calendar date, in t's location, as UTC midnight.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7E {
			return false
		}
	}
	return true
}

// Validate checks every bound of the profile, and that no attribute name
// appears twice.
func (id Identity) Validate() error {
	if n := len(id.UserID); n == 0 || n > MaxUserIDLen {
		return fmt.Errorf("%w: user ID of %d bytes, want 1 to %d", ErrInvalidIdentity, n, MaxUserIDLen)
	}
	if !printable(id.UserID) {
		return fmt.Errorf("%w: user ID must be printable ASCII", ErrInvalidIdentity)
	}
	if !id.Expires.IsZero() {
		if y := id.Expires.Year(); y < 1000 || y > 9999 {
			return fmt.Errorf("%w: expiry year %d out of range", ErrInvalidIdentity, y)
		}
	}
	if len(id.Attributes) > MaxAttributes {
		return fmt.Errorf("%w: %d attributes, at most %d", ErrInvalidIdentity, len(id.Attributes), MaxAttributes)
	}
	for i, a := range id.Attributes {
		if n := len(a.Name); n == 0 || n > MaxAttrNameLen || !printable(a.Name) {
			return fmt.Errorf("%w: attribute %d: name must be 1 to %d printable ASCII bytes", ErrInvalidIdentity, i, MaxAttrNameLen)
		}
		if len(a.Value) > MaxAttrValueLen || !utf8.ValidString(a.Value) {
			return fmt.Errorf("%w: attribute %q: value must be at most %d bytes of UTF-8", ErrInvalidIdentity, a.Name, MaxAttrValueLen)
		}
		// A name given twice is a repeated field (docs/PROTOCOL.md §1.3):
		// Attribute would answer the first value, a reader iterating
		// Attributes the last, and the two could grant different rights.
		for _, b := range id.Attributes[:i] {
			if b.Name == a.Name {
				return fmt.Errorf("%w: attribute %q twice", ErrInvalidIdentity, a.Name)
			}
		}
	}
	return nil
}

func appendTL(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xFF:
		return append(dst, 0x81, byte(n))
	default:
		return append(dst, 0x82, byte(n>>8), byte(n))
	}
}

func tlLen(n int) int {
	switch {
	case n < 0x80:
		return 2
	case n <= 0xFF:
		return 3
	default:
		return 4
	}
}

// MarshalBinary encodes the Identity object after validating it.
func (id Identity) MarshalBinary() ([]byte, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	inner := tlLen(len(id.UserID)) + len(id.UserID)
	if !id.Expires.IsZero() {
		inner += 10
	}
	attrLens := make([]int, len(id.Attributes))
	for i, a := range id.Attributes {
		l := tlLen(len(a.Name)) + len(a.Name) + tlLen(len(a.Value)) + len(a.Value)
		attrLens[i] = l
		inner += tlLen(l) + l
	}
	out := make([]byte, 0, tlLen(inner)+inner)
	out = appendTL(out, TagIdentity, inner)
	out = appendTL(out, TagUserID, len(id.UserID))
	out = append(out, id.UserID...)
	if !id.Expires.IsZero() {
		out = appendTL(out, TagExpiry, 8)
		out = append(out, id.Expires.Format("20060102")...)
	}
	for i, a := range id.Attributes {
		out = appendTL(out, TagAttribute, attrLens[i])
		out = appendTL(out, TagAttrName, len(a.Name))
		out = append(out, a.Name...)
		out = appendTL(out, TagAttrValue, len(a.Value))
		out = append(out, a.Value...)
	}
	return out, nil
}

// readTLV reads one TLV with a one-byte tag at b[off:], returning the tag,
// the value and the offset after it. Every length is bounded by b.
func readTLV(b []byte, off int) (tag byte, val []byte, next int, err error) {
	if off >= len(b) {
		return 0, nil, off, fmt.Errorf("%w: truncated at offset %d", ErrInvalidIdentity, off)
	}
	tag = b[off]
	if tag&0x1F == 0x1F {
		return 0, nil, off, fmt.Errorf("%w: multi-byte tag at offset %d", ErrInvalidIdentity, off)
	}
	p := off + 1
	if p >= len(b) {
		return 0, nil, off, fmt.Errorf("%w: missing length at offset %d", ErrInvalidIdentity, p)
	}
	n := int(b[p])
	p++
	switch {
	case n < 0x80:
	case n == 0x81 || n == 0x82:
		k := n - 0x80
		if p+k > len(b) {
			return 0, nil, off, fmt.Errorf("%w: truncated length at offset %d", ErrInvalidIdentity, p)
		}
		n = 0
		for i := 0; i < k; i++ {
			n = n<<8 | int(b[p+i])
		}
		p += k
	default:
		return 0, nil, off, fmt.Errorf("%w: unsupported length byte %02X at offset %d", ErrInvalidIdentity, b[p-1], p-1)
	}
	if n > len(b)-p {
		return 0, nil, off, fmt.Errorf("%w: length %d at offset %d runs past the end (%d bytes left)", ErrInvalidIdentity, n, off, len(b)-p)
	}
	return tag, b[p : p+n], p + n, nil
}

// UnmarshalBinary decodes and validates an Identity object. Bytes after the
// object (for example the padding of a transparent EF) must be 00 or FF.
func (id *Identity) UnmarshalBinary(b []byte) error {
	if len(b) > MaxIdentityBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidIdentity, len(b), MaxIdentityBytes)
	}
	tag, body, next, err := readTLV(b, 0)
	if err != nil {
		return err
	}
	if tag != TagIdentity {
		return fmt.Errorf("%w: tag %02X, want %02X", ErrInvalidIdentity, tag, TagIdentity)
	}
	for _, c := range b[next:] {
		if c != 0x00 && c != 0xFF {
			return fmt.Errorf("%w: trailing data after the object at offset %d", ErrInvalidIdentity, next)
		}
	}
	var out Identity
	var haveID, haveExp bool
	for off := 0; off < len(body); {
		t, v, n, err := readTLV(body, off)
		if err != nil {
			return err
		}
		switch t {
		case TagUserID:
			if haveID {
				return fmt.Errorf("%w: user ID twice", ErrInvalidIdentity)
			}
			haveID = true
			out.UserID = string(v)
		case TagExpiry:
			if haveExp {
				return fmt.Errorf("%w: expiry twice", ErrInvalidIdentity)
			}
			haveExp = true
			if len(v) != 8 {
				return fmt.Errorf("%w: expiry of %d bytes, want 8 (YYYYMMDD)", ErrInvalidIdentity, len(v))
			}
			d, err := time.Parse("20060102", string(v))
			if err != nil {
				return fmt.Errorf("%w: expiry %q is not a YYYYMMDD date", ErrInvalidIdentity, v)
			}
			out.Expires = d
		case TagAttribute:
			if len(out.Attributes) == MaxAttributes {
				return fmt.Errorf("%w: more than %d attributes", ErrInvalidIdentity, MaxAttributes)
			}
			var a Attribute
			var haveName, haveValue bool
			for p := 0; p < len(v); {
				at, av, an, err := readTLV(v, p)
				if err != nil {
					return err
				}
				switch {
				case at == TagAttrName && !haveName:
					haveName, a.Name = true, string(av)
				case at == TagAttrValue && !haveValue:
					haveValue, a.Value = true, string(av)
				default:
					return fmt.Errorf("%w: unexpected or repeated tag %02X in attribute", ErrInvalidIdentity, at)
				}
				p = an
			}
			if !haveName || !haveValue {
				return fmt.Errorf("%w: attribute without name or value", ErrInvalidIdentity)
			}
			out.Attributes = append(out.Attributes, a)
		default:
			return fmt.Errorf("%w: unknown tag %02X", ErrInvalidIdentity, t)
		}
		off = n
	}
	if !haveID {
		return fmt.Errorf("%w: no user ID", ErrInvalidIdentity)
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*id = out
	return nil
}

// ParseIdentity decodes an Identity object; see Identity.UnmarshalBinary.
func ParseIdentity(b []byte) (Identity, error) {
	var id Identity
	err := id.UnmarshalBinary(b)
	return id, err
}
