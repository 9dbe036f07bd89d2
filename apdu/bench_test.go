package apdu

import (
	"context"
	"testing"
)

// Run: go test ./apdu -run '^$' -bench . -benchmem

func BenchmarkEncodeShort(b *testing.B) {
	c := Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: h("F000000001"), Ne: 256}
	buf := make([]byte, 300)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeExtended(b *testing.B) {
	c := Command{INS: 0xD6, Data: seq(1024), Ne: 65536}
	buf := make([]byte, 1100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendToShort(b *testing.B) {
	c := Command{INS: 0xB0, P1: 0x80, Ne: 256}
	buf := make([]byte, 0, 300)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.AppendTo(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCommand(b *testing.B) {
	raw := h("00A40400 05 F000000001 00")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCommand(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCommandExtended(b *testing.B) {
	raw := append(append(h("00D60000 000400"), seq(1024)...), 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCommand(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	raw := append(seq(256), 0x90, 0x00)
	b.ReportAllocs()
	for b.Loop() {
		r, err := ParseResponse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchTLV is an FCI-like template of three levels.
var benchTLV = h("6F 19 84 07 A0000000031010 A5 0E 9F38 01 00 BF0C 07 5F2D 02 6A61 00 00")

func BenchmarkBERIterate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, err := range BERObjects(benchTLV) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkBERFindNested(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FindBER(benchTLV, 0x5F2D); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBERBuild(b *testing.B) {
	point := seq(65)
	oid := h("2B24")
	buf := make([]byte, 0, 256)
	var bb BERBuilder
	b.ReportAllocs()
	for b.Loop() {
		bb.Reset(buf[:0])
		bb.Begin(0x7F49).Add(0x06, oid).Add(0x86, point).End()
		if _, err := bb.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSimpleTLVParse(b *testing.B) {
	raw := h("01 02 AABB 02 00 03 FF 0001 CC")
	b.ReportAllocs()
	for b.Loop() {
		for _, err := range SimpleTLVObjects(raw) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// memCard answers every command with a fixed response; the baseline for
// the Channel round trips.
type memCard struct{ resp []byte }

func (m memCard) Transmit(context.Context, []byte) ([]byte, error) { return m.resp, nil }

func BenchmarkTransportDirect(b *testing.B) {
	t := Transport(memCard{resp: append(seq(256), 0x90, 0x00)})
	raw := h("00B0000000")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Transmit(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChannelTransmit(b *testing.B) {
	ch := NewChannel(memCard{resp: append(seq(256), 0x90, 0x00)}, ChannelConfig{})
	raw := h("00B0000000")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ch.Transmit(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChannelDo(b *testing.B) {
	ch := NewChannel(memCard{resp: append(seq(256), 0x90, 0x00)}, ChannelConfig{})
	cmd := Command{INS: 0xB0, Ne: 256}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ch.Do(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChannelGetResponse: a 1 KiB response, the command and three GET
// RESPONSE rounds answering 256 bytes and 6100, a fourth answering 9000.
func BenchmarkChannelGetResponse(b *testing.B) {
	part := append(seq(256), 0x61, 0x00)
	last := append(seq(0), 0x90, 0x00)
	var n int
	card := TransportFunc(func(context.Context, []byte) ([]byte, error) {
		n++
		if n%5 == 0 {
			return last, nil
		}
		return part, nil
	})
	ch := NewChannel(card, ChannelConfig{})
	raw := h("00B0000000")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ch.Transmit(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTraceDisabled: a Trace whose logger drops Debug adds little.
func BenchmarkTraceDisabled(b *testing.B) {
	t := NewTrace(memCard{resp: h("9000")}, TraceConfig{})
	raw := h("00B0000000")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Transmit(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}
