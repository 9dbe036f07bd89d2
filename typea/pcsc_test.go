//go:build cgo || windows

package typea_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/meter"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/typea"
)

// TestThroughPCSC runs the Type A flows over mock card -> vpcd -> a real
// pcscd -> reader: the 4-APDU read, the password (status, wrong try,
// verify) and a write under the update key.
func TestThroughPCSC(t *testing.T) {
	slot := pcsctest.Acquire(t)
	st := keystest.Store(1)
	id := testID
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st},
		Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
	slot.Attach(t, card)
	ctx := context.Background()
	rc := pcsctest.NewContext(t)
	cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cd.Close() })

	m := &meter.Meter{Next: cd}
	res, err := typea.Read(ctx, m, typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, profile.Password("1234"))
	require.NoError(t, err)
	assert.Equal(t, "U-0001", res.Identity.UserID)
	assert.Equal(t, 6, m.APDUs, "4 APDUs + password status and VERIFY")

	a, err := typea.OpenUnauthenticated(ctx, cd, typea.Config{Password: profile.PasswordAfterAuth, Keys: st})
	require.NoError(t, err)
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	var pe *profile.PasswordError
	require.ErrorAs(t, a.Verify(ctx, profile.Password("0000"), typea.VerifyOptions{}), &pe)
	assert.Equal(t, 2, pe.Remaining)
	require.NoError(t, a.Verify(ctx, profile.Password("1234"), typea.VerifyOptions{}))
	got, err := a.ReadAll(ctx)
	require.NoError(t, err)
	assert.Equal(t, testID, got)
	nid := profile.Identity{UserID: "U-PCSC"}
	require.NoError(t, a.WriteIdentity(ctx, nid))
	res, err = typea.Read(ctx, cd, typea.Config{Password: profile.PasswordAfterAuth, Keys: st}, profile.Password("1234"))
	require.NoError(t, err)
	assert.Equal(t, "U-PCSC", res.Identity.UserID)
}

// BenchmarkReadTransactionPCSC is BenchmarkReadTransaction through pcscd
// (no password): 4 APDUs per transaction.
func BenchmarkReadTransactionPCSC(b *testing.B) {
	slot := pcsctest.Acquire(b)
	st := keystest.Store(1)
	id := profile.Identity{UserID: "BENCH-0001"}
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st}}))
	slot.Attach(b, card)
	ctx := context.Background()
	rc := pcsctest.NewContext(b)
	cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer cd.Close()
	m := &meter.Meter{Next: cd}
	cfg := typea.Config{Keys: st, Password: profile.PasswordNone}
	meter.Run(b, m, func() error {
		_, err := typea.Read(ctx, m, cfg, nil)
		return err
	})
}
