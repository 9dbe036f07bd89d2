package typed_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typed"
)

// TestFallbackReported is issue 10 §6: damaging one byte of the newest
// slot made the reader return the previous generation with no error and
// no flag. The read now reports the fallback (which slot, the generation
// its header claims, why it was skipped), and with RequireNewest refuses.
func TestFallbackReported(t *testing.T) {
	ctx := context.Background()
	aid := profile.DefaultAID(profile.TypeD)
	tests := []struct {
		name    string
		damage  func(ef []byte) // slot 1 holds generation 2
		gen     uint32
		errIs   error
		require bool
	}{
		{"one ciphertext byte", func(ef []byte) { ef[2048+typed.HeaderLen+3] ^= 0x01 }, 2, typed.ErrAuthentication, false},
		{"one tag byte", func(ef []byte) { ef[2048+typed.HeaderLen+30+typed.TagLen-1] ^= 0x80 }, 2, typed.ErrAuthentication, false},
		{"the generation lowered to the older one's", func(ef []byte) { ef[2048+27] = 1 }, 1, profile.ErrMalformed, false},
		{"the envelope magic", func(ef []byte) { ef[2048] = 'X' }, 0, profile.ErrMalformed, false},
		{"the format byte", func(ef []byte) { ef[2048+2] = 0x7F }, 0, profile.ErrMalformed, false},
		{"one ciphertext byte, RequireNewest", func(ef []byte) { ef[2048+typed.HeaderLen+3] ^= 0x01 }, 2, typed.ErrAuthentication, true},
		{"the envelope magic, RequireNewest", func(ef []byte) { ef[2048+1] = 0 }, 0, profile.ErrMalformed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := keystest.Store(1)
			card := newCard(t, st)
			cfg := typed.Config{Keys: st, Rand: newSeeded(2), RequireNewest: tt.require}
			ap, err := typed.Open(ctx, card, cfg, nil)
			require.NoError(t, err)
			require.NoError(t, ap.Write(ctx, content("Older", 30), typed.WriteOptions{}))
			require.NoError(t, ap.Write(ctx, content("Newer", 30), typed.WriteOptions{}))
			got, err := ap.Read(ctx)
			require.NoError(t, err)
			require.Equal(t, "Newer", got.Identity.UserID)
			require.Equal(t, 1, got.Slot)
			require.Nil(t, got.Fallback, "both slots authentic: no fallback")

			ef, err := card.ReadEF(aid, profile.FIDData)
			require.NoError(t, err)
			tt.damage(ef)
			require.NoError(t, card.WriteEF(aid, profile.FIDData, ef))

			got, err = ap.Read(ctx)
			if tt.require {
				require.ErrorIs(t, err, typed.ErrFallback)
				var fe *typed.FallbackError
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, 1, fe.Slot)
				assert.Equal(t, tt.gen, fe.Generation)
				assert.Equal(t, uint32(1), fe.Older)
				assert.ErrorIs(t, err, tt.errIs)
				assert.Empty(t, got.Identity.UserID, "nothing returned")
			} else {
				require.NoError(t, err)
				assert.Equal(t, "Older", got.Identity.UserID)
				assert.Equal(t, 0, got.Slot)
				assert.Equal(t, uint32(1), got.Header.Generation)
				require.NotNil(t, got.Fallback, "the fallback is reported")
				assert.Equal(t, 1, got.Fallback.Slot)
				assert.Equal(t, tt.gen, got.Fallback.Generation)
				assert.ErrorIs(t, got.Fallback.Err, tt.errIs)
			}

			// A write is the repair: it replaces the damaged slot, and
			// the next read reports no fallback.
			require.NoError(t, ap.Write(ctx, content("Repair", 30), typed.WriteOptions{}))
			got, err = ap.Read(ctx)
			require.NoError(t, err)
			assert.Equal(t, "Repair", got.Identity.UserID)
			assert.Nil(t, got.Fallback)
		})
	}
}

// TestNoFallbackOnBlankOrOlderSlot: a blank other slot (first write) or
// an older authentic one is the normal state, never reported.
func TestNoFallbackOnBlankOrOlderSlot(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(t, st)
	ap, err := typed.Open(ctx, card, typed.Config{Keys: st, RequireNewest: true}, nil)
	require.NoError(t, err)
	for i, user := range []string{"One", "Two", "Three"} {
		require.NoError(t, ap.Write(ctx, content(user, 10), typed.WriteOptions{}))
		got, err := ap.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, user, got.Identity.UserID)
		assert.Equal(t, uint32(i+1), got.Header.Generation)
		assert.Nil(t, got.Fallback)
	}
	// A damaged older slot is not a fallback: the newest was read.
	aid := profile.DefaultAID(profile.TypeD)
	ef, err := card.ReadEF(aid, profile.FIDData)
	require.NoError(t, err)
	ef[2048+typed.HeaderLen] ^= 1 // slot 1 holds generation 2
	require.NoError(t, card.WriteEF(aid, profile.FIDData, ef))
	got, err := ap.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Three", got.Identity.UserID)
	assert.Nil(t, got.Fallback)
}
