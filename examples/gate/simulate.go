package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mynacard/freespace/examples/internal/demo"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/typec"
)

// demoTap is one simulated tap: a label and the card tapped.
type demoTap struct {
	label string
	card  func() (*mockcard.Card, error)
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

// demoCards makes the demo's cards: sealed Type A APs whose keys are
// diversified from the demo operator's master keys, as a personalization
// terminal loads them.
type demoCards struct {
	masters *keys.Store
	// password, when set, protects reading the Type A AP (the demo with
	// --password-env).
	password []byte
}

// typeA returns the Type A AP of demo card n holding id (zero: never
// personalized, EF.Records empty).
func (dc demoCards) typeA(n byte, id profile.Identity) mockcard.TypeA {
	cfg := mockcard.TypeA{Identity: id, CUID: demoCUID(n), Keys: mockcard.APKeys{Masters: dc.masters}}
	if dc.password != nil {
		cfg.Password = &mockcard.APPassword{Value: profile.Password(dc.password)}
	}
	return cfg
}

// card returns demo card n carrying a Type A AP with id.
func (dc demoCards) card(n byte, id profile.Identity) (*mockcard.Card, error) {
	return mockcard.New(mockcard.WithTypeA(dc.typeA(n, id)))
}

// withRecord1 returns demo card n whose Type A record 1 is raw (a record
// that breaks the profile's format).
func (dc demoCards) withRecord1(n byte, raw []byte) (*mockcard.Card, error) {
	spec, err := mockcard.TypeASpec(dc.typeA(n, profile.Identity{UserID: "PLACEHOLDER"}), rand.Reader)
	if err != nil {
		return nil, err
	}
	for i := range spec.EFs {
		if spec.EFs[i].FID == profile.FIDRecords {
			spec.EFs[i].Records = [][]byte{raw}
		}
	}
	return mockcard.New(mockcard.WithAP(spec))
}

// typeCClone returns what anyone makes of a card that also carries a Type C
// AP, without any key: read its Type C ID (CUID and identity, readable by
// all) and write it to a blank card's Type C AP.
func typeCClone(ctx context.Context, original *mockcard.Card) (*mockcard.Card, error) {
	read, err := typec.Read(ctx, original, typec.Config{})
	if err != nil {
		return nil, fmt.Errorf("reading the Type C ID to copy: %w", err)
	}
	return mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: read.Identity, CUID: read.CUID}))
}

// demoTaps is the simulated series; expiry dates are relative to now.
func (dc demoCards) taps(ctx context.Context, now time.Time) []demoTap {
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	valid := today.AddDate(1, 0, 0)
	emp1 := profile.Identity{UserID: "EMP-0001", Expires: valid}
	// Employee 1's card also carries a Type C AP with the same ID (for the
	// canteen, say): that is what a copy is made from.
	validCard := func() (*mockcard.Card, error) {
		return mockcard.New(mockcard.WithTypeA(dc.typeA(1, emp1)),
			mockcard.WithTypeCConfig(mockcard.TypeC{Identity: emp1, CUID: demoCUID(1)}))
	}
	return []demoTap{
		{"valid card", validCard},
		{"revoked (lost)", func() (*mockcard.Card, error) {
			return dc.card(demoRevokedCard, profile.Identity{UserID: "EMP-0002", Expires: valid})
		}},
		{"stopped locally", func() (*mockcard.Card, error) {
			return dc.card(demoStoppedCard, profile.Identity{UserID: "EMP-0003", Expires: valid})
		}},
		{"expired card", func() (*mockcard.Card, error) {
			return dc.card(4, profile.Identity{UserID: "EMP-0004", Expires: today.AddDate(0, 0, -1)})
		}},
		{"unknown card (no AP)", func() (*mockcard.Card, error) { return mockcard.New() }},
		{"not personalized", func() (*mockcard.Card, error) {
			return mockcard.New(mockcard.WithTypeA(dc.typeA(6, profile.Identity{})))
		}},
		{"malformed data", func() (*mockcard.Card, error) {
			return dc.withRecord1(7, []byte{0x70, 0x05, 0x80, 0x03, 'B', 0x00, 'D'})
		}},
		{"pulled away mid-read", func() (*mockcard.Card, error) {
			c, err := dc.card(8, profile.Identity{UserID: "EMP-0008", Expires: valid})
			if err != nil {
				return nil, err
			}
			// The card leaves during authentication, its CUID read.
			return c, c.Inject(mockcard.RemoveAfter(2))
		}},
		{"Type C copy of card 1", func() (*mockcard.Card, error) {
			original, err := validCard()
			if err != nil {
				return nil, err
			}
			return typeCClone(ctx, original)
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
	return s.Stop(ctx, revocation.CUIDKey(demoCUID(demoStoppedCard)), revocation.StopOptions{Reason: revocation.ReasonStolen, By: "demo desk", Why: "holder called: card stolen"})
}

// simulate runs the gate on the demo taps: operator keys made in memory, a
// revocation store in a temporary directory, one simulated slot served by
// cardap.Serve, and the demo cards tapped one after the other.
func (g *gate) simulate(ctx context.Context, o *options) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gate-demo-revocation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := g.openStore(dir, o, true)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := demoStore(ctx, store, g.now()); err != nil {
		return fmt.Errorf("filling the demo revocation store: %w", err)
	}
	masters, err := demo.OperatorKeys()
	if err != nil {
		return fmt.Errorf("making the demo operator keys: %w", err)
	}
	defer masters.Zero()
	client, err := g.newClient(o, masters, cardap.RevocationStore(store))
	if err != nil {
		return err
	}
	slot := cardap.NewTapSlot("demo gate")
	taps := demoCards{masters: masters, password: g.password}.taps(ctx, g.now())
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
