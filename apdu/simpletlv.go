package apdu

import (
	"fmt"
	"iter"
)

// SIMPLE-TLV data objects, ISO/IEC 7816-4, clause "SIMPLE-TLV data
// objects": a one-byte tag from 01 to
// FE, then a length of one byte (00 to FE) or of three bytes (FF followed by
// two bytes, 0000 to FFFF), then the value.

// MaxSimpleTLVLen is the largest value length a SIMPLE-TLV object can carry.
const MaxSimpleTLVLen = 0xFFFF

// SimpleTLV is one SIMPLE-TLV data object. Value aliases the parsed buffer.
type SimpleTLV struct {
	Tag   byte   // 01..FE
	Value []byte // the value field, aliasing the parsed buffer
}

// AppendTo appends the encoded object to dst (see AppendSimpleTLV).
func (o SimpleTLV) AppendTo(dst []byte) ([]byte, error) {
	return AppendSimpleTLV(dst, o.Tag, o.Value)
}

func parseSimpleTLV(b []byte, base int) (SimpleTLV, int, error) {
	if len(b) == 0 {
		return SimpleTLV{}, 0, tlvErr(base, "empty input, tag expected")
	}
	tag := b[0]
	if tag == 0x00 || tag == 0xFF {
		return SimpleTLV{}, 0, tlvErr(base, "invalid SIMPLE-TLV tag %02X", tag)
	}
	if len(b) < 2 {
		return SimpleTLV{}, 0, tlvErr(base+1, "length missing after tag %02X", tag)
	}
	n, i := int(b[1]), 2
	if b[1] == 0xFF {
		if len(b) < 4 {
			return SimpleTLV{}, 0, tlvErr(base+1, "three-byte length truncated")
		}
		n, i = int(b[2])<<8|int(b[3]), 4
	}
	if n > len(b)-i {
		return SimpleTLV{}, 0, tlvErr(base+1, "length %d exceeds the %d remaining bytes", n, len(b)-i)
	}
	end := i + n
	return SimpleTLV{Tag: tag, Value: b[i:end:end]}, end, nil
}

// ParseSimpleTLV decodes the SIMPLE-TLV object at the start of b and returns
// it with the bytes that follow. Value aliases b. Errors are *TLVError
// (errors.Is ErrMalformedTLV).
func ParseSimpleTLV(b []byte) (obj SimpleTLV, rest []byte, err error) {
	o, n, err := parseSimpleTLV(b, 0)
	if err != nil {
		return SimpleTLV{}, b, err
	}
	return o, b[n:], nil
}

// SimpleTLVObjects iterates over the consecutive SIMPLE-TLV objects that
// fill b. On malformed input it yields a zero SimpleTLV with the error and
// stops. It allocates nothing per object.
func SimpleTLVObjects(b []byte) iter.Seq2[SimpleTLV, error] {
	return func(yield func(SimpleTLV, error) bool) {
		off := 0
		for off < len(b) {
			o, n, err := parseSimpleTLV(b[off:], off)
			if err != nil {
				yield(SimpleTLV{}, err)
				return
			}
			if !yield(o, nil) {
				return
			}
			off += n
		}
	}
}

// ParseAllSimpleTLV decodes every SIMPLE-TLV object of b.
func ParseAllSimpleTLV(b []byte) ([]SimpleTLV, error) {
	var out []SimpleTLV
	for o, err := range SimpleTLVObjects(b) {
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// FindSimpleTLV returns the first object of b with the given tag. Objects
// after the match are not examined; malformed input before it is an error.
func FindSimpleTLV(b []byte, tag byte) (SimpleTLV, error) {
	for o, err := range SimpleTLVObjects(b) {
		if err != nil {
			return SimpleTLV{}, err
		}
		if o.Tag == tag {
			return o, nil
		}
	}
	return SimpleTLV{}, fmt.Errorf("%w: %02X", ErrTagNotFound, tag)
}

// AppendSimpleTLV appends tag || length || value to dst. The tag must be
// 01..FE and the value at most MaxSimpleTLVLen bytes; the short length form
// is used up to FE bytes. With enough capacity in dst it allocates nothing.
func AppendSimpleTLV(dst []byte, tag byte, value []byte) ([]byte, error) {
	if tag == 0x00 || tag == 0xFF {
		return dst, fmt.Errorf("%w: invalid SIMPLE-TLV tag %02X", ErrMalformedTLV, tag)
	}
	n := len(value)
	switch {
	case n > MaxSimpleTLVLen:
		return dst, fmt.Errorf("%w: SIMPLE-TLV value of %d bytes exceeds %d", ErrMalformedTLV, n, MaxSimpleTLVLen)
	case n < 0xFF:
		dst = append(dst, tag, byte(n))
	default:
		dst = append(dst, tag, 0xFF, byte(n>>8), byte(n))
	}
	return append(dst, value...), nil
}
