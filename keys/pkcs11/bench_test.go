//go:build cgo

package pkcs11_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/meter"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/typea"
)

// tapRefs are the two masters one Type A tap diversifies (the read key's
// enc and mac halves).
func tapRefs(version int) []keys.KeyRef {
	return []keys.KeyRef{{Name: "typea-auth-enc", Version: version}, {Name: "typea-auth-mac", Version: version}}
}

// BenchmarkDiversifyPerTap: the card keys of one tap (K_enc and K_mac of
// the read key, AES-128 masters) from the file provider (keys.Store, in
// memory) and from SoftHSM2 (two CMAC C_SignInit/C_Sign pairs inside the
// token), in the same run; serial and with 4 goroutines over a 4-session
// pool. Each op is one tap: a fresh random CUID, two keys.
//
//	scripts/test.sh -- go test -run '^$' -bench DiversifyPerTap -benchmem ./keys/pkcs11
func BenchmarkDiversifyPerTap(b *testing.B) {
	st := keystest.Store(1)
	hsm := openHSM(b, 4)
	importStore(b, hsm, st, masterNames()...)
	aid := profile.DefaultAID(profile.TypeA)
	for _, p := range []struct {
		name    string
		p       keys.Provider
		version int
	}{{"file", st, 1}, {"softhsm2", hsm, 1}, {"softhsm2-latest", hsm, 0}} {
		tap := func(ctx context.Context, cuid []byte) error {
			for _, ref := range tapRefs(p.version) {
				k, err := p.p.Diversify(ctx, ref, cuid, aid)
				if err != nil {
					return err
				}
				k.Zero()
			}
			return nil
		}
		b.Run(p.name+"/serial", func(b *testing.B) {
			ctx := context.Background()
			cuid := make([]byte, 16)
			b.ReportAllocs()
			for b.Loop() {
				_, _ = rand.Read(cuid)
				if err := tap(ctx, cuid); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(p.name+"/parallel4", func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(2) // 2 × GOMAXPROCS(2) = 4 goroutines
			b.RunParallel(func(pb *testing.PB) {
				cuid := make([]byte, 16)
				for pb.Next() {
					_, _ = rand.Read(cuid)
					if err := tap(ctx, cuid); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkTypeAReadHSM is typea's BenchmarkReadTransaction (AES-128, no
// password) with the keys from the file provider and from SoftHSM2, in
// process against the mock card and through pcscd (mock card -> vpcd ->
// pcscd -> reader).
//
//	scripts/test.sh -- go test -run '^$' -bench TypeAReadHSM -benchmem ./keys/pkcs11
func BenchmarkTypeAReadHSM(b *testing.B) {
	st := keystest.Store(1)
	hsm := openHSM(b, 0)
	importStore(b, hsm, st, masterNames()...)
	id := profile.Identity{UserID: "BENCH-0001", Attributes: []profile.Attribute{{Name: "role", Value: "staff"}}}
	ctx := context.Background()
	for _, p := range []struct {
		name string
		p    keys.Provider
	}{{"file", st}, {"softhsm2", hsm}} {
		cfg := typea.Config{Keys: p.p, Password: profile.PasswordNone}
		b.Run("mock/"+p.name, func(b *testing.B) {
			card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st}}))
			m := &meter.Meter{Next: card}
			meter.Run(b, m, func() error {
				_, err := typea.Read(ctx, m, cfg, nil)
				return err
			})
		})
		b.Run("pcsc/"+p.name, func(b *testing.B) {
			slot := pcsctest.Acquire(b)
			card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st}}))
			slot.Attach(b, card)
			rc := pcsctest.NewContext(b)
			cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer cd.Close()
			m := &meter.Meter{Next: cd}
			meter.Run(b, m, func() error {
				_, err := typea.Read(ctx, m, cfg, nil)
				return err
			})
		})
	}
}
