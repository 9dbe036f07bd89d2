//go:build cgo

package pkcs11_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/internal/testsupport/pkcs11test"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/keys/pkcs11"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// TestEndToEndThroughPCSC: with the operator's masters only in SoftHSM2
// (the terminal's keys.Provider is the token), a Type A read and a Type D
// write and read-back go over mock card -> vpcd -> a real pcscd ->
// reader. The mock card holds keys diversified from the same masters by
// the file provider, so success means the token diversified exactly as
// §5.1 says.
func TestEndToEndThroughPCSC(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	hsm := openHSM(t, 0)
	importStore(t, hsm, st, masterNames()...)

	t.Run("TypeA read", func(t *testing.T) {
		slot := pcsctest.Acquire(t)
		id := profile.Identity{UserID: "U-HSM-0001"}
		card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st},
			Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
		slot.Attach(t, card)
		rc := pcsctest.NewContext(t)
		cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = cd.Close() })
		res, err := typea.Read(ctx, cd, typea.Config{Password: profile.PasswordAfterAuth, Keys: hsm}, profile.Password("1234"))
		require.NoError(t, err)
		assert.Equal(t, "U-HSM-0001", res.Identity.UserID)
	})

	t.Run("TypeD write", func(t *testing.T) {
		slot := pcsctest.Acquire(t)
		card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}}))
		slot.Attach(t, card)
		rc := pcsctest.NewContext(t)
		cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = cd.Close() })
		ap, err := typed.Open(ctx, cd, typed.Config{Keys: hsm}, nil)
		require.NoError(t, err)
		c := typed.Content{Identity: profile.Identity{UserID: "U-HSM-D"}, Data: []byte("written with masters in the token")}
		require.NoError(t, ap.Write(ctx, c, typed.WriteOptions{}))
		// Read back with the file provider: the envelope's data key came
		// from the token and equals the file provider's.
		ap, err = typed.Open(ctx, cd, typed.Config{Keys: st}, nil)
		require.NoError(t, err)
		got, err := ap.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, c, got.Content)
	})
}

// openHSM opens the process's token as a keys/pkcs11 Provider with the given
// session pool size (0: the default), closed when the test ends.
func openHSM(t testing.TB, sessions int) *pkcs11.Provider {
	t.Helper()
	tok := pkcs11test.Get(t)
	p, err := pkcs11.Open(context.Background(), pkcs11.Config{ModulePath: tok.Module, Token: tok.Label, PIN: []byte(tok.PIN), Sessions: sessions})
	if err != nil {
		t.Fatalf("open the token: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// importStore imports every version of the named master keys of st into
// the token (non-extractable), skipping those already there (tests of one
// process share the token; the keys of keystest are deterministic).
func importStore(t testing.TB, p *pkcs11.Provider, st *keys.Store, names ...string) {
	t.Helper()
	ctx := context.Background()
	for _, n := range names {
		for _, v := range st.Versions(n) {
			ref := keys.KeyRef{Name: n, Version: v}
			k, err := st.Key(ctx, ref)
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			err = p.Import(ctx, ref, k)
			k.Zero()
			if err != nil && !errors.Is(err, pkcs11.ErrObjectExists) {
				t.Fatalf("import %s: %v", ref, err)
			}
		}
	}
}

// masterNames are the master keys of keystest.Store: every default Type A
// and Type D key, and the Type D data key.
func masterNames() []string {
	return []string{
		"typea-auth-enc", "typea-auth-mac", "typea-update-enc", "typea-update-mac", "typea-admin-enc", "typea-admin-mac",
		"typed-auth-enc", "typed-auth-mac", "typed-update-enc", "typed-update-mac", "typed-admin-enc", "typed-admin-mac",
		"typed-data",
	}
}
