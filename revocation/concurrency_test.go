package revocation

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentChecksSyncsAndStops runs checks while updates, background
// merges and local stops happen; run it with -race. Each check must see a
// consistent list: a key that is revoked in every sequence is always found.
func TestConcurrentChecksSyncsAndStops(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(21, 22))
	ups := randomUpdates(r, 400, 12)
	always := CUIDKey(randCUID(r))
	for _, u := range ups {
		u.Add = append(u.Add, Record{Key: always, RevokedAt: 5, Reason: ReasonLost})
		if !u.Full {
			u.Add = u.Add[:len(u.Add)-1] // present from the full list on
		}
		require.NoError(t, u.normalize("t"))
	}
	s := mustOpen(t, t.TempDir(), Options{CompactAfter: 100})
	require.NoError(t, s.Apply(ctx, ups[0]))

	var stop atomic.Bool
	var wg sync.WaitGroup
	var checks atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(w), 1))
			for !stop.Load() {
				res, err := s.Check(always)
				assert.NoError(t, err)
				assert.True(t, res.Revoked)
				_, _ = s.Check(randKey(rr))
				checks.Add(1)
			}
		}()
	}
	stopped := make([]Key, 0, 50)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rr := rand.New(rand.NewPCG(99, 1))
		for range 50 {
			k := CUIDKey(randCUID(rr))
			assert.NoError(t, s.Stop(ctx, k, StopOptions{Reason: ReasonStolen, By: "desk", Why: "urgent"}))
			res, err := s.Check(k)
			assert.NoError(t, err)
			assert.True(t, res.Revoked, "a stop is visible at once")
			stopped = append(stopped, k)
		}
	}()
	for _, u := range ups[1:] {
		require.NoError(t, s.Apply(ctx, u))
	}
	for checks.Load() < 1000 {
		res, err := s.Check(always)
		require.NoError(t, err)
		require.True(t, res.Revoked)
	}
	stop.Store(true)
	wg.Wait()
	assert.Len(t, s.Stops(), 50)
	assert.Equal(t, ups[len(ups)-1].Seq, s.Snapshot().Seq())
}
