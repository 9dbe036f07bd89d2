package keys

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStoreWriteFileRoundTrip: a Store written with WriteFile loads back
// equal with LoadFile, the file is 0600, an existing file is replaced, no
// temporary file is left, and a name that JSON would need to escape is
// refused.
func TestStoreWriteFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := NewStore()
	for _, e := range []struct {
		ref KeyRef
		alg Algorithm
		hex string
	}{
		{KeyRef{"typea-auth-enc", 1}, AES, "404142434445464748494A4B4C4D4E4F"},
		{KeyRef{"typea-auth-enc", 2}, AES, "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F"},
		{KeyRef{"typed-auth-mac", 1}, TDES, "0123456789ABCDEFFEDCBA9876543210"},
	} {
		k, err := NewKey(e.alg, h(e.hex))
		require.NoError(t, err)
		require.NoError(t, st.Add(e.ref, k))
	}
	assert.Equal(t, []KeyRef{{"typea-auth-enc", 1}, {"typea-auth-enc", 2}, {"typed-auth-mac", 1}}, st.Refs())
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
	require.NoError(t, st.WriteFile(path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	back, err := LoadFile(path)
	require.NoError(t, err)
	assert.Equal(t, st.Refs(), back.Refs())
	for _, ref := range st.Refs() {
		a, _ := st.Key(ctx, ref)
		b, _ := back.Key(ctx, ref)
		assert.Equal(t, a.Bytes(), b.Bytes(), ref.String())
		assert.Equal(t, a.Algorithm(), b.Algorithm())
	}
	ents, _ := os.ReadDir(dir)
	assert.Len(t, ents, 1, "no temporary file left")

	bad := NewStore()
	k, _ := NewKey(AES, make([]byte, 16))
	require.NoError(t, bad.Add(KeyRef{`a"b`, 1}, k))
	assert.ErrorIs(t, bad.WriteFile(filepath.Join(dir, "bad.json")), ErrInvalidKey)
}
