package apdu

import "fmt"

// Length limits of ISO/IEC 7816-4 §5.1.
const (
	MaxShortLc    = 255   // largest Nc of a short APDU
	MaxShortNe    = 256   // largest Ne of a short APDU (Le = 00)
	MaxExtendedLc = 65535 // largest Nc of an extended APDU
	MaxExtendedNe = 65536 // largest Ne of an extended APDU (Le = 0000)
)

// Command is a command APDU (ISO/IEC 7816-4 §5.1).
//
// Ne is the maximum number of response data bytes expected: 0 means none
// (cases 1 and 3), 1..256 fit a short Le (256 is encoded as 00), 257..65536
// need an extended Le (65536 is encoded as 0000).
//
// Build the common commands with SelectAID, ReadBinary, Verify and the
// other builders; a literal Command is for anything else.
type Command struct {
	// CLA is the class byte (§5.4.1): 00 for an interindustry command on
	// the basic channel; secure messaging and chaining set their bits.
	CLA byte
	// INS is the instruction (§5.4.2), one of the Ins constants.
	INS Ins
	// P1 and P2 are the instruction's parameters.
	P1, P2 byte
	// Data is the command data field; its length is Nc.
	Data []byte
	// Ne is the maximum number of response data bytes, 0..65536.
	Ne int
	// Extended forces extended length encoding even when short would do.
	Extended bool

	// invalid is set by a builder given an out-of-range argument; encoding
	// reports it so that the bad command is never sent.
	invalid error
}

// IsExtended reports whether the command is encoded with extended length
// fields, either because it needs them or because Extended is set.
func (c Command) IsExtended() bool {
	return c.Extended || len(c.Data) > MaxShortLc || c.Ne > MaxShortNe
}

// EncodedLen returns the number of bytes Encode will produce.
func (c Command) EncodedLen() (int, error) {
	if err := c.validate(); err != nil {
		return 0, err
	}
	n := 4
	ext := c.IsExtended()
	if len(c.Data) > 0 {
		if ext {
			n += 3
		} else {
			n++
		}
		n += len(c.Data)
	}
	if c.Ne > 0 {
		switch {
		case !ext:
			n++
		case len(c.Data) > 0:
			n += 2
		default:
			n += 3
		}
	}
	return n, nil
}

func (c Command) validate() error {
	if c.invalid != nil {
		return c.invalid
	}
	if len(c.Data) > MaxExtendedLc {
		return fmt.Errorf("%w: Nc %d exceeds %d", ErrInvalidCommand, len(c.Data), MaxExtendedLc)
	}
	if c.Ne < 0 || c.Ne > MaxExtendedNe {
		return fmt.Errorf("%w: Ne %d out of range 0..%d", ErrInvalidCommand, c.Ne, MaxExtendedNe)
	}
	return nil
}

// AppendTo appends the encoded command to dst and returns the extended
// slice. When dst has enough capacity it allocates nothing.
func (c Command) AppendTo(dst []byte) ([]byte, error) {
	if err := c.validate(); err != nil {
		return dst, err
	}
	dst = append(dst, c.CLA, byte(c.INS), c.P1, c.P2)
	ext := c.IsExtended()
	nc := len(c.Data)
	if nc > 0 {
		if ext {
			dst = append(dst, 0, byte(nc>>8), byte(nc))
		} else {
			dst = append(dst, byte(nc))
		}
		dst = append(dst, c.Data...)
	}
	if c.Ne > 0 {
		le := c.Ne
		if ext {
			if le == MaxExtendedNe {
				le = 0
			}
			if nc == 0 {
				dst = append(dst, 0)
			}
			dst = append(dst, byte(le>>8), byte(le))
		} else {
			if le == MaxShortNe {
				le = 0
			}
			dst = append(dst, byte(le))
		}
	}
	return dst, nil
}

// Encode writes the command into buf and returns the number of bytes written.
// It allocates nothing; buf must be at least EncodedLen bytes.
func (c Command) Encode(buf []byte) (int, error) {
	n, err := c.EncodedLen()
	if err != nil {
		return 0, err
	}
	if len(buf) < n {
		return 0, fmt.Errorf("%w: buffer of %d bytes, need %d", ErrInvalidCommand, len(buf), n)
	}
	out, err := c.AppendTo(buf[:0])
	if err != nil {
		return 0, err
	}
	return len(out), nil
}

// Bytes returns the encoded command in a new slice.
func (c Command) Bytes() ([]byte, error) {
	n, err := c.EncodedLen()
	if err != nil {
		return nil, err
	}
	return c.AppendTo(make([]byte, 0, n))
}

// ParseCommand decodes a command APDU of any case, short or extended
// (ISO/IEC 7816-4 §5.1, table 1). The returned Data aliases b.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, need at least 4", ErrInvalidCommand, len(b))
	}
	c := Command{CLA: b[0], INS: Ins(b[1]), P1: b[2], P2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2S
		c.Ne = int(body[0])
		if c.Ne == 0 {
			c.Ne = MaxShortNe
		}
		return c, nil
	case body[0] != 0: // case 3S or 4S
		nc := int(body[0])
		switch len(body) {
		case 1 + nc:
			c.Data = body[1 : 1+nc]
			return c, nil
		case 2 + nc:
			c.Data = body[1 : 1+nc]
			c.Ne = int(body[1+nc])
			if c.Ne == 0 {
				c.Ne = MaxShortNe
			}
			return c, nil
		}
		return Command{}, fmt.Errorf("%w: short Lc %d does not match body of %d bytes", ErrInvalidCommand, nc, len(body))
	case len(body) == 3: // case 2E
		c.Extended = true
		c.Ne = int(body[1])<<8 | int(body[2])
		if c.Ne == 0 {
			c.Ne = MaxExtendedNe
		}
		return c, nil
	case len(body) > 3: // case 3E or 4E
		c.Extended = true
		nc := int(body[1])<<8 | int(body[2])
		if nc == 0 {
			return Command{}, fmt.Errorf("%w: extended Lc of zero", ErrInvalidCommand)
		}
		switch len(body) {
		case 3 + nc:
			c.Data = body[3 : 3+nc]
			return c, nil
		case 5 + nc:
			c.Data = body[3 : 3+nc]
			c.Ne = int(body[3+nc])<<8 | int(body[4+nc])
			if c.Ne == 0 {
				c.Ne = MaxExtendedNe
			}
			return c, nil
		}
		return Command{}, fmt.Errorf("%w: extended Lc %d does not match body of %d bytes", ErrInvalidCommand, nc, len(body))
	}
	return Command{}, fmt.Errorf("%w: body of %d bytes is no valid case", ErrInvalidCommand, len(body))
}

// String describes the command without its data field, which may hold a
// PIN or key: "00 20 00 80 Nc=8 Ne=0". Use Bytes for the full encoding.
func (c Command) String() string {
	s := fmt.Sprintf("%02X %02X %02X %02X Nc=%d Ne=%d", c.CLA, c.INS, c.P1, c.P2, len(c.Data), c.Ne)
	if c.Extended {
		s += " extended"
	}
	return s
}

// GoString is like String so that %#v does not print the data either.
func (c Command) GoString() string { return "apdu.Command{" + c.String() + "}" }
