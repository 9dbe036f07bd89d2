package typec_test

import (
	"context"
	"testing"

	"github.com/mynacard/freespace/apdu"

	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typec"
)

// BenchmarkReadInProcess is one whole Type C read against the in-process
// mock card; apdus/op is the number of APDUs a read takes.
func BenchmarkReadInProcess(b *testing.B) {
	card := mockcard.MustNew(mockcard.WithAP(typeCSpec(encode(b, profile.Identity{UserID: "BENCH-0001"}, 64, 0xFF))))
	ctx := context.Background()
	var apdus int
	b.ReportAllocs()
	for b.Loop() {
		res, err := typec.Read(ctx, card, typec.Config{})
		if err != nil {
			b.Fatal(err)
		}
		apdus = res.APDUs
	}
	b.ReportMetric(float64(apdus), "apdus/op")
}

// BenchmarkReadHostOnly is the host side's own cost of one read: typec.Read
// against a transport that replays the card's three answers without any
// card logic. Set beside a PC/SC round trip (BenchmarkReadPCSC) it bounds
// the SDK's overhead per read.
func BenchmarkReadHostOnly(b *testing.B) {
	enc, err := profile.Identity{UserID: "BENCH-0001"}.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	cuid := []byte{0xC0, 0xFF, 0xEE, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	answers := [][]byte{{0x90, 0x00}, append(cuid, 0x90, 0x00), append(enc, 0x90, 0x00)}
	n := 0
	replay := apdu.TransportFunc(func(_ context.Context, _ []byte) ([]byte, error) {
		r := answers[n%len(answers)]
		n++
		return append([]byte(nil), r...), nil
	})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := typec.Read(ctx, replay, typec.Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
