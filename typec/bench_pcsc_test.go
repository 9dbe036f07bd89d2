//go:build cgo

package typec_test

import (
	"context"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/mynacard/freespace/internal/pcsctest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typec"
)

// rawRead is the APDU sequence of one Type C read (docs/PROTOCOL.md §2.3),
// as typec.Read sends it for an Identity of up to 256 bytes.
func rawRead() [][]byte {
	sel := append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(profile.DefaultAID(profile.TypeC)))}, profile.DefaultAID(profile.TypeC)...)
	return [][]byte{
		sel,
		{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x01},
		{0x00, 0xB0, 0x00, 0x00, 0x10},
		{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x02},
		{0x00, 0xB0, 0x00, 0x00, 0x00},
	}
}

// BenchmarkReadPCSC compares one Type C read through a real pcscd (mock
// card -> vpcd -> pcscd -> ebfe/scard -> reader -> typec) with the same
// five APDUs sent with ebfe/scard directly, in one transaction each, in the
// same run: the ratio of the two ns/op is the SDK's overhead.
func BenchmarkReadPCSC(b *testing.B) {
	slot := pcsctest.Acquire(b)
	card := mockcard.MustNew(mockcard.WithAP(typeCSpec(encode(b, profile.Identity{UserID: "BENCH-0001"}, 64, 0xFF))))
	slot.Attach(b, card)
	ctx := context.Background()

	b.Run("typec", func(b *testing.B) {
		rc := pcsctest.NewContext(b)
		cd, err := rc.Connect(ctx, slot.ReaderName)
		if err != nil {
			b.Fatal(err)
		}
		defer cd.Close()
		var apdus int
		b.ReportAllocs()
		for b.Loop() {
			res, err := typec.Read(ctx, cd, typec.Config{})
			if err != nil {
				b.Fatal(err)
			}
			apdus = res.APDUs
		}
		b.ReportMetric(float64(apdus), "apdus/op")
		b.StopTimer()
	})

	b.Run("raw-scard", func(b *testing.B) {
		h := rawConnect(b, slot.ReaderName)
		seq := rawRead()
		b.ReportAllocs()
		for b.Loop() {
			rawOnce(b, h, seq)
		}
		b.ReportMetric(float64(len(seq)), "apdus/op")
		b.StopTimer()
	})

	// paired alternates one typec read and one raw read per iteration, so
	// that both see the same machine load; ratio is typec time over raw
	// time, summed over the run.
	b.Run("paired", func(b *testing.B) {
		rc := pcsctest.NewContext(b)
		cd, err := rc.Connect(ctx, slot.ReaderName)
		if err != nil {
			b.Fatal(err)
		}
		defer cd.Close()
		h := rawConnect(b, slot.ReaderName)
		seq := rawRead()
		var sdk, raw time.Duration
		for b.Loop() {
			t0 := time.Now()
			if _, err := typec.Read(ctx, cd, typec.Config{}); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			rawOnce(b, h, seq)
			sdk += t1.Sub(t0)
			raw += time.Since(t1)
		}
		b.StopTimer()
		n := float64(b.N)
		b.ReportMetric(float64(sdk.Nanoseconds())/n, "typec-ns/read")
		b.ReportMetric(float64(raw.Nanoseconds())/n, "raw-ns/read")
		b.ReportMetric(float64(sdk)/float64(raw), "ratio")
	})
}

// rawConnect connects to the reader with ebfe/scard directly, released when
// the benchmark ends.
func rawConnect(b *testing.B, readerName string) *scard.Card {
	sc, err := scard.EstablishContext()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sc.Release() })
	h, err := sc.Connect(readerName, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Disconnect(scard.LeaveCard) })
	return h
}

// rawOnce sends seq in one transaction and checks every status word.
func rawOnce(b *testing.B, h *scard.Card, seq [][]byte) {
	if err := h.BeginTransaction(); err != nil {
		b.Fatal(err)
	}
	for _, cmd := range seq {
		rsp, err := h.Transmit(cmd)
		if err != nil {
			b.Fatal(err)
		}
		if len(rsp) < 2 || rsp[len(rsp)-2] != 0x90 {
			b.Fatalf("% X -> % X", cmd, rsp)
		}
	}
	if err := h.EndTransaction(scard.LeaveCard); err != nil {
		b.Fatal(err)
	}
}
