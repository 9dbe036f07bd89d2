//go:build cgo || windows

package reader_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ebfe/scard"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/reader"
)

// benchSetup puts a test card into a slot and returns a raw ebfe/scard
// handle and a reader.Card on it, both with the application selected.
func benchSetup(b *testing.B) (raw *scard.Card, card interface {
	Transmit(context.Context, []byte) ([]byte, error)
}) {
	slot := pcsctest.Acquire(b)
	rc := pcsctest.NewContext(b)
	slot.Attach(b, newTestCard([]byte("0123456789abcdef")))
	ctx := context.Background()

	c, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(b, err)
	b.Cleanup(func() { _ = c.Close() })
	_, err = c.Transmit(ctx, selectAPDU())
	require.NoError(b, err)

	sc, err := scard.EstablishContext()
	require.NoError(b, err)
	b.Cleanup(func() { _ = sc.Release() })
	h, err := sc.Connect(slot.ReaderName, scard.ShareShared, scard.ProtocolAny)
	require.NoError(b, err)
	b.Cleanup(func() { _ = h.Disconnect(scard.LeaveCard) })
	return h, c
}

// BenchmarkTransmit sends the same READ BINARY (16 bytes) through a real
// pcscd and vpcd, once with ebfe/scard directly and once through
// reader.Card, in the same run. b.Loop keeps set-up and the card's removal
// at clean-up out of the measurement.
func BenchmarkTransmit(b *testing.B) {
	raw, card := benchSetup(b)
	cmd := readAPDU(16)
	ctx := context.Background()
	b.Run("raw-scard", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := raw.Transmit(cmd); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reader", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := card.Transmit(ctx, cmd); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTransmitOverhead alternates raw and reader transmits of the same
// APDU, so both see the same machine load, and reports the median round trip
// of each side and the SDK's overhead in percent of the raw median (medians,
// because other processes' load on a shared machine skews means).
func BenchmarkTransmitOverhead(b *testing.B) {
	raw, card := benchSetup(b)
	cmd := readAPDU(16)
	ctx := context.Background()
	var rawTimes, readerTimes []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := raw.Transmit(cmd); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := card.Transmit(ctx, cmd); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		rawTimes = append(rawTimes, t1.Sub(t0))
		readerTimes = append(readerTimes, t2.Sub(t1))
	}
	rawMed, readerMed := median(rawTimes), median(readerTimes)
	b.ReportMetric(rawMed, "raw-p50-ns")
	b.ReportMetric(readerMed, "reader-p50-ns")
	b.ReportMetric(100*(readerMed-rawMed)/rawMed, "overhead-%")
}

func median(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[len(d)/2].Nanoseconds())
}
