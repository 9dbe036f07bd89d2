package typed_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/meter"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typed"
)

// BenchmarkRead1KiB opens the Type D AP (SELECT, mutual authentication)
// and reads a 1 KiB plaintext (docs/PROTOCOL.md §7.5), with short APDUs
// and with extended length, against the in-process mock card. host-µs/op
// excludes the time spent inside the mock card.
func BenchmarkRead1KiB(b *testing.B) {
	for _, ext := range []bool{false, true} {
		name := "short"
		if ext {
			name = "extended"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			st := keystest.Store(1)
			card := newCard(b, st, mockcard.WithExtendedLength(ext))
			cfg := typed.Config{Keys: st, ExtendedLength: ext}
			ap, err := typed.Open(ctx, card, cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			c := typed.Content{Identity: profile.Identity{UserID: "BENCH"}, Data: bytes.Repeat([]byte{0x5A}, 1024)}
			if err := ap.Write(ctx, c, typed.WriteOptions{}); err != nil {
				b.Fatal(err)
			}
			m := &meter.Meter{Next: card}
			meter.Run(b, m, func() error {
				ap, err := typed.Open(ctx, m, cfg, nil)
				if err != nil {
					return err
				}
				got, err := ap.Read(ctx)
				if err == nil && len(got.Data) != 1024 {
					b.Fatal("short read")
				}
				return err
			})
		})
	}
}

// BenchmarkWrite1KiB is one tearing-safe write of a 1 KiB plaintext on an
// open session (read both slots, switch to the update key, write).
func BenchmarkWrite1KiB(b *testing.B) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(b, st)
	m := &meter.Meter{Next: card}
	ap, err := typed.Open(ctx, m, typed.Config{Keys: st}, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := typed.Content{Identity: profile.Identity{UserID: "BENCH"}, Data: bytes.Repeat([]byte{0x5A}, 1024)}
	meter.Run(b, m, func() error { return ap.Write(ctx, c, typed.WriteOptions{}) })
}
