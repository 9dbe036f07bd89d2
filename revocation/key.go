package revocation

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

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

// ErrInvalidKey is returned for a malformed key.
var ErrInvalidKey = errors.New("revocation: invalid key")

// Key identifies a revocable card or certificate. It is comparable and can be
// used as a map key. The zero Key is invalid.
//
// The bytes are held as big-endian words, zero-padded to MaxSerialLen
// bytes, so that a Key travels in registers: a lookup takes a CUID's two
// words as they are, with no copy through memory (such a copy, read back
// at another width, stalls each lookup until the previous one's memory
// accesses have completed).
type Key struct {
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
		return Key{}, fmt.Errorf("%w: serial number of %d bytes, want 1 to %d", ErrInvalidKey, len(b), MaxSerialLen)
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
			return Key{}, fmt.Errorf("%w: cuid %q: want 32 lower-case hex digits", ErrInvalidKey, truncate(v))
		}
		return CUIDKey(c), nil
	case "serial":
		if len(v) == 0 || len(v)%2 != 0 || len(v) > 2*(MaxSerialLen+1) {
			return Key{}, fmt.Errorf("%w: serial %q: want an even number of hex digits", ErrInvalidKey, truncate(v))
		}
		b, err := hex.DecodeString(v)
		if err != nil {
			return Key{}, fmt.Errorf("%w: serial %q: not hex", ErrInvalidKey, truncate(v))
		}
		return SerialKey(b)
	}
	return Key{}, fmt.Errorf("%w: unknown key kind %q", ErrInvalidKey, truncate(kind))
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

// Reason is why an entry was revoked.
type Reason uint8

// Reasons. The CRL reason codes of RFC 5280 section 5.3.1 map onto them.
const (
	ReasonUnspecified   Reason = 0
	ReasonLost          Reason = 1
	ReasonStolen        Reason = 2
	ReasonSuspended     Reason = 3
	ReasonHolderRequest Reason = 4
	ReasonSuperseded    Reason = 5
	ReasonDeceased      Reason = 6
	ReasonKeyCompromise Reason = 7
	ReasonOther         Reason = 8
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

// ErrInvalidReason is returned for an unknown reason name or code.
var ErrInvalidReason = errors.New("revocation: invalid reason")

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

// Origin says where an entry came from.
type Origin uint8

// Origins.
const (
	// OriginFeed is a revocation delivered in the list; it cannot be undone
	// locally.
	OriginFeed Origin = 1
	// OriginLocalStop is an urgent stop made in the operator's own system.
	OriginLocalStop Origin = 2
)

// String returns "feed" or "local-stop".
func (o Origin) String() string {
	switch o {
	case OriginFeed:
		return "feed"
	case OriginLocalStop:
		return "local-stop"
	}
	return fmt.Sprintf("origin(%d)", uint8(o))
}

// MarshalText implements encoding.TextMarshaler.
func (o Origin) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Record is one revocation as delivered in a list or delta: compact, so that
// a 10-million-entry import fits in memory.
type Record struct {
	Key Key
	// RevokedAt is the revocation time in Unix seconds (UTC).
	RevokedAt int64
	Reason    Reason
}

// Time returns RevokedAt as a time.Time in UTC.
func (r Record) Time() time.Time { return time.Unix(r.RevokedAt, 0).UTC() }

// Entry is what a lookup finds: a revocation with its origin, and for a local
// stop who made it and why.
type Entry struct {
	Key       Key       `json:"key"`
	RevokedAt time.Time `json:"revoked_at"`
	Reason    Reason    `json:"reason"`
	Origin    Origin    `json:"origin"`
	By        string    `json:"by,omitempty"`  // local stop: operator who made it
	Why       string    `json:"why,omitempty"` // local stop: free-text reason
}
