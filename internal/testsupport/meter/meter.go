package meter

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/mynacard/freespace/apdu"
)

// Meter is an apdu.Transport decorator for benchmarks: it counts APDUs and
// bytes exchanged and the wall and thread CPU time spent below it (in the
// card, for an in-process mock card), so that host time = total - below.
type Meter struct {
	Next     apdu.Transport
	APDUs    int
	Bytes    int
	Below    time.Duration
	BelowCPU time.Duration
}

// Reset zeroes the counters.
func (m *Meter) Reset() { m.APDUs, m.Bytes, m.Below, m.BelowCPU = 0, 0, 0, 0 }

// Transmit forwards cmd and accounts for it.
func (m *Meter) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	t0, c0 := time.Now(), ThreadCPU()
	rsp, err := m.Next.Transmit(ctx, cmd)
	m.BelowCPU += ThreadCPU() - c0
	m.Below += time.Since(t0)
	m.APDUs++
	m.Bytes += len(cmd) + len(rsp)
	return rsp, err
}

// Unwrap returns the wrapped transport.
func (m *Meter) Unwrap() apdu.Transport { return m.Next }

// Run runs op in a benchmark loop on a goroutine locked to its OS thread
// and reports, per operation: apdus/op, wire-bytes/op (command and
// response bytes), host-µs/op (wall time outside the card) and
// host-cpu-µs/op (the thread's CPU time outside the card, which a loaded
// machine inflates far less than wall time).
func Run(b *testing.B, m *Meter, op func() error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m.Reset()
	b.ReportAllocs()
	var wall, cpu time.Duration
	for b.Loop() {
		t0, c0 := time.Now(), ThreadCPU()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		cpu += ThreadCPU() - c0
		wall += time.Since(t0)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(m.APDUs)/n, "apdus/op")
	b.ReportMetric(float64(m.Bytes)/n, "wire-bytes/op")
	b.ReportMetric(float64((wall-m.Below).Nanoseconds())/n/1000, "host-µs/op")
	b.ReportMetric(float64((cpu-m.BelowCPU).Nanoseconds())/n/1000, "host-cpu-µs/op")
}
