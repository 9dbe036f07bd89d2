package revocation

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mynacard/freespace/profile"
)

// Kind is the key space of a [Key].
type Kind uint8

// Key spaces. CUIDs and certificate serial numbers never compare equal, even
// when their bytes do.
const (
	KindCUID   Kind = 1 // card-unique identifier, exactly 16 bytes
	KindSerial Kind = 2 // X.509 certificate serial number, 1 to 20 bytes
)

// MaxSerialLen is the longest certificate serial number accepted, in bytes
// (RFC 5280 section 4.1.2.2).
const MaxSerialLen = 20

// String returns "cuid" or "serial".
func (k Kind) String() string {
	switch k {
	case KindCUID:
		return "cuid"
	case KindSerial:
		return "serial"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Key identifies a revocable card or certificate. It is comparable and can be
// used as a map key. The zero Key is invalid. It prints as its String form
// under %v and %s, and as its bytes in hex (without the kind) under %x
// and %X.
type Key struct {
	// The bytes are held as big-endian words, zero-padded to MaxSerialLen
	// bytes, so that a Key travels in registers: a lookup takes a CUID's
	// two words as they are, with no copy through memory (such a copy,
	// read back at another width, stalls each lookup until the previous
	// one's memory accesses have completed).
	w0, w1 uint64 // bytes 0-7 and 8-15
	w2     uint32 // bytes 16-19
	kind   Kind
	n      uint8
}

// keyOf returns the key of kind and the first n bytes of b (n <= len(b) <=
// MaxSerialLen; the rest of b must be zero or is ignored when n says so).
func keyOf(kind Kind, b []byte) Key {
	var a [MaxSerialLen]byte
	copy(a[:], b)
	return Key{
		w0: binary.BigEndian.Uint64(a[0:]), w1: binary.BigEndian.Uint64(a[8:]), w2: binary.BigEndian.Uint32(a[16:]),
		kind: kind, n: uint8(min(len(b), MaxSerialLen)),
	}
}

// raw returns the key's bytes, zero-padded to MaxSerialLen.
func (k Key) raw() [MaxSerialLen]byte {
	var a [MaxSerialLen]byte
	binary.BigEndian.PutUint64(a[0:], k.w0)
	binary.BigEndian.PutUint64(a[8:], k.w1)
	binary.BigEndian.PutUint32(a[16:], k.w2)
	return a
}

// CUIDKey returns the key of a card-unique identifier.
func CUIDKey(c profile.CUID) Key {
	return Key{w0: binary.BigEndian.Uint64(c[:8]), w1: binary.BigEndian.Uint64(c[8:]), kind: KindCUID, n: profile.CUIDLen}
}

// SerialKey returns the key of a certificate serial number given as its
// big-endian magnitude. Leading zero bytes are dropped so that every
// encoding of the same number gives the same key; zero itself is one byte 00.
func SerialKey(b []byte) (Key, error) {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > MaxSerialLen {
		return Key{}, fmt.Errorf("%w: serial number of %d bytes, want 1 to %d", ErrMalformedKey, len(b), MaxSerialLen)
	}
	return keyOf(KindSerial, b), nil
}

// ParseKey parses "cuid:<32 hex>" or "serial:<hex>"; a bare 32-digit hex
// string is taken as a CUID.
func ParseKey(s string) (Key, error) {
	kind, v, ok := strings.Cut(s, ":")
	if !ok {
		kind, v = "cuid", s
	}
	return parseKeyParts(kind, v)
}

func parseKeyParts(kind, v string) (Key, error) {
	switch kind {
	case "cuid":
		c, err := profile.ParseCUID(v)
		if err != nil || strings.ToLower(v) != v {
			return Key{}, fmt.Errorf("%w: cuid %q: want 32 lower-case hex digits", ErrMalformedKey, truncate(v))
		}
		return CUIDKey(c), nil
	case "serial":
		if len(v) == 0 || len(v)%2 != 0 || len(v) > 2*(MaxSerialLen+1) {
			return Key{}, fmt.Errorf("%w: serial %q: want an even number of hex digits", ErrMalformedKey, truncate(v))
		}
		b, err := hex.DecodeString(v)
		if err != nil {
			return Key{}, fmt.Errorf("%w: serial %q: not hex", ErrMalformedKey, truncate(v))
		}
		return SerialKey(b)
	}
	return Key{}, fmt.Errorf("%w: unknown key kind %q", ErrMalformedKey, truncate(kind))
}

func truncate(s string) string {
	if len(s) > 48 {
		return s[:48] + "..."
	}
	return s
}

// Kind returns the key space.
func (k Key) Kind() Kind { return k.kind }

// Bytes returns a copy of the key's bytes.
func (k Key) Bytes() []byte {
	a := k.raw()
	return append([]byte(nil), a[:min(k.n, MaxSerialLen)]...)
}

// IsZero reports whether k is the zero (invalid) Key.
func (k Key) IsZero() bool { return k.kind == 0 }

// CUID returns the card-unique identifier and true when k is a CUID key.
func (k Key) CUID() (profile.CUID, bool) {
	var c profile.CUID
	if k.kind != KindCUID {
		return c, false
	}
	binary.BigEndian.PutUint64(c[:8], k.w0)
	binary.BigEndian.PutUint64(c[8:], k.w1)
	return c, true
}

// String returns "cuid:<hex>" or "serial:<hex>", the form ParseKey reads.
func (k Key) String() string {
	if k.kind == 0 {
		return "invalid"
	}
	a := k.raw()
	return k.kind.String() + ":" + hex.EncodeToString(a[:min(k.n, MaxSerialLen)])
}

// Format implements fmt.Formatter: %x and %X print the key's bytes in hex
// once (fmt's default would hex-encode the String form, "cuid:..."
// itself), %q the quoted String form, every other verb the String form.
func (k Key) Format(f fmt.State, verb rune) {
	switch verb {
	case 'x', 'X':
		a := k.raw()
		fmt.Fprintf(f, fmt.FormatString(f, verb), a[:min(k.n, MaxSerialLen)])
	case 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), k.String())
	default:
		fmt.Fprintf(f, fmt.FormatString(f, 's'), k.String())
	}
}

// MarshalText implements encoding.TextMarshaler.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Key) UnmarshalText(b []byte) error {
	v, err := ParseKey(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Compare orders keys as a store does (CUIDs before serial numbers, then
// by length, then by bytes): -1, 0 or +1 as in cmp.Compare.
func (k Key) Compare(o Key) int { return max(-1, min(1, compareKeys(k, o))) }

// compareKeys orders keys by kind, then length, then bytes.
func compareKeys(a, b Key) int {
	if a.kind != b.kind {
		return int(a.kind) - int(b.kind)
	}
	if a.n != b.n {
		return int(a.n) - int(b.n)
	}
	// Bytes past n are zero in both, so the words order like the bytes.
	if c := cmp.Compare(a.w0, b.w0); c != 0 {
		return c
	}
	if c := cmp.Compare(a.w1, b.w1); c != 0 {
		return c
	}
	return cmp.Compare(a.w2, b.w2)
}
