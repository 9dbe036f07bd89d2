// Package cryptoprim holds the cryptographic primitives under the
// security core: CMAC (NIST SP 800-38B), the retail MAC (ISO/IEC 9797-1 MAC
// algorithm 3), two-key triple DES, DES parity, padding method 2 and the
// NIST SP 800-108 counter-mode KDF. Packages secure, keys and mockcard use
// them; no user needs them, so they are internal.
package cryptoprim

// Pad appends ISO/IEC 9797-1 padding method 2 (ISO/IEC 7816-4 §10.2.3.1):
// one 80 byte, then 00 bytes up to a multiple of bs. It always adds at
// least one byte.
func Pad(dst []byte, bs int) []byte { return PadFrom(dst, 0, bs) }

// PadFrom pads dst[start:] with method 2 to a multiple of bs.
func PadFrom(dst []byte, start, bs int) []byte {
	dst = append(dst, 0x80)
	for (len(dst)-start)%bs != 0 {
		dst = append(dst, 0)
	}
	return dst
}

// PaddedLen is the length of n bytes after padding method 2.
func PaddedLen(n, bs int) int { return (n/bs + 1) * bs }

// Unpad removes padding method 2. It reports false when b does not end in
// 80 00..00 (at most one block of padding).
func Unpad(b []byte, bs int) ([]byte, bool) {
	for i := len(b) - 1; i >= 0 && i >= len(b)-bs; i-- {
		switch b[i] {
		case 0x80:
			return b[:i], true
		case 0x00:
			continue
		default:
			return nil, false
		}
	}
	return nil, false
}
