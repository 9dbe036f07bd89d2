package typea_test

import (
	"context"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/meter"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/mynacard/freespace/typea"
)

// BenchmarkReadTransaction is the full Type A transaction of
// docs/PROTOCOL.md §6.5 (SELECT with the CUID in the FCI, GET CHALLENGE,
// MUTUAL AUTHENTICATE, protected READ RECORD 1) against the in-process
// mock card, key diversification included, for each cipher suite.
// host-µs/op and host-cpu-µs/op exclude the time spent inside the mock
// card (its own mutual authentication and secure messaging).
func BenchmarkReadTransaction(b *testing.B) {
	for _, tc := range []struct {
		suite secure.Suite
		store *keys.Store
	}{
		{secure.AES128, keystest.Store(1)},
		{secure.TDES, keystest.StoreTDES()},
	} {
		b.Run(tc.suite.Name(), func(b *testing.B) {
			id := profile.Identity{UserID: "BENCH-0001", Attributes: []profile.Attribute{{Name: "role", Value: "staff"}}}
			card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: tc.store, Suite: tc.suite.Name()}}))
			cfg := typea.Config{Keys: tc.store, Suite: tc.suite, Password: profile.PasswordNone}
			m := &meter.Meter{Next: card}
			ctx := context.Background()
			meter.Run(b, m, func() error {
				_, err := typea.Read(ctx, m, cfg, nil)
				return err
			})
		})
	}
}
