package mockcard

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/mynacard/freespace/apdu"
)

// FuzzTransmit feeds arbitrary command APDUs to a card: it must never
// panic, and every answer is at least a status word. The input is a
// sequence of length-prefixed commands (one length byte each) so the
// fuzzer can reach stateful paths (selected AP, EF, chaining, GET
// RESPONSE); the first byte picks the card's modes.
func FuzzTransmit(f *testing.F) {
	seq := func(mode byte, cmds ...string) []byte {
		out := []byte{mode}
		for _, c := range cmds {
			b := mustHex(c)
			out = append(out, byte(len(b)))
			out = append(out, b...)
		}
		return out
	}
	f.Add(seq(0, selTest, "00A4020C020101", "00B0000005"))
	f.Add(seq(1, selTest, "00A4020C020101", "00B0000005", "00C0000002", "00C0000000"))
	f.Add(seq(2, selTest, "002000810431323334", "00A4020C020101", "10D6000002AABB", "00D6000002CCDD"))
	f.Add(seq(0, selTest, "0084000008", "008200011000112233445566778899AABBCCDDEEFF00"))
	f.Add(seq(0, selTest, "00B2021400", "00E2001002AABB", "00DC011401AA"))
	f.Add(seq(0, selTest, "00240081083132333435363738", "002C0381", "00440000"))
	f.Add(seq(3, selTest, "0CB000000397010500", "00B0810203"))
	f.Add([]byte{0, 3, 0, 0xA4, 4})
	f.Add([]byte{0, 7, 0, 0xB0, 0, 0, 0, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		mode := data[0]
		opts := []Option{WithRand(bytes.NewReader(bytes.Repeat([]byte{7}, 4096)))}
		if mode&1 != 0 {
			opts = append(opts, WithGetResponse(1))
		}
		if mode&2 != 0 {
			opts = append(opts, WithExtendedLength(false))
		}
		c := newTestCard(t, opts...)
		if mode&4 != 0 {
			if err := c.Inject(Tear(2, int(mode>>4))); err != nil {
				t.Fatal(err)
			}
		}
		rest := data[1:]
		for len(rest) > 0 {
			n := int(rest[0])
			rest = rest[1:]
			if n > len(rest) {
				n = len(rest)
			}
			cmd := rest[:n]
			rest = rest[n:]
			resp, err := c.Transmit(context.Background(), cmd)
			if err != nil {
				if !errors.Is(err, apdu.ErrCardRemoved) {
					t.Fatalf("untyped error %v", err)
				}
				c.Insert()
				continue
			}
			if len(resp) < 2 {
				t.Fatalf("response %X shorter than a status word", resp)
			}
		}
	})
}

// FuzzUnmarshalState: a state file from disk is outside data; a damaged
// one is refused with ErrStateFile, never a panic.
func FuzzUnmarshalState(f *testing.F) {
	c, err := New(WithAP(testSpec()))
	if err != nil {
		f.Fatal(err)
	}
	good, err := c.MarshalState()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"freespace-mockcard","version":1,"sha256":"","card":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := UnmarshalState(b)
		if err != nil {
			if !errors.Is(err, ErrStateFile) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, err := d.MarshalState(); err != nil {
			t.Fatalf("loaded card cannot be saved: %v", err)
		}
	})
}
