package terminal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mynacard/freespace/examples/taxifare/internal/fare"
)

func benchFixture(b *testing.B) *fixture {
	b.Helper()
	users := make([]regUser, 1000)
	for i := range users {
		users[i] = regUser{id: fmt.Sprintf("U%d", i)}
	}
	st, err := OpenStore(context.Background(), b.TempDir()+"/terminal.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)}
	if err := st.ReplaceRegistry(context.Background(), testRegistry(clk.t, "2026-11-20", 2026, users...)); err != nil {
		b.Fatal(err)
	}
	f := &fixture{st: st, clk: clk, rules: fare.Default()}
	f.rules.RidesPerDay, f.rules.RidesPerYear = 0, 0
	f.rev = NewRevocationList(clk.t, clk.Now)
	return f
}

// BenchmarkTap is one tap decision: Type C read of the mock card through
// typec, registry lookup, revocation check, local ride counts.
func BenchmarkTap(b *testing.B) {
	f := benchFixture(b)
	_, c := benchCard(b, "U7")
	term, err := New(Config{CompanyID: "c", VehicleID: "v", Rules: f.rules, Store: f.st, Card: c, Revocation: f.rev, Now: f.clk.Now, Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := term.StartRide().Tap(ctx)
		if err != nil || !d.Accepted() {
			b.Fatal(d, err)
		}
	}
}

// BenchmarkRide is a whole ride: tap, then Finish, which commits the trip
// to SQLite with synchronous=FULL (an fsync per trip).
func BenchmarkRide(b *testing.B) {
	f := benchFixture(b)
	_, c := benchCard(b, "U7")
	term, err := New(Config{CompanyID: "c", VehicleID: "v", Rules: f.rules, Store: f.st, Card: c, Revocation: f.rev, Now: f.clk.Now, Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r := term.StartRide()
		if d, err := r.Tap(ctx); err != nil || !d.Accepted() {
			b.Fatal(d, err)
		}
		if _, err := r.Finish(ctx, 2400); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlush uploads 100 pending trips per op to a local server (one
// request of 100 trips, server-side transaction, local marking).
func BenchmarkFlush(b *testing.B) {
	ctx := context.Background()
	st, err := OpenStore(ctx, b.TempDir()+"/terminal.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv, hs := benchServer(b)
	up := &Uploader{Store: st, BaseURL: hs, TerminalID: "car-1", Token: enroll(b, srv, "car-1"), BatchSize: 100, Log: quiet}
	rng := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := 0; i < 100; i++ {
			tr, err := makeTrip(rng, "car-1", tripTime)
			if err != nil {
				b.Fatal(err)
			}
			if err := st.RecordTrip(ctx, tr, "2026-11-20", 2026); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		res, err := up.Flush(ctx)
		if err != nil || res.Accepted != 100 {
			b.Fatal(res, err)
		}
	}
}
