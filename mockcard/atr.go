package mockcard

// historicalBytes are the ATR's historical bytes: "freespace mock" in
// ASCII (not a category-indicator structure of ISO/IEC 7816-4 §12.1.1; the
// ATR only identifies the mock card).
const historicalBytes = "freespace mock"

// DefaultATR returns the card's answer to reset (ISO/IEC 7816-3 §8.2):
//
//	3B        TS, direct convention
//	8E        T0: TD1 follows, 14 historical bytes
//	80        TD1: TD2 follows, T=0 (PC/SC part 3 layout)
//	01        TD2: T=1
//	66 72 65 65 73 70 61 63 65 20 6D 6F 63 6B   "freespace mock"
//	TCK       XOR of T0 through the last historical byte
func DefaultATR() []byte {
	atr := []byte{0x3B, 0x80 | byte(len(historicalBytes)), 0x80, 0x01}
	atr = append(atr, historicalBytes...)
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}
