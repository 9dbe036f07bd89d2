package secure

// pad appends ISO/IEC 9797-1 padding method 2 (ISO/IEC 7816-4 §10.2.3.1):
// one 80 byte, then 00 bytes up to a multiple of bs. It always adds at
// least one byte.
func pad(dst []byte, bs int) []byte { return padFrom(dst, 0, bs) }

// padFrom pads dst[start:] with method 2 to a multiple of bs.
func padFrom(dst []byte, start, bs int) []byte {
	dst = append(dst, 0x80)
	for (len(dst)-start)%bs != 0 {
		dst = append(dst, 0)
	}
	return dst
}

// paddedLen is the length of n bytes after padding method 2.
func paddedLen(n, bs int) int { return (n/bs + 1) * bs }

// unpad removes padding method 2. It reports false when b does not end in
// 80 00..00 (at most one block of padding).
func unpad(b []byte, bs int) ([]byte, bool) {
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
