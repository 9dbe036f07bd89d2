package secure

import "errors"

// Secure messaging data object tags (ISO/IEC 7816-4 §10.4, table 53).
const (
	tagCryptogramOdd = 0x85 // DO85: cryptogram without indicator, for odd INS
	tagCryptogram    = 0x87 // DO87: padding-content indicator || cryptogram
	tagLe            = 0x97 // DO97: Le
	tagStatus        = 0x99 // DO99: processing status SW1 SW2
	tagMAC           = 0x8E // DO8E: cryptographic checksum
)

// paddingIndicator is the first value byte of DO87: 01 = padding method 2
// (ISO/IEC 7816-4 §10.4.2, table 54).
const paddingIndicator = 0x01

var errTLV = errors.New("ill-formed data object")

// readDO reads one SM data object (one-byte tag, BER length of at most
// three bytes) from b. It returns the tag, value and the remaining bytes.
func readDO(b []byte) (tag byte, val, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errTLV
	}
	tag = b[0]
	n := 0
	hdr := 2
	switch l := b[1]; {
	case l < 0x80:
		n = int(l)
	case l == 0x81:
		if len(b) < 3 {
			return 0, nil, nil, errTLV
		}
		n, hdr = int(b[2]), 3
	case l == 0x82:
		if len(b) < 4 {
			return 0, nil, nil, errTLV
		}
		n, hdr = int(b[2])<<8|int(b[3]), 4
	default:
		return 0, nil, nil, errTLV
	}
	if len(b)-hdr < n {
		return 0, nil, nil, errTLV
	}
	return tag, b[hdr : hdr+n], b[hdr+n:], nil
}

// appendLen appends a BER-TLV length (ISO/IEC 7816-4 §6.3, short or
// 81/82 long form).
func appendLen(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x100:
		return append(dst, 0x81, byte(n))
	default:
		return append(dst, 0x82, byte(n>>8), byte(n))
	}
}

// lenLen is the size of the BER length field for n.
func lenLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	default:
		return 3
	}
}
