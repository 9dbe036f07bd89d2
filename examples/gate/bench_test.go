package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/mynacard/freespace/examples/internal/demo"

	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/revocation"
)

// benchListSize is the number of revoked CUIDs in the benchmarks' store.
const benchListSize = 100_000

// benchGate returns a gate writing JSON decisions to io.Discard, a client
// checking a revocation store of benchListSize entries, and the operator's
// master keys the client authenticates Type A cards with.
func benchGate(b *testing.B) (*gate, *cardap.Client, *keys.Store) {
	b.Helper()
	g := &gate{now: time.Now, log: slog.New(slog.DiscardHandler), out: io.Discard, json: true}
	store, err := revocation.Open(b.TempDir(), revocation.Options{Logger: g.log})
	require.NoError(b, err)
	b.Cleanup(func() { _ = store.Close() })
	now := time.Now()
	u := &revocation.Update{Full: true, Seq: 1, AsOf: now.Add(-time.Hour)}
	u.Add = make([]revocation.Record, benchListSize)
	for i := range u.Add {
		c := profile.CUID{0xB0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 15: 1}
		u.Add[i] = revocation.Record{Key: revocation.CUIDKey(c), RevokedAt: now.Add(-2 * time.Hour).Unix(), Reason: revocation.ReasonLost}
	}
	require.NoError(b, store.Apply(context.Background(), u))
	o, code := parseFlags(nil, io.Discard)
	require.Equal(b, exitOK, code)
	masters, err := demo.OperatorKeys()
	require.NoError(b, err)
	client, err := g.newClient(o, masters, cardap.RevocationStore(store))
	require.NoError(b, err)
	return g, client, masters
}

// decideOpen is one tap of card on slot, started at start: identified,
// decided and emitted like the gate does; the decision must be Open.
func decideOpen(ctx context.Context, b *testing.B, g *gate, client *cardap.Client, slot string, card apdu.Transport, start time.Time) {
	tap := cardap.Tap{Slot: slot, Time: start}
	tap.Identity, tap.Err = client.Identify(ctx, card)
	tap.Duration = time.Since(start)
	d := g.decide(ctx, tap, "")
	if d.Outcome != Open {
		b.Fatalf("decision %+v", d)
	}
	if err := g.emit(d); err != nil {
		b.Fatal(err)
	}
}

// reportLatency reports decisions per second and the latency percentiles
// of the recorded per-decision durations.
func reportLatency(b *testing.B, ds []time.Duration) {
	b.Helper()
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	var total time.Duration
	for _, d := range ds {
		total += d
	}
	pct := func(p float64) float64 {
		i := int(p * float64(len(ds)-1))
		return float64(ds[i].Nanoseconds()) / 1e3
	}
	b.ReportMetric(float64(len(ds))/total.Seconds(), "decisions/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.90), "p90-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkGateDecision measures one gate decision: tap → identify (Type A,
// four APDUs: SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE, READ RECORD under
// secure messaging) → revocation check (a 100 000-entry store) → expiry →
// the gate's Decision, written as a JSON line to io.Discard.
//
//   - in-process/identify: Client.Identify and the gate's decision on an
//     in-process mock card;
//   - in-process/serve: the same through cardap.Serve and a TapSlot, one
//     tap per iteration (the demo's loop);
//   - pcscd: mock card → vpcd → a private pcscd → reader → cardap, one
//     iteration being what the PC/SC serve loop does per tap (new PC/SC
//     context, wait for the card, connect, identify in one transaction,
//     decide, disconnect), without the physical removal wait. Needs
//     scripts/test.sh.
func BenchmarkGateDecision(b *testing.B) {
	ctx := context.Background()
	card := func(b *testing.B, masters *keys.Store) *mockcard.Card {
		return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: masters},
			Identity: profile.Identity{UserID: "EMP-0001", Expires: time.Now().AddDate(1, 0, 0).Truncate(24 * time.Hour)}}))
	}

	b.Run("in-process/identify", func(b *testing.B) {
		g, client, masters := benchGate(b)
		c := card(b, masters)
		ds := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			start := time.Now()
			decideOpen(ctx, b, g, client, "bench", c, start)
			ds = append(ds, time.Since(start))
		}
		b.StopTimer()
		reportLatency(b, ds)
	})

	b.Run("in-process/serve", func(b *testing.B) {
		g, client, masters := benchGate(b)
		c := card(b, masters)
		slot := cardap.NewTapSlot("bench")
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var opened int
		served := make(chan error, 1)
		go func() {
			served <- client.Serve(sctx, func(ctx context.Context, tap cardap.Tap, card cardap.Card) {
				g.handle(ctx, tap, card)
				if tap.Err == nil {
					opened++
				}
			}, slot)
		}()
		ds := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		n := 0
		for b.Loop() {
			start := time.Now()
			if err := slot.Tap(sctx, c); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(start))
			n++
		}
		b.StopTimer()
		slot.Close()
		<-served
		if opened != n {
			b.Fatalf("%d of %d taps opened", opened, n)
		}
		reportLatency(b, ds)
	})

	b.Run("pcscd", func(b *testing.B) {
		slot := pcsctest.Acquire(b)
		g, client, masters := benchGate(b)
		conn := slot.Attach(b, card(b, masters))
		defer func() {
			_ = conn.Close()
			pcsctest.WaitAbsent(b, slot)
		}()
		{ // the card is in: wait until pcscd has seen it
			rc, err := reader.EstablishContext(ctx)
			require.NoError(b, err)
			wctx, cancel := context.WithTimeout(ctx, pcsctest.Timeout)
			_, err = rc.WaitForCard(wctx, slot.ReaderName)
			cancel()
			require.NoError(b, err)
			require.NoError(b, rc.Close())
		}
		b.Run("per-tap", func(b *testing.B) { benchPCSCTap(b, g, client, slot.ReaderName, true) })
		b.Run("per-tap-shared-context", func(b *testing.B) { benchPCSCTap(b, g, client, slot.ReaderName, false) })
		b.Run("connected", func(b *testing.B) { benchPCSCConnected(b, g, client, slot.ReaderName) })
	})
}

// benchPCSCTap: each iteration is one tap of the PC/SC serve loop. With
// newContext (what cardap's PC/SC slot does today) every tap establishes a
// PC/SC context of its own; without, one context serves every tap, to show
// what that costs.
func benchPCSCTap(b *testing.B, g *gate, client *cardap.Client, name string, newContext bool) {
	ctx := context.Background()
	var shared *reader.Context
	if !newContext {
		var err error
		shared, err = reader.EstablishContext(ctx)
		require.NoError(b, err)
		defer shared.Close()
	}
	ds := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		rc := shared
		if newContext {
			var err error
			if rc, err = reader.EstablishContext(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := rc.WaitForCard(ctx, name); err != nil {
			b.Fatal(err)
		}
		rcard, err := rc.Connect(ctx, name, reader.ConnectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		decideOpen(ctx, b, g, client, name, rcard, start)
		_ = rcard.Close()
		if newContext {
			_ = rc.Close()
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, ds)
}

// benchPCSCConnected: the card stays connected; each iteration is identify
// and decide only, to show what the per-tap connection costs.
func benchPCSCConnected(b *testing.B, g *gate, client *cardap.Client, name string) {
	ctx := context.Background()
	rc, err := reader.EstablishContext(ctx)
	require.NoError(b, err)
	defer rc.Close()
	rcard, err := rc.Connect(ctx, name, reader.ConnectOptions{})
	require.NoError(b, err)
	defer rcard.Close()
	ds := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		decideOpen(ctx, b, g, client, name, rcard, start)
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, ds)
}
