package mockcard

import (
	"context"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// BenchmarkTypeCRead is one Type C read on the card side: SELECT AP,
// SELECT EF.CUID, READ BINARY 16, SELECT EF.Identity, READ BINARY. It
// reports the APDUs per read.
func BenchmarkTypeCRead(b *testing.B) {
	c := MustNew(WithTypeC(profile.Identity{UserID: "U1"}))
	aid := profile.DefaultAID(profile.TypeC)
	cmds := [][]byte{
		append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(aid))}, aid...),
		{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x01},
		{0x00, 0xB0, 0x00, 0x00, 0x10},
		{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x02},
		{0x00, 0xB0, 0x00, 0x00, 0x00},
	}
	ctx := context.Background()
	c.ResetStats()
	b.ReportAllocs()
	for b.Loop() {
		for _, cmd := range cmds {
			if _, err := c.Transmit(ctx, cmd); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(c.Stats().APDUs)/float64(b.N), "APDUs/op")
}

// BenchmarkReadBinary is one plain READ BINARY of 200 bytes.
func BenchmarkReadBinary(b *testing.B) {
	spec := testSpec()
	spec.EFs[2].Operational.Read = Always()
	c := MustNew(WithAP(spec))
	ctx := context.Background()
	_, _ = c.Transmit(ctx, mustHex(selTest))
	_, _ = c.Transmit(ctx, mustHex("00A4020C020103"))
	cmd := mustHex("00B00000C8")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Transmit(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProtectedReadBinary is one READ BINARY of 200 bytes under
// AES-128 secure messaging, host and card work together.
func BenchmarkProtectedReadBinary(b *testing.B) {
	c := newTestCard(b)
	s := authenticate(b, c, 0x01, testKey1Enc, testKey1Mac)
	ctx := context.Background()
	sel, _ := apdu.Command{INS: apdu.InsSelect, P1: 2, P2: 0x0C, Data: []byte{1, 3}}.Bytes()
	if _, err := s.Transmit(ctx, sel); err != nil {
		b.Fatal(err)
	}
	cmd, _ := apdu.Command{INS: apdu.InsReadBinary, Ne: 200}.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Transmit(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalState loads the test card's state (JSON, checksum).
func BenchmarkUnmarshalState(b *testing.B) {
	b.ReportAllocs()
	c := MustNew(WithAP(testSpec()))
	st, err := c.MarshalState()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := UnmarshalState(st); err != nil {
			b.Fatal(err)
		}
	}
}
