package cardap_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/sealedcard"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/securefile"
	"github.com/mynacard/freespace/typed"
)

// typeDClient is a client for the Type D AP with the test keys, a
// generation memory mem (nil: none) and cfg's typed options.
func typeDClient(t *testing.T, mem *cardap.GenerationMemory, cfg typed.Config, log *slog.Logger) *cardap.Client {
	t.Helper()
	cfg.Keys = keystest.Store(1)
	cfg.Logger = log
	c, err := cardap.New(cardap.Config{NoRevocation: true,
		APs: []cardap.AP{cardap.TypeD(cardap.TypeDConfig{Config: cfg, Generations: mem})}})
	require.NoError(t, err)
	return c
}

// rewrite writes a new generation of the card's Type D data as the
// operator's service terminal does.
func rewrite(t *testing.T, card *mockcard.Card, user string) {
	t.Helper()
	ctx := context.Background()
	ap, err := typed.Open(ctx, card, typed.Config{Keys: keystest.Store(1)}, nil)
	require.NoError(t, err)
	defer ap.Close()
	require.NoError(t, ap.Write(ctx, typed.Content{Identity: profile.Identity{UserID: user}}, typed.WriteOptions{}))
}

func efImage(t *testing.T, card *mockcard.Card) []byte {
	t.Helper()
	b, err := card.ReadEF(profile.DefaultAID(profile.TypeD), profile.FIDData)
	require.NoError(t, err)
	return b
}

// TestGenerationMemoryRefusesRollback is issue 10 §6: a card that showed
// generation N to this terminal and later presents an older, wholly
// authentic image of its EF (an emulator restoring older rights) is
// refused with ReasonRollback, also by a new Client (and a new process)
// on the same state directory.
func TestGenerationMemoryRefusesRollback(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	card := sealedcard.TypeD(t, profile.Identity{UserID: "RIGHTS-1"}, "") // generation 1
	old := efImage(t, card)
	rewrite(t, card, "RIGHTS-2") // generation 2

	mem, err := cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{})
	require.NoError(t, err)
	id, err := typeDClient(t, mem, typed.Config{}, nil).Identify(ctx, card)
	require.NoError(t, err)
	assert.Equal(t, "RIGHTS-2", id.UserID)
	g, ok := mem.Highest(id.CUID)
	assert.True(t, ok)
	assert.Equal(t, uint32(2), g)
	require.NoError(t, mem.Close())

	// The card goes back to generation 1; a new client on the same dir.
	require.NoError(t, card.WriteEF(profile.DefaultAID(profile.TypeD), profile.FIDData, old))
	mem2, err := cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{})
	require.NoError(t, err)
	defer mem2.Close()
	_, err = typeDClient(t, mem2, typed.Config{}, nil).Identify(ctx, card)
	require.Error(t, err)
	assert.Equal(t, cardap.ReasonRollback, cardap.ReasonOf(err), "%v", err)
	assert.ErrorIs(t, err, cardap.ErrRollback)
	var re *cardap.RollbackError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, uint32(2), re.Seen)
	assert.Equal(t, uint32(1), re.Got)
	assert.Equal(t, id.CUID, re.CUID)

	// Without a memory the same card is accepted (nothing remembered):
	// the memory is what refuses.
	id, err = typeDClient(t, nil, typed.Config{}, nil).Identify(ctx, card)
	require.NoError(t, err)
	assert.Equal(t, "RIGHTS-1", id.UserID)

	// Newer generations keep being accepted and recorded.
	rewrite(t, card, "RIGHTS-3") // generation 2 again on the restored image
	rewrite(t, card, "RIGHTS-4") // generation 3
	id, err = typeDClient(t, mem2, typed.Config{}, nil).Identify(ctx, card)
	require.NoError(t, err)
	assert.Equal(t, "RIGHTS-4", id.UserID)
	g, _ = mem2.Highest(id.CUID)
	assert.Equal(t, uint32(3), g)
}

// TestTypeDFallbackLoggedOrRefused: a damaged newest slot is logged by
// the client (which slot, which generation, why) and, with RequireNewest,
// refused with ReasonRollback.
func TestTypeDFallbackLoggedOrRefused(t *testing.T) {
	ctx := context.Background()
	card := sealedcard.TypeD(t, profile.Identity{UserID: "OLD"}, "")
	rewrite(t, card, "NEW") // generation 2, in slot 1
	ef := efImage(t, card)
	ef[2048+typed.HeaderLen] ^= 0x01
	require.NoError(t, card.WriteEF(profile.DefaultAID(profile.TypeD), profile.FIDData, ef))

	var logs bytes.Buffer
	id, err := typeDClient(t, nil, typed.Config{}, slog.New(slog.NewTextHandler(&logs, nil))).Identify(ctx, card)
	require.NoError(t, err)
	assert.Equal(t, "OLD", id.UserID)
	assert.Contains(t, logs.String(), "fell back to the older slot")
	assert.Contains(t, logs.String(), "skipped_slot=1")
	assert.Contains(t, logs.String(), "skipped_generation=2")

	_, err = typeDClient(t, nil, typed.Config{RequireNewest: true}, nil).Identify(ctx, card)
	require.Error(t, err)
	assert.Equal(t, cardap.ReasonRollback, cardap.ReasonOf(err), "%v", err)
	assert.ErrorIs(t, err, typed.ErrFallback)
}

// TestGenerationMemoryBound: the memory keeps at most MaxCards cards
// (forgetting the one seen longest ago) and its file never exceeds
// GenerationFileMax; a reopened memory has the same content.
func TestGenerationMemoryBound(t *testing.T) {
	dir := t.TempDir()
	const maxCards = 3
	mem, err := cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{MaxCards: maxCards})
	require.NoError(t, err)
	cuid := func(i int) profile.CUID { return profile.CUID{0xCA, byte(i)} }
	path := filepath.Join(dir, cardap.GenerationFile)
	for round := uint32(1); round <= 5; round++ {
		for i := range 10 {
			require.NoError(t, mem.Observe(cuid(i), round))
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.LessOrEqual(t, fi.Size(), cardap.GenerationFileMax(maxCards))
		}
	}
	for i := range 7 {
		_, ok := mem.Highest(cuid(i))
		assert.False(t, ok, "card %d forgotten", i)
	}
	for i := 7; i < 10; i++ {
		g, ok := mem.Highest(cuid(i))
		assert.True(t, ok)
		assert.Equal(t, uint32(5), g)
	}
	// A generation seen again is not written twice.
	before, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, mem.Observe(cuid(9), 5))
	after, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, before.Size(), after.Size())
	require.NoError(t, mem.Close())

	mem, err = cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{MaxCards: maxCards})
	require.NoError(t, err)
	defer mem.Close()
	for i := 7; i < 10; i++ {
		g, ok := mem.Highest(cuid(i))
		assert.True(t, ok)
		assert.Equal(t, uint32(5), g)
		assert.ErrorIs(t, mem.Observe(cuid(i), 4), cardap.ErrRollback)
	}
	_, ok := mem.Highest(cuid(0))
	assert.False(t, ok)
}

// TestGenerationMemoryFile: a torn last record (a crash mid-append) is
// ignored; a damaged record before others refuses to open (the memory
// never silently forgets); an insecure directory, a symlinked state file
// and a second opener are refused.
func TestGenerationMemoryFile(t *testing.T) {
	c1, c2 := profile.CUID{1}, profile.CUID{2}
	setup := func(t *testing.T) (string, string) {
		dir := t.TempDir()
		mem, err := cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{})
		require.NoError(t, err)
		require.NoError(t, mem.Observe(c1, 7))
		require.NoError(t, mem.Observe(c2, 9))
		require.NoError(t, mem.Close())
		return dir, filepath.Join(dir, cardap.GenerationFile)
	}
	t.Run("torn last record", func(t *testing.T) {
		dir, path := setup(t)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, err = f.Write([]byte{3, 3, 3, 3, 3})
		require.NoError(t, err)
		require.NoError(t, f.Close())
		mem, err := cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{})
		require.NoError(t, err)
		defer mem.Close()
		g, _ := mem.Highest(c2)
		assert.Equal(t, uint32(9), g)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, int64(8+2*24), fi.Size(), "compacted without the torn bytes")
	})
	t.Run("damaged record", func(t *testing.T) {
		dir, path := setup(t)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		b[8+16+3] ^= 0x01 // the first record's generation
		require.NoError(t, os.WriteFile(path, b, 0o600))
		_, err = cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{})
		assert.ErrorIs(t, err, cardap.ErrGenerationState)
	})
	t.Run("not a memory file", func(t *testing.T) {
		dir, path := setup(t)
		require.NoError(t, os.WriteFile(path, []byte("something else entirely"), 0o600))
		_, err := cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{})
		assert.ErrorIs(t, err, cardap.ErrGenerationState)
	})
	t.Run("world-writable directory", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o777))
		_, err := cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{})
		var se *securefile.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, securefile.WorldWritable, se.Problem)
	})
	t.Run("symlinked state file", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(t.TempDir(), "elsewhere")
		require.NoError(t, os.WriteFile(target, nil, 0o600))
		require.NoError(t, os.Symlink(target, filepath.Join(dir, cardap.GenerationFile)))
		_, err := cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{})
		var se *securefile.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, securefile.Symlink, se.Problem)
	})
	t.Run("second opener", func(t *testing.T) {
		dir, _ := setup(t)
		mem, err := cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{})
		require.NoError(t, err)
		defer mem.Close()
		_, err = cardap.OpenGenerationMemory(dir, cardap.GenerationMemoryOptions{})
		assert.ErrorIs(t, err, cardap.ErrGenerationState)
	})
	t.Run("bad MaxCards", func(t *testing.T) {
		_, err := cardap.OpenGenerationMemory(t.TempDir(), cardap.GenerationMemoryOptions{MaxCards: -1})
		assert.True(t, errors.Is(err, cardap.ErrConfig))
	})
}

// TestTypeDForgedDataKeyIsMalformed: an envelope under a key the terminal
// does not accept (here a retired data key version) is refused with
// ReasonMalformed, and the *typed.DataKeyError stays reachable; a rollback
// has its own stable reason name.
func TestTypeDForgedDataKeyIsMalformed(t *testing.T) {
	ctx := context.Background()
	card := sealedcard.TypeD(t, profile.Identity{UserID: "V1"}, "") // data key v1
	st := keystest.Store(2)
	c, err := cardap.New(cardap.Config{NoRevocation: true, APs: []cardap.AP{cardap.TypeD(cardap.TypeDConfig{
		Config: typed.Config{Keys: st, MinDataKeyVersion: 2}})}})
	require.NoError(t, err)
	_, err = c.Identify(ctx, card)
	require.Error(t, err)
	assert.Equal(t, cardap.ReasonMalformed, cardap.ReasonOf(err), "%v", err)
	var dk *typed.DataKeyError
	require.ErrorAs(t, err, &dk)
	assert.Equal(t, uint32(1), dk.Version)
	assert.Equal(t, typed.RetiredVersion, dk.Problem)

	assert.Equal(t, "rollback", cardap.ReasonRollback.String())
	assert.ErrorIs(t, &cardap.Error{Reason: cardap.ReasonRollback}, cardap.ErrRollback)
}

// BenchmarkGenerationMemoryObserve: a generation seen before costs a map
// lookup; a new one an append and an fsync of the state file.
func BenchmarkGenerationMemoryObserve(b *testing.B) {
	for _, tt := range []struct {
		name string
		next func(i int) uint32
	}{{"seen", func(int) uint32 { return 1 }}, {"new-fsync", func(i int) uint32 { return uint32(i + 1) }}} {
		b.Run(tt.name, func(b *testing.B) {
			mem, err := cardap.OpenGenerationMemory(b.TempDir(), cardap.GenerationMemoryOptions{})
			require.NoError(b, err)
			defer mem.Close()
			c := profile.CUID{7}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := mem.Observe(c, tt.next(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
