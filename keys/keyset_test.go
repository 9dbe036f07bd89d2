package keys

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// minimalProvider is a Provider that cannot list versions.
type minimalProvider struct{ Provider }

func TestKeyVersionsAndSets(t *testing.T) {
	ctx := context.Background()
	k, err := NewKey(AES, make([]byte, 16))
	require.NoError(t, err)
	s := NewStore()
	for _, r := range []KeyRef{{"a-enc", 1}, {"a-mac", 1}, {"a-enc", 2}, {"a-mac", 3}, {"a-enc", 3}} {
		require.NoError(t, s.Add(r, k))
	}
	env := Env{Environ: func() []string {
		return []string{"FREESPACE_KEY_A_ENC_V1=aes:00000000000000000000000000000000", "FREESPACE_KEY_A_MAC_V1=aes:00000000000000000000000000000000",
			"FREESPACE_KEY_A_ENC_V2=aes:00000000000000000000000000000000", "FREESPACE_KEY_A_ENC_V3=aes:00000000000000000000000000000000",
			"FREESPACE_KEY_A_MAC_V3=aes:00000000000000000000000000000000", "FREESPACE_KEY_A_ENC_X_V9=aes:00000000000000000000000000000000"}
	}}
	for name, p := range map[string]Provider{"store": s, "env": env} {
		t.Run(name, func(t *testing.T) {
			vs, err := p.(VersionLister).KeyVersions(ctx, "a-enc")
			require.NoError(t, err)
			assert.Equal(t, []int{1, 2, 3}, vs, "a longer name's variable is not a-enc's")
			vs, err = p.(VersionLister).KeyVersions(ctx, "none")
			require.NoError(t, err)
			assert.Empty(t, vs)

			names := []string{"a-enc", "a-mac"}
			st, err := CheckSet(ctx, p, names, 2)
			require.NoError(t, err)
			assert.Equal(t, []string{"a-enc"}, st.Present)
			assert.Equal(t, []string{"a-mac v2"}, st.Missing)
			assert.False(t, st.Complete())
			st, err = CheckSet(ctx, p, names, 3)
			require.NoError(t, err)
			assert.True(t, st.Complete())
			st, err = CheckSet(ctx, p, names, 4)
			require.NoError(t, err)
			assert.False(t, st.Complete())
			assert.Empty(t, st.Present)

			v, err := NewestCompleteSet(ctx, p, names)
			require.NoError(t, err)
			assert.Equal(t, 3, v, "2 is incomplete, 3 is the newest complete set")
			v, err = NewestCompleteSet(ctx, p, []string{"a-enc", "none"})
			require.NoError(t, err)
			assert.Zero(t, v)
		})
	}
	_, err = CheckSet(ctx, minimalProvider{s}, []string{"a-enc"}, 1)
	assert.ErrorIs(t, err, ErrNoVersionList)
	_, err = NewestCompleteSet(ctx, minimalProvider{s}, []string{"a-enc"})
	assert.ErrorIs(t, err, ErrNoVersionList)

	bad := Env{Environ: func() []string { return []string{"FREESPACE_KEY_A_ENC_V01=aes:00"} }}
	_, err = bad.KeyVersions(ctx, "a-enc")
	var ne *EnvNameError
	assert.ErrorAs(t, err, &ne)
}

func TestSetKeys(t *testing.T) {
	ks := []CardKey{
		{Ref: 1, Enc: KeyRef{Name: "x-auth-enc"}, Mac: KeyRef{Name: "x-auth-mac"}},
		{Ref: 2, Enc: KeyRef{Name: "x-auth-enc"}, Mac: KeyRef{Name: "x-upd-mac"}},
	}
	assert.Equal(t, []string{"x-auth-enc", "x-auth-mac", "x-upd-mac"}, SetKeys(ks))
}
