package reader_test

import (
	"bytes"
	"context"
	"sync/atomic"

	"github.com/mynacard/freespace/apdu"
)

// testAID is the application the test card carries (a proprietary-range
// AID, as ISO/IEC 7816-4 §8.2.1.2 allows with a leading F).
var testAID = []byte{0xF0, 0x46, 0x52, 0x45, 0x45, 0x53, 0x50}

// testCard is a small card for the reader tests: SELECT by DF name of
// testAID, then READ BINARY of a transparent file. It is strict about the
// commands it knows and answers 6D00 to the others.
type testCard struct {
	atr      []byte
	data     []byte
	selected atomic.Bool
	resets   atomic.Int32
	apdus    atomic.Int64
}

func newTestCard(data []byte) *testCard {
	return &testCard{atr: []byte{0x3B, 0x8A, 0x80, 0x01, 0x46, 0x52, 0x45, 0x45, 0x53, 0x50, 0x41, 0x43, 0x45, 0x00, 0x69}, data: data}
}

func (c *testCard) ATR() []byte { return c.atr }

func (c *testCard) Reset() {
	c.selected.Store(false)
	c.resets.Add(1)
}

func (c *testCard) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	c.apdus.Add(1)
	if len(cmd) < 4 {
		return []byte{0x67, 0x00}, nil
	}
	if cmd[0] != 0x00 {
		return []byte{0x6E, 0x00}, nil
	}
	switch apdu.Ins(cmd[1]) {
	case apdu.InsSelect: // ISO/IEC 7816-4 §11.2.2
		if cmd[2] != 0x04 || cmd[3]&^0x0C != 0 {
			return []byte{0x6A, 0x86}, nil
		}
		if len(cmd) < 5 || int(cmd[4]) != len(cmd)-5 && int(cmd[4]) != len(cmd)-6 {
			return []byte{0x67, 0x00}, nil
		}
		if !bytes.Equal(cmd[5:5+int(cmd[4])], testAID) {
			return []byte{0x6A, 0x82}, nil
		}
		c.selected.Store(true)
		return []byte{0x90, 0x00}, nil
	case apdu.InsReadBinary: // ISO/IEC 7816-4 §11.3.3
		if !c.selected.Load() {
			return []byte{0x69, 0x86}, nil
		}
		if len(cmd) != 5 {
			return []byte{0x67, 0x00}, nil
		}
		off := int(cmd[2])<<8 | int(cmd[3])
		if cmd[2]&0x80 != 0 || off > len(c.data) {
			return []byte{0x6B, 0x00}, nil
		}
		ne := int(cmd[4])
		if ne == 0 {
			ne = 256
		}
		end := min(off+ne, len(c.data))
		out := append([]byte(nil), c.data[off:end]...)
		if end-off < ne {
			return append(out, 0x62, 0x82), nil // end of file reached before Ne bytes
		}
		return append(out, 0x90, 0x00), nil
	}
	return []byte{0x6D, 0x00}, nil
}

// selectAPDU selects testAID.
func selectAPDU() []byte { return mustBytes(apdu.SelectAID(testAID)) }

// readAPDU reads n bytes at offset 0 (n = 0: 256 bytes, Le = 00).
func readAPDU(n byte) []byte {
	ne := int(n)
	if ne == 0 {
		ne = apdu.MaxShortNe
	}
	return mustBytes(apdu.ReadBinary(0, ne))
}

// mustBytes encodes a command the test builds from constants.
func mustBytes(c apdu.Command) []byte {
	b, err := c.Bytes()
	if err != nil {
		panic(err)
	}
	return b
}
