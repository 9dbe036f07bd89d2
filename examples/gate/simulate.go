package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// demoTap is one simulated tap: a label and the card tapped.
type demoTap struct {
	label string
	card  func() (*mockcard.Card, error)
}

// typeCAP is a Type C AP on the mock card (docs/PROTOCOL.md §2.1) with the
// given CUID and raw EF.Identity content (nil: never personalized).
func typeCAP(cuid profile.CUID, identityEF []byte) mockcard.APSpec {
	ro := mockcard.Access{Read: mockcard.Always(), Update: mockcard.Never(), Append: mockcard.Never()}
	return mockcard.APSpec{
		Name:      "Type C",
		AID:       profile.DefaultAID(profile.TypeC),
		Lifecycle: mockcard.Operational,
		EFs: []mockcard.EFSpec{
			{FID: profile.FIDCUID, Kind: mockcard.Transparent, MaxSize: profile.CUIDLen, Data: cuid[:], Personalization: ro, Operational: ro},
			{FID: profile.FIDIdentity, Kind: mockcard.Transparent, MaxSize: 512, Data: identityEF, Personalization: ro, Operational: ro},
		},
	}
}

// demoCUID returns a recognisable CUID for demo card n.
func demoCUID(n byte) profile.CUID {
	return profile.CUID{0xDE, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n}
}

// Demo cards whose CUIDs are on the demo revocation list.
const (
	demoRevokedCard = 2 // on the delivered list: lost
	demoStoppedCard = 3 // stopped locally: stolen
)

// cardWith returns a mock card carrying a sealed Type C AP with id.
func cardWith(n byte, id profile.Identity) (*mockcard.Card, error) {
	return mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: id, CUID: demoCUID(n)}))
}

// demoTaps is the simulated series; expiry dates are relative to now.
func demoTaps(now time.Time) []demoTap {
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	valid := today.AddDate(1, 0, 0)
	return []demoTap{
		{"valid card", func() (*mockcard.Card, error) {
			return cardWith(1, profile.Identity{UserID: "EMP-0001", Expires: valid})
		}},
		{"revoked (lost)", func() (*mockcard.Card, error) {
			return cardWith(demoRevokedCard, profile.Identity{UserID: "EMP-0002", Expires: valid})
		}},
		{"stopped locally", func() (*mockcard.Card, error) {
			return cardWith(demoStoppedCard, profile.Identity{UserID: "EMP-0003", Expires: valid})
		}},
		{"expired card", func() (*mockcard.Card, error) {
			return cardWith(4, profile.Identity{UserID: "EMP-0004", Expires: today.AddDate(0, 0, -1)})
		}},
		{"unknown card (no AP)", func() (*mockcard.Card, error) { return mockcard.New() }},
		{"not personalized", func() (*mockcard.Card, error) {
			return mockcard.New(mockcard.WithAP(typeCAP(demoCUID(6), nil)))
		}},
		{"malformed data", func() (*mockcard.Card, error) {
			return mockcard.New(mockcard.WithAP(typeCAP(demoCUID(7), []byte{0x70, 0x05, 0x80, 0x03, 'B', 0x00, 'D'})))
		}},
		{"pulled away mid-read", func() (*mockcard.Card, error) {
			c, err := cardWith(8, profile.Identity{UserID: "EMP-0008", Expires: valid})
			if err == nil {
				c.RemoveAfter(3) // the card leaves right after its CUID is read
			}
			return c, err
		}},
	}
}

// demoStore fills a revocation store in dir the way a gate's store is
// filled in the field: the daily delivered list (here as of 6 hours ago,
// with demo card 2 lost), and an urgent local stop (demo card 3, stolen).
func demoStore(ctx context.Context, s *revocation.Store, now time.Time) error {
	asOf := now.Add(-6 * time.Hour)
	err := s.Apply(ctx, &revocation.Update{
		Full: true, Seq: 1, AsOf: asOf,
		Add: []revocation.Record{{
			Key:       revocation.CUIDKey(demoCUID(demoRevokedCard)),
			RevokedAt: asOf.Add(-20 * time.Hour).Unix(),
			Reason:    revocation.ReasonLost,
		}},
	})
	if err != nil {
		return err
	}
	return s.Stop(ctx, revocation.CUIDKey(demoCUID(demoStoppedCard)), revocation.ReasonStolen, "demo desk", "holder called: card stolen")
}

// simulate runs the gate on the demo taps: a revocation store in a
// temporary directory, one simulated slot served by cardap.Serve, and the
// demo cards tapped one after the other.
func (g *gate) simulate(ctx context.Context, o *options) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gate-demo-revocation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := g.openStore(dir, o)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := demoStore(ctx, store, g.now()); err != nil {
		return fmt.Errorf("filling the demo revocation store: %w", err)
	}
	client, err := g.newClient(o, cardap.RevocationStore(store))
	if err != nil {
		return err
	}
	slot := cardap.NewTapSlot("demo gate")
	taps := demoTaps(g.now())
	// The slot serves one tap at a time and Tap returns after the handler
	// ran, so the label set before a Tap is the one of the card decided.
	var (
		mu    sync.Mutex
		label string
	)
	tapErr := make(chan error, 1)
	go func() {
		defer slot.Close()
		for _, dt := range taps {
			card, err := dt.card()
			if err != nil {
				tapErr <- fmt.Errorf("making the %s: %w", dt.label, err)
				return
			}
			mu.Lock()
			label = dt.label
			mu.Unlock()
			if err := slot.Tap(ctx, card); err != nil {
				tapErr <- err
				return
			}
		}
		tapErr <- nil
	}()
	serveErr := client.Serve(ctx, func(ctx context.Context, tap cardap.Tap, _ cardap.Card) {
		mu.Lock()
		l := label
		mu.Unlock()
		if err := g.emit(g.decide(ctx, tap, l)); err != nil {
			g.log.Error("gate: writing the decision", "err", err)
		}
	}, slot)
	return errors.Join(<-tapErr, serveErr)
}
