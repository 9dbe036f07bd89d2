package keystest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
)

var names = []string{
	"typea-auth-enc", "typea-auth-mac", "typea-update-enc", "typea-update-mac", "typea-admin-enc", "typea-admin-mac",
	"typed-auth-enc", "typed-auth-mac", "typed-update-enc", "typed-update-mac", "typed-admin-enc", "typed-admin-mac",
}

// TestStoreDeterministic: two stores (as two processes would make) hold the
// same keys, every default name is there, and the data key versions are
// the ones asked for.
func TestStoreDeterministic(t *testing.T) {
	ctx := context.Background()
	a, b := keystest.Store(2), keystest.Store(2)
	for _, n := range names {
		ka, err := a.Key(ctx, keys.KeyRef{Name: n, Version: 1})
		require.NoError(t, err, n)
		kb, err := b.Key(ctx, keys.KeyRef{Name: n, Version: 1})
		require.NoError(t, err, n)
		assert.Equal(t, ka.Bytes(), kb.Bytes(), n)
		assert.Equal(t, keys.AES, ka.Algorithm(), n)
		assert.Equal(t, 16, ka.Len(), n)
	}
	assert.Equal(t, []int{1, 2}, a.Versions("typed-data"))
	d1, err := a.Key(ctx, keys.KeyRef{Name: "typed-data", Version: 1})
	require.NoError(t, err)
	d2, err := a.Key(ctx, keys.KeyRef{Name: "typed-data", Version: 2})
	require.NoError(t, err)
	assert.NotEqual(t, d1.Bytes(), d2.Bytes())
	assert.Equal(t, 32, d1.Len())
}

func TestStoreTDES(t *testing.T) {
	s := keystest.StoreTDES()
	k, err := s.Key(context.Background(), keys.KeyRef{Name: "typea-auth-enc", Version: 1})
	require.NoError(t, err)
	assert.Equal(t, keys.TDES, k.Algorithm())
	a, err := keystest.Store(0).Key(context.Background(), keys.KeyRef{Name: "typea-auth-enc", Version: 1})
	require.NoError(t, err)
	assert.NotEqual(t, a.Bytes(), k.Bytes(), "the 3DES set is its own")
}

// TestWriteFileLoads: the key file holds the same keys as Store and is
// created 0600, so keys.LoadFile accepts it.
func TestWriteFileLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, keystest.WriteFile(path, 1))
	got, err := keys.LoadFile(path)
	require.NoError(t, err)
	want := keystest.Store(1)
	for _, n := range append(names, "typed-data") {
		k1, err := got.Key(context.Background(), keys.KeyRef{Name: n, Version: 1})
		require.NoError(t, err, n)
		k2, err := want.Key(context.Background(), keys.KeyRef{Name: n, Version: 1})
		require.NoError(t, err, n)
		assert.Equal(t, k2.Bytes(), k1.Bytes(), n)
	}
}

// An operator key store for a test or a mock card: the same keys in every
// run, known to everyone, so never for real cards.
func ExampleStore() {
	operatorKeys := keystest.Store(1) // in production: keys.LoadFile(path)
	fmt.Println(operatorKeys.Versions("typea-auth-enc"), operatorKeys.Versions("typed-data"))
	// Output: [1] [1]
}
