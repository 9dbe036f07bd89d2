package reader

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
)

// ErrMalformedATR: the bytes are not an answer to reset (ISO/IEC 7816-3
// §8.2): too short, a bad TS, or interface or historical bytes missing.
var ErrMalformedATR = errors.New("reader: malformed ATR")

// ATR is an answer to reset decoded (ISO/IEC 7816-3 §8.2; historical bytes
// ISO/IEC 7816-4 §12.1.1). Contactless readers synthesize the ATR (PC/SC
// part 3 §3.1.3.2.3), so it describes the reader's view as much as the
// card: identify a card AP by SELECT, never by ATR.
type ATR struct {
	// Raw is the ATR as received.
	Raw []byte
	// Inverse is set for the inverse convention (TS = 3F; 3B is direct).
	Inverse bool
	// Protocols lists the transmission protocols the ATR offers, in
	// order (T=0 when no TD byte names one).
	Protocols []int
	// Historical is the historical bytes.
	Historical []byte
	// TCK reports whether a check byte is present and, then, TCKValid
	// whether the XOR of T0 .. TCK is zero.
	TCK, TCKValid bool
	// Category is the historical bytes' category indicator (00, 80 and 10
	// are ISO/IEC 7816-4's; anything else is proprietary), when there are
	// historical bytes.
	Category byte
	// CardCapabilities is the card capabilities object (compact-TLV tag
	// 7, 1 to 3 bytes) of the historical bytes, nil when absent.
	CardCapabilities []byte
	// ExtendedLength is what the card capabilities say of extended Lc and
	// Le fields (third software function table, bit b7): Supported,
	// Unsupported, or SupportUnknown when the ATR does not say. It is
	// the card's view: the reader may still refuse them.
	ExtendedLength apdu.Support
	// CommandChaining is the same for command chaining (bit b8).
	CommandChaining apdu.Support
}

// ParseATR decodes an answer to reset.
func ParseATR(b []byte) (ATR, error) {
	a := ATR{Raw: append([]byte(nil), b...)}
	if len(b) < 2 {
		return a, fmt.Errorf("%w: %d bytes", ErrMalformedATR, len(b))
	}
	switch b[0] {
	case 0x3B:
	case 0x3F:
		a.Inverse = true
	default:
		return a, fmt.Errorf("%w: TS %02X", ErrMalformedATR, b[0])
	}
	t0 := b[1]
	nHist := int(t0 & 0x0F)
	i := 2
	y := t0 >> 4
	needTCK := false
	for level := 1; ; level++ {
		// TA, TB, TC present per bits 5, 6, 7 of Y; TD per bit 8.
		for bit := byte(0x01); bit <= 0x04; bit <<= 1 {
			if y&bit != 0 {
				i++
			}
		}
		if y&0x08 == 0 {
			break
		}
		if i >= len(b) {
			return a, fmt.Errorf("%w: TD%d missing", ErrMalformedATR, level)
		}
		td := b[i]
		i++
		t := int(td & 0x0F)
		if t != 0 {
			needTCK = true
		}
		if len(a.Protocols) == 0 || a.Protocols[len(a.Protocols)-1] != t {
			if t != 15 { // T=15 is global interface bytes, not a protocol
				a.Protocols = append(a.Protocols, t)
			}
		}
		y = td >> 4
	}
	if len(a.Protocols) == 0 {
		a.Protocols = []int{0}
	}
	if i+nHist > len(b) {
		return a, fmt.Errorf("%w: %d historical bytes announced, %d bytes left", ErrMalformedATR, nHist, len(b)-min(i, len(b)))
	}
	a.Historical = append([]byte(nil), b[i:i+nHist]...)
	i += nHist
	switch {
	case i < len(b):
		a.TCK = true
		var x byte
		for _, v := range b[1 : i+1] {
			x ^= v
		}
		a.TCKValid = x == 0
		if i+1 != len(b) {
			return a, fmt.Errorf("%w: %d bytes after TCK", ErrMalformedATR, len(b)-i-1)
		}
	case needTCK:
		return a, fmt.Errorf("%w: TCK missing", ErrMalformedATR)
	}
	a.decodeHistorical()
	return a, nil
}

// decodeHistorical finds the card capabilities in compact-TLV historical
// bytes (category 00: objects then a 3-byte status indicator; 80: objects
// only).
func (a *ATR) decodeHistorical() {
	h := a.Historical
	if len(h) == 0 {
		return
	}
	a.Category = h[0]
	var objs []byte
	switch h[0] {
	case 0x80:
		objs = h[1:]
	case 0x00:
		if len(h) < 4 {
			return
		}
		objs = h[1 : len(h)-3]
	default:
		return
	}
	for len(objs) > 0 {
		tag, n := objs[0]>>4, int(objs[0]&0x0F)
		if 1+n > len(objs) {
			return
		}
		if tag == 0x7 && n >= 1 {
			a.CardCapabilities = append([]byte(nil), objs[1:1+n]...)
			if n >= 3 {
				third := objs[3]
				a.CommandChaining, a.ExtendedLength = apdu.Unsupported, apdu.Unsupported
				if third&0x80 != 0 {
					a.CommandChaining = apdu.Supported
				}
				if third&0x40 != 0 {
					a.ExtendedLength = apdu.Supported
				}
			}
		}
		objs = objs[1+n:]
	}
}

// String summarizes the ATR: protocols, historical bytes and what they say
// of extended length.
func (a ATR) String() string {
	return fmt.Sprintf("ATR % X: protocols %v, %d historical bytes, extended length %s", a.Raw, a.Protocols, len(a.Historical), a.ExtendedLength)
}

// extendedLengthHint is the first LengthSupport of a connection to a card
// with this ATR: unsupported when the card says so, unknown otherwise (a
// card that supports extended length may sit behind a reader that does
// not: the first extended APDU tells).
func extendedLengthHint(atr []byte) apdu.Support {
	a, err := ParseATR(atr)
	if err == nil && a.ExtendedLength == apdu.Unsupported {
		return apdu.Unsupported
	}
	return apdu.SupportUnknown
}
