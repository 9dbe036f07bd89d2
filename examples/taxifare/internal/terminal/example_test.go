package terminal_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mynacard/freespace/examples/taxifare/internal/card"
	"github.com/mynacard/freespace/examples/taxifare/internal/fare"
	"github.com/mynacard/freespace/examples/taxifare/internal/terminal"
	"github.com/mynacard/freespace/examples/taxifare/internal/wire"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// operatorMasters makes the operator's Type A master keys in memory,
// random for each run (a real terminal loads them with keys.LoadFile).
func operatorMasters() *keys.Store {
	st := keys.NewStore()
	for _, name := range []string{"typea-auth-enc", "typea-auth-mac", "typea-update-enc", "typea-update-mac", "typea-admin-enc", "typea-admin-mac"} {
		b := make([]byte, 16)
		rand.Read(b)
		k, err := keys.NewKey(keys.AES, b)
		if err != nil {
			panic(err)
		}
		if err := st.Add(keys.KeyRef{Name: name, Version: 1}, k); err != nil {
			panic(err)
		}
	}
	return st
}

// A ride with one registered rider on the mock card: tap (the card proves
// itself by mutual authentication with the operator's keys), decide,
// finish, record.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "terminal-example-")
	defer os.RemoveAll(dir)
	st, err := terminal.OpenStore(ctx, filepath.Join(dir, "terminal.db"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	now := func() time.Time { return time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC) }
	// Normally synced from the city server with Uploader.SyncRegistry.
	salt := make([]byte, wire.SaltBytes)
	_ = st.ReplaceRegistry(ctx, &wire.Registry{AsOf: now(), Day: "2026-11-20", Year: 2026, Salt: salt,
		Users: []wire.RegisteredUser{{Key: wire.UserKey(salt, "U-0001")}}})

	masters := operatorMasters()
	mc, _ := mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U-0001"}, Keys: mockcard.APKeys{Masters: masters}}))
	client, err := card.NewClient(masters, now)
	if err != nil {
		panic(err)
	}
	slot := &card.Slot{}
	t, err := terminal.New(terminal.Config{
		CompanyID: "kita-kotsu", VehicleID: "car-12", Rules: fare.Default(),
		Store: st, Card: slot, Revocation: terminal.NewRevocationList(now(), now),
		Now: now, Rand: bytes.NewReader(make([]byte, 16)), Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	ride := t.StartRide()
	slot.Insert(card.Cardap{Client: client, Transport: mc})
	d, _ := ride.Tap(ctx)
	slot.Remove()
	fmt.Println(d)
	trip, _ := ride.Finish(ctx, 2400)
	fmt.Println(trip.TripID, trip.FareYen, trip.SubsidyYen, trip.PaidYen)
	c, _ := st.Counts(ctx)
	fmt.Println("pending upload:", c.Pending)
	// Output:
	// U-0001: accepted
	// 00000000-0000-4000-8000-000000000000 2400 1000 1400
	// pending upload: 1
}
