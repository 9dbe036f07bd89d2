//go:build cgo || windows

package typec_test

import (
	"context"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/typec"
)

// rawRead is the APDU sequence of one Type C read (docs/PROTOCOL.md §2.3),
// as typec.Read sends it for an Identity of up to 256 bytes.
func rawRead() [][]byte {
	sel := append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(profile.DefaultAID(profile.TypeC)))}, profile.DefaultAID(profile.TypeC)...)
	return [][]byte{
		sel,
		{0x00, 0xB0, 0x81, 0x00, 0x10},
		{0x00, 0xB0, 0x82, 0x00, 0x00},
	}
}

// BenchmarkReadPCSC compares one Type C read through a real pcscd (mock
// card -> vpcd -> pcscd -> ebfe/scard -> reader -> typec) with the same
// three APDUs sent with ebfe/scard directly, in one transaction each, in the
// same run: the ratio of the two ns/op is the SDK's overhead. typec-by-fid
// is the five-APDU read of Config.SelectByFID, for the saving of the reads
// by short EF identifier.
func BenchmarkReadPCSC(b *testing.B) {
	slot := pcsctest.Acquire(b)
	card := mockcard.MustNew(mockcard.WithAP(typeCSpec(encode(b, profile.Identity{UserID: "BENCH-0001"}, 64, 0xFF))))
	slot.Attach(b, card)
	ctx := context.Background()

	read := func(cfg typec.Config) func(b *testing.B) {
		return func(b *testing.B) {
			rc := pcsctest.NewContext(b)
			cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer cd.Close()
			var apdus int
			b.ReportAllocs()
			for b.Loop() {
				res, err := typec.Read(ctx, cd, cfg)
				if err != nil {
					b.Fatal(err)
				}
				apdus = res.APDUs
			}
			b.ReportMetric(float64(apdus), "apdus/op")
			b.StopTimer()
		}
	}
	b.Run("typec", read(typec.Config{}))
	// The same read with SELECT EF before each READ BINARY (five APDUs),
	// the way of cards without short EF identifiers: the saving of the
	// reads by SFI in the same run.
	b.Run("typec-by-fid", read(typec.Config{SelectByFID: true}))

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

	// paired runs one typec read, one typec read by file identifier and
	// one raw read per iteration, in an order that rotates, so that all
	// three see the same machine load; ratio is typec time over raw time
	// and by-fid-ratio the five-APDU read's time over the three-APDU one,
	// both summed over the run.
	b.Run("paired", func(b *testing.B) {
		rc := pcsctest.NewContext(b)
		cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer cd.Close()
		h := rawConnect(b, slot.ReaderName)
		seq := rawRead()
		var took [3]time.Duration // typec, typec by FID, raw
		runs := [3]func(){
			func() {
				if _, err := typec.Read(ctx, cd, typec.Config{}); err != nil {
					b.Fatal(err)
				}
			},
			func() {
				if _, err := typec.Read(ctx, cd, typec.Config{SelectByFID: true}); err != nil {
					b.Fatal(err)
				}
			},
			func() { rawOnce(b, h, seq) },
		}
		i := 0
		for b.Loop() {
			for k := range runs {
				j := (i + k) % len(runs)
				t0 := time.Now()
				runs[j]()
				took[j] += time.Since(t0)
			}
			i++
		}
		b.StopTimer()
		n := float64(b.N)
		b.ReportMetric(float64(took[0].Nanoseconds())/n, "typec-ns/read")
		b.ReportMetric(float64(took[1].Nanoseconds())/n, "by-fid-ns/read")
		b.ReportMetric(float64(took[2].Nanoseconds())/n, "raw-ns/read")
		b.ReportMetric(float64(took[0])/float64(took[2]), "ratio")
		b.ReportMetric(float64(took[1])/float64(took[0]), "by-fid-ratio")
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
