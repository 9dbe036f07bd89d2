package apdu

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
)

// Seeds cover every case of ISO/IEC 7816-4 §5.1, table 1, and the
// malformed shapes the unit tests use.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"00A4040C", "00B0000000", "00B00000FF", "00A4040C023F00", "00A40400 05 A000000001 00",
		"00B00000 000000", "00B00000 000101", "00D60000 000001 AA", "00880000 000002 0102 0000",
		"00A404", "00A40000 05 0102", "00A40000 0000", "00A40000 000000 01", "00A40000 000001 AA 00",
	} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidCommand) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		n, err := c.EncodedLen()
		if err != nil {
			t.Fatalf("parsed command does not encode: %v", err)
		}
		if n != len(b) {
			t.Fatalf("EncodedLen %d, input %d", n, len(b))
		}
		enc, err := c.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("round trip: % X became % X", b, enc)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{"", "90", "9000", "6A82", "0102 6104", "AABBCC 63C2"} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedResponse) || len(b) >= 2 {
				t.Fatalf("unexpected error %v for %d bytes", err, len(b))
			}
			return
		}
		if !bytes.Equal(r.Bytes(), b) {
			t.Fatalf("round trip: % X became % X", b, r.Bytes())
		}
		if e := r.Err(); (e == nil) != (r.SW == SWSuccess) {
			t.Fatalf("Err %v for %s", e, r.SW)
		}
	})
}

func FuzzParseBER(f *testing.F) {
	for _, s := range []string{
		"5A 02 0102", "00 5A 01 AA FF 5F20 00", "04 81 80", "04 84 FFFFFFFF 00", "7F49 80 00 00",
		"6F 19 84 07 A0000000031010 A5 0E 9F38 01 00 BF0C 07 5F2D 02 6A61 00 00",
		"1F 81 81 81 01 00", "DF818203 01 01", "70 04 5A 05 01 02", "70 02 70 00",
	} {
		f.Add(h(s), uint32(0x5A))
	}
	f.Add(nest(40, h("5A 01 AA")), uint32(0x5A))
	f.Fuzz(func(t *testing.T, b []byte, tag uint32) {
		o, rest, err := ParseBER(b)
		if err == nil {
			enc, err := AppendBER(nil, o.Tag, o.Value)
			if err != nil {
				t.Fatalf("parsed tag %s does not encode: %v", o.Tag, err)
			}
			again, tail, err := ParseBER(enc)
			if err != nil || len(tail) != 0 || again.Tag != o.Tag || !bytes.Equal(again.Value, o.Value) {
				t.Fatalf("re-encoding of %s does not parse back: %v", o.Tag, err)
			}
			if len(rest) > len(b) || len(o.Value) > len(b) {
				t.Fatal("slices beyond the input")
			}
		} else {
			assertTLVError(t, err, len(b))
		}
		if _, err := ParseAllBER(b); err != nil {
			assertTLVError(t, err, len(b))
		}
		if _, err := FindBER(b, Tag(tag)); err != nil && !errors.Is(err, ErrTagNotFound) {
			assertTLVError(t, err, len(b))
		}
	})
}

func FuzzParseSimpleTLV(f *testing.F) {
	for _, s := range []string{"01 02 AABB", "03 00", "02 FF 0001 AA", "01 FF 01", "00 01 AA", "01 05 AA", "01 01 AA 02 00"} {
		f.Add(h(s), byte(2))
	}
	f.Fuzz(func(t *testing.T, b []byte, tag byte) {
		objs, err := ParseAllSimpleTLV(b)
		if err != nil {
			assertTLVError(t, err, len(b))
		}
		for _, o := range objs {
			enc, err := o.AppendTo(nil)
			if err != nil {
				t.Fatal(err)
			}
			again, rest, err := ParseSimpleTLV(enc)
			if err != nil || len(rest) != 0 || again.Tag != o.Tag || !bytes.Equal(again.Value, o.Value) {
				t.Fatalf("re-encoding of %02X does not parse back: %v", o.Tag, err)
			}
		}
		if _, err := FindSimpleTLV(b, tag); err != nil && !errors.Is(err, ErrTagNotFound) {
			assertTLVError(t, err, len(b))
		}
	})
}

func assertTLVError(t *testing.T, err error, n int) {
	t.Helper()
	var te *TLVError
	if !errors.As(err, &te) || !errors.Is(err, ErrMalformedTLV) {
		t.Fatalf("untyped error %v", err)
	}
	if te.Offset < 0 || te.Offset > n {
		t.Fatalf("offset %d outside input of %d bytes", te.Offset, n)
	}
}

// FuzzChannel runs the Channel against a card whose every answer comes from
// the fuzz data (length byte, then bytes). With cycle set the script
// repeats forever, so a card can answer 61xx or 6Cxx endlessly. The
// Channel must never panic, never loop beyond its bounds, and return either
// a response within the size bound or a typed error. A Trace between the
// Channel and the card formats every hostile answer (masked or not).
func FuzzChannel(f *testing.F) {
	f.Add(byte(0), false, false, h("02 9000"))
	f.Add(byte(0), true, true, h("03 AA6101"))
	f.Add(byte(1), false, true, h("02 6C10 12 00112233445566778899AABBCCDDEEFF 9000"))
	f.Add(byte(2), false, false, h("02 9000 02 9000 02 6100 00"))
	f.Add(byte(3), true, false, h("01 90"))
	f.Add(byte(3), false, true, h("02 6C00 02 61FF"))
	const (
		limit   = 8
		maxSize = 600
	)
	cmds := []Command{
		{INS: 0xB0, Ne: 256},
		{INS: 0xCA, P1: 1, P2: 1},
		{INS: 0xDA, Data: seq(600), Ne: 10},
		{CLA: 0x01, INS: 0xB0, Ne: 1000},
	}
	f.Fuzz(func(t *testing.T, sel byte, extended, cycle bool, script []byte) {
		pos := 0
		card := &scriptCard{respond: func(context.Context, []byte, int) ([]byte, error) {
			if pos >= len(script) {
				if !cycle || len(script) == 0 {
					return nil, ErrCardRemoved
				}
				pos = 0
			}
			l := int(script[pos])
			pos++
			l = min(l, len(script)-pos)
			r := append([]byte(nil), script[pos:pos+l]...)
			pos += l
			return r, nil
		}}
		logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
		traced := NewTrace(card, TraceConfig{Logger: logger, MaskedINS: []Ins{InsReadBinary}})
		ch := NewChannel(traced, ChannelConfig{GetResponseLimit: limit, MaxResponseSize: maxSize, ExtendedLength: extended})
		cmd := cmds[int(sel)%len(cmds)]
		ctx := context.Background()
		if sel&0x80 != 0 {
			ctx = WithSecret(ctx)
		}
		resp, err := ch.Send(ctx, cmd)
		// At most 3 chained parts, each link with one 6Cxx resend and the
		// whole chain sent twice after a 6Cxx to its last part, or the
		// command and its resend; then every GET RESPONSE round, each with
		// one 6Cxx resend.
		if bound := 2*(2*2+1) + 2*limit; len(card.got) > bound {
			t.Fatalf("%d APDUs sent, bound %d", len(card.got), bound)
		}
		if err != nil {
			for _, target := range []error{ErrMalformedResponse, ErrResponseTooLarge, ErrTooManyGetResponses, ErrCardRemoved} {
				if errors.Is(err, target) {
					return
				}
			}
			t.Fatalf("untyped error %v", err)
		}
		if len(resp.Data)+2 > maxSize {
			t.Fatalf("response of %d bytes beyond the bound", len(resp.Data)+2)
		}
	})
}
