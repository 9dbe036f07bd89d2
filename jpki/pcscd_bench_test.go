package jpki

import (
	"context"
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
)

// BenchmarkAuthenticatePCSCD is a full JPKI tap through a real pcscd: the
// mock JPKI card in a vpcd slot, each iteration what a terminal does per
// tap (a PC/SC context, connect, AuthenticateWithPIN: read the ~1.9 KB
// certificate, check it, PIN status, VERIFY, signature, check the
// signature; disconnect). It reports p50/p99 and the APDUs. Needs
// scripts/test.sh (skipped without the PC/SC stack):
//
//	FREESPACE_SKIP_STATIC=1 scripts/test.sh -- go test -run XXX -bench AuthenticatePCSCD -benchtime 300x ./jpki
func BenchmarkAuthenticatePCSCD(b *testing.B) {
	slot := pcsctest.Acquire(b)
	pki := mockcard.MustLoadJPKITestPKI()
	card, err := mockcard.NewJPKI(mockcard.JPKI{})
	if err != nil {
		b.Fatal(err)
	}
	conn := slot.Attach(b, card)
	defer func() { _ = conn.Close(); pcsctest.WaitAbsent(b, slot) }()
	ctx := context.Background()
	{
		rc, err := reader.EstablishContext(ctx)
		if err != nil {
			b.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, pcsctest.Timeout)
		_, err = rc.WaitForCard(wctx, slot.ReaderName)
		cancel()
		rc.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name  string
		chunk int
	}{{"short", apdu.MaxShortNe}, {"extended", DefaultMaxCertificateSize}} {
		b.Run(bc.name, func(b *testing.B) {
			a, err := NewAuthenticator(AuthOptions{Roots: []*x509.Certificate{pki.AuthCA2015.Cert, pki.AuthCA2023.Cert},
				Time: func() time.Time { return mockNow }, NoRevocation: true, Read: ReadOptions{MaxChunk: bc.chunk}})
			if err != nil {
				b.Fatal(err)
			}
			ds := make([]time.Duration, 0, b.N)
			apdus := 0
			for b.Loop() {
				start := time.Now()
				rc, err := reader.EstablishContext(ctx)
				if err != nil {
					b.Fatal(err)
				}
				rcard, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				res, err := a.AuthenticateWithPIN(ctx, rcard, profile.Password(mockcard.JPKITestAuthPIN))
				if err != nil {
					b.Fatal(err)
				}
				apdus = res.APDUs
				_ = rcard.Close()
				_ = rc.Close()
				ds = append(ds, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(ds)
			pct := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) }
			b.ReportMetric(pct(0.50), "p50-µs")
			b.ReportMetric(pct(0.99), "p99-µs")
			b.ReportMetric(float64(apdus), "APDUs/op")
		})
	}
}
