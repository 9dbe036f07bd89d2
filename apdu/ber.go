package apdu

import (
	"errors"
	"fmt"
	"iter"
)

// BER-TLV data objects as used by ISO/IEC 7816-4, clause "BER-TLV data objects" (coding rules of
// ISO/IEC 8825-1, definite lengths only).

// MaxTLVDepth bounds the nesting of constructed BER-TLV objects that FindBER
// descends into and that a BERBuilder can hold open.
const MaxTLVDepth = 32

// maxTagBytes is the longest tag field accepted (ISO/IEC 7816-4 uses
// up to three; four still fit a Tag).
const maxTagBytes = 4

// maxLengthBytes is the longest long-form length accepted after the 8x byte
// (84 xx xx xx xx).
const maxLengthBytes = 4

// ErrMalformedTLV is matched (errors.Is) by every *TLVError.
var ErrMalformedTLV = errors.New("apdu: malformed TLV")

// ErrTagNotFound is returned by FindBER, TLV.Find and FindSimpleTLV when no
// object carries the requested tag.
var ErrTagNotFound = errors.New("apdu: tag not found")

// TLVError reports malformed BER-TLV or simple-TLV input. Offset is the
// position of the offending byte in the buffer given to the top-level call
// (for TLV.Children and TLV.Find: in the object's Value).
type TLVError struct {
	Offset int    // position of the offending byte
	Reason string // what is wrong, in words
}

// Error implements error.
func (e *TLVError) Error() string {
	return fmt.Sprintf("apdu: malformed TLV at offset %d: %s", e.Offset, e.Reason)
}

// Unwrap returns ErrMalformedTLV.
func (e *TLVError) Unwrap() error { return ErrMalformedTLV }

func tlvErr(off int, format string, args ...any) error {
	return &TLVError{Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// Tag is a BER-TLV tag: the bytes of the tag field, big-endian, in the low
// bytes (for example 0x5A, 0x5F20, 0x7F49, 0x9F7F01). Tags of one to four
// bytes are supported.
type Tag uint32

// Len returns the number of bytes of the tag field.
func (t Tag) Len() int {
	switch {
	case t <= 0xFF:
		return 1
	case t <= 0xFFFF:
		return 2
	case t <= 0xFFFFFF:
		return 3
	}
	return 4
}

func (t Tag) firstByte() byte { return byte(t >> (8 * (t.Len() - 1))) }

// Constructed reports whether the tag's first byte has bit 6 (0x20) set,
// meaning the value is itself a sequence of BER-TLV objects.
func (t Tag) Constructed() bool { return t.firstByte()&0x20 != 0 }

// Class returns the class bits of the first byte: 0 universal,
// 1 application, 2 context-specific, 3 private.
func (t Tag) Class() int { return int(t.firstByte() >> 6) }

// Valid reports whether t is a well-formed tag field: a first byte other
// than 00 and FF, and, when its low five bits are all set, subsequent bytes
// with bit 8 set on all but the last.
func (t Tag) Valid() bool {
	n := t.Len()
	b0 := t.firstByte()
	if b0 == 0x00 || b0 == 0xFF {
		return false
	}
	if n == 1 {
		return b0&0x1F != 0x1F
	}
	if b0&0x1F != 0x1F {
		return false
	}
	for i := n - 2; i >= 0; i-- {
		more := byte(t>>(8*i))&0x80 != 0
		if more != (i > 0) {
			return false
		}
	}
	return true
}

// String returns the tag bytes in hex, for example "5F20".
func (t Tag) String() string { return fmt.Sprintf("%0*X", 2*t.Len(), uint32(t)) }

// AppendTo appends the tag field to dst.
func (t Tag) AppendTo(dst []byte) []byte {
	for i := t.Len() - 1; i >= 0; i-- {
		dst = append(dst, byte(t>>(8*i)))
	}
	return dst
}

// TLV is one BER-TLV data object. Value aliases the parsed buffer.
type TLV struct {
	Tag   Tag    // the tag field
	Value []byte // the value field, aliasing the parsed buffer
}

// Constructed reports whether the object's tag marks it as constructed.
func (o TLV) Constructed() bool { return o.Tag.Constructed() }

// Children parses the value of a constructed object into its objects.
func (o TLV) Children() ([]TLV, error) {
	if !o.Constructed() {
		return nil, fmt.Errorf("%w: tag %s is primitive", ErrMalformedTLV, o.Tag)
	}
	return ParseAllBER(o.Value)
}

// Find searches the value of a constructed object, recursively, for the
// first object with the given tag (see FindBER).
func (o TLV) Find(tag Tag) (TLV, error) {
	if !o.Constructed() {
		return TLV{}, fmt.Errorf("%w: tag %s is primitive", ErrMalformedTLV, o.Tag)
	}
	return FindBER(o.Value, tag)
}

// AppendTo appends the encoded object to dst (see AppendBER).
func (o TLV) AppendTo(dst []byte) ([]byte, error) { return AppendBER(dst, o.Tag, o.Value) }

// parseBER decodes the object at the start of b. base is added to error
// offsets. It returns the object and the number of bytes it occupies.
func parseBER(b []byte, base int) (TLV, int, error) {
	if len(b) == 0 {
		return TLV{}, 0, tlvErr(base, "empty input, tag expected")
	}
	b0 := b[0]
	if b0 == 0x00 || b0 == 0xFF {
		return TLV{}, 0, tlvErr(base, "invalid first tag byte %02X", b0)
	}
	var tag Tag = Tag(b0)
	i := 1
	if b0&0x1F == 0x1F {
		for {
			if i >= len(b) {
				return TLV{}, 0, tlvErr(base+i, "tag truncated")
			}
			if i >= maxTagBytes {
				return TLV{}, 0, tlvErr(base+i, "tag longer than %d bytes", maxTagBytes)
			}
			c := b[i]
			tag = tag<<8 | Tag(c)
			i++
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return TLV{}, 0, tlvErr(base+i, "length missing after tag %s", tag)
	}
	l0 := b[i]
	lenOff := i
	i++
	var n uint64
	switch {
	case l0 < 0x80:
		n = uint64(l0)
	case l0 == 0x80:
		return TLV{}, 0, tlvErr(base+lenOff, "indefinite length not allowed")
	default:
		k := int(l0 & 0x7F)
		if k > maxLengthBytes {
			return TLV{}, 0, tlvErr(base+lenOff, "length field of %d bytes exceeds %d", k, maxLengthBytes)
		}
		if len(b)-i < k {
			return TLV{}, 0, tlvErr(base+lenOff, "length field truncated")
		}
		for j := 0; j < k; j++ {
			n = n<<8 | uint64(b[i+j])
		}
		i += k
	}
	if n > uint64(len(b)-i) {
		return TLV{}, 0, tlvErr(base+lenOff, "length %d exceeds the %d remaining bytes", n, len(b)-i)
	}
	end := i + int(n)
	return TLV{Tag: tag, Value: b[i:end:end]}, end, nil
}

// ParseBER decodes the BER-TLV object at the start of b and returns it with
// the bytes that follow it. Value aliases b. Padding bytes (00, FF) are
// not skipped here (BERObjects and FindBER skip them). Errors are
// *TLVError (errors.Is ErrMalformedTLV).
func ParseBER(b []byte) (obj TLV, rest []byte, err error) {
	o, n, err := parseBER(b, 0)
	if err != nil {
		return TLV{}, b, err
	}
	return o, b[n:], nil
}

// isPadding reports whether c is one of the bytes ISO/IEC 7816-4
// allows before, between and after BER-TLV objects.
func isPadding(c byte) bool { return c == 0x00 || c == 0xFF }

// BERObjects iterates over the top-level BER-TLV objects of b, skipping 00
// and FF padding between them (ISO/IEC 7816-4, BER-TLV data objects). On malformed input it
// yields a zero TLV with the error and stops. It allocates nothing per
// object.
func BERObjects(b []byte) iter.Seq2[TLV, error] {
	return func(yield func(TLV, error) bool) {
		off := 0
		for {
			for off < len(b) && isPadding(b[off]) {
				off++
			}
			if off == len(b) {
				return
			}
			o, n, err := parseBER(b[off:], off)
			if err != nil {
				yield(TLV{}, err)
				return
			}
			if !yield(o, nil) {
				return
			}
			off += n
		}
	}
}

// ParseAllBER decodes every top-level BER-TLV object of b (see BERObjects).
func ParseAllBER(b []byte) ([]TLV, error) {
	var out []TLV
	for o, err := range BERObjects(b) {
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// FindBER returns the first object with the given tag in b, searching depth
// first and descending into constructed objects up to MaxTLVDepth levels.
// It returns ErrTagNotFound when no object matches and a *TLVError when the
// input (including the value of any constructed object passed on the way)
// is malformed.
func FindBER(b []byte, tag Tag) (TLV, error) {
	o, found, err := findBER(b, 0, tag, 0)
	if err != nil {
		return TLV{}, err
	}
	if !found {
		return TLV{}, fmt.Errorf("%w: %s", ErrTagNotFound, tag)
	}
	return o, nil
}

func findBER(b []byte, base int, tag Tag, depth int) (TLV, bool, error) {
	if depth >= MaxTLVDepth {
		return TLV{}, false, tlvErr(base, "nesting deeper than %d levels", MaxTLVDepth)
	}
	off := 0
	for {
		for off < len(b) && isPadding(b[off]) {
			off++
		}
		if off == len(b) {
			return TLV{}, false, nil
		}
		o, n, err := parseBER(b[off:], base+off)
		if err != nil {
			return TLV{}, false, err
		}
		if o.Tag == tag {
			return o, true, nil
		}
		if o.Constructed() {
			valueOff := base + off + n - len(o.Value)
			if c, found, err := findBER(o.Value, valueOff, tag, depth+1); err != nil || found {
				return c, found, err
			}
		}
		off += n
	}
}

// AppendBERLength appends the BER length field for n (ISO/IEC 7816-4, BER-TLV:
// one byte up to 127, else 81..84 followed by one to four bytes).
func AppendBERLength(dst []byte, n int) ([]byte, error) {
	switch {
	case n < 0 || uint64(n) > 0xFFFFFFFF:
		return dst, fmt.Errorf("%w: length %d out of range", ErrMalformedTLV, n)
	case n < 0x80:
		return append(dst, byte(n)), nil
	case n <= 0xFF:
		return append(dst, 0x81, byte(n)), nil
	case n <= 0xFFFF:
		return append(dst, 0x82, byte(n>>8), byte(n)), nil
	case n <= 0xFFFFFF:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n)), nil
	}
	return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n)), nil
}

// berLengthLen returns the size of the length field for n.
func berLengthLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xFF:
		return 2
	case n <= 0xFFFF:
		return 3
	case n <= 0xFFFFFF:
		return 4
	}
	return 5
}

// AppendBERHeader appends the tag and length fields of an object whose value
// is n bytes long; the caller appends the value.
func AppendBERHeader(dst []byte, tag Tag, n int) ([]byte, error) {
	if !tag.Valid() {
		return dst, fmt.Errorf("%w: invalid tag %s", ErrMalformedTLV, tag)
	}
	out, err := AppendBERLength(tag.AppendTo(dst), n)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// AppendBER appends the object tag || length || value to dst. With enough
// capacity in dst it allocates nothing.
func AppendBER(dst []byte, tag Tag, value []byte) ([]byte, error) {
	out, err := AppendBERHeader(dst, tag, len(value))
	if err != nil {
		return dst, err
	}
	return append(out, value...), nil
}

// BERBuilder appends nested BER-TLV objects to a buffer without knowing the
// lengths of constructed objects in advance:
//
//	var b apdu.BERBuilder
//	b.Reset(buf[:0])
//	b.Begin(0x7F49).Add(0x86, point).End()
//	out, err := b.Bytes()
//
// Errors are sticky and reported by Bytes. The zero value is ready to use
// (appending to a nil buffer). With enough capacity in the buffer it
// allocates nothing.
type BERBuilder struct {
	buf   []byte
	open  [MaxTLVDepth]int // offset of the reserved length field of each open object
	depth int
	err   error
}

// reservedLen is the room Begin reserves for a length field (84 xx xx xx xx).
const reservedLen = 1 + maxLengthBytes

// Reset discards the builder's state and makes it append to dst.
func (b *BERBuilder) Reset(dst []byte) {
	b.buf = dst
	b.depth = 0
	b.err = nil
}

// Add appends a complete object (primitive or an already encoded constructed
// value) inside the innermost open object.
func (b *BERBuilder) Add(tag Tag, value []byte) *BERBuilder {
	if b.err != nil {
		return b
	}
	b.buf, b.err = AppendBER(b.buf, tag, value)
	return b
}

// Begin opens a constructed object; objects added until the matching End
// form its value.
func (b *BERBuilder) Begin(tag Tag) *BERBuilder {
	if b.err != nil {
		return b
	}
	switch {
	case !tag.Valid():
		b.err = fmt.Errorf("%w: invalid tag %s", ErrMalformedTLV, tag)
	case !tag.Constructed():
		b.err = fmt.Errorf("%w: Begin with primitive tag %s", ErrMalformedTLV, tag)
	case b.depth >= MaxTLVDepth:
		b.err = fmt.Errorf("%w: nesting deeper than %d levels", ErrMalformedTLV, MaxTLVDepth)
	default:
		b.buf = tag.AppendTo(b.buf)
		b.open[b.depth] = len(b.buf)
		b.depth++
		b.buf = append(b.buf, 0, 0, 0, 0, 0)
	}
	return b
}

// End closes the innermost open constructed object, writing its length.
func (b *BERBuilder) End() *BERBuilder {
	if b.err != nil {
		return b
	}
	if b.depth == 0 {
		b.err = fmt.Errorf("%w: End without Begin", ErrMalformedTLV)
		return b
	}
	b.depth--
	at := b.open[b.depth]
	valueStart := at + reservedLen
	n := len(b.buf) - valueStart
	h := berLengthLen(n)
	copy(b.buf[at+h:], b.buf[valueStart:])
	b.buf = b.buf[:len(b.buf)-reservedLen+h]
	// AppendBERLength writes exactly h bytes into the room just made.
	if _, err := AppendBERLength(b.buf[at:at], n); err != nil {
		b.err = err
	}
	return b
}

// Bytes returns the built buffer. It fails when an earlier call failed or
// when objects are still open.
func (b *BERBuilder) Bytes() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.depth != 0 {
		return nil, fmt.Errorf("%w: %d constructed objects still open", ErrMalformedTLV, b.depth)
	}
	return b.buf, nil
}
