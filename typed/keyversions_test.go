package typed_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/typed"
)

// listingProvider is a key provider that lists versions the way
// keys.Env does (KeyVersions with a context), not as keys.Store does.
type listingProvider struct {
	keys.Provider
	versions func(name string) []int
}

func (p listingProvider) KeyVersions(ctx context.Context, name string) ([]int, error) {
	return p.versions(name), ctx.Err()
}

// TestLatestDataKeyFromKeyVersions: a provider that lists its versions
// with KeyVersions (keys.Env, a PKCS#11 token) gives writes the latest
// data key version without Config.DataKeyVersion, so `cardap typed write
// --keys env:` needs no version flag.
func TestLatestDataKeyFromKeyVersions(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(2)
	card := newCard(t, st)
	p := listingProvider{Provider: st, versions: func(name string) []int { return slices.Clone(st.Versions(name)) }}
	ap, err := typed.Open(ctx, card, typed.Config{Keys: p}, nil)
	require.NoError(t, err)
	require.NoError(t, ap.Write(ctx, content("A", 10), typed.WriteOptions{}))
	got, err := ap.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, uint32(2), got.Header.KeyVersion, "the latest version the provider lists")
}
