package revocation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventually polls cond until it holds or the deadline passes; the
// deadline is generous (a loaded CI machine), the poll fast.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, 5*time.Millisecond, what)
}

func revoked(t *testing.T, s *Store, k Key) bool {
	t.Helper()
	res, err := s.Check(k)
	return err == nil && res.Revoked
}

// TestTwoStoresSeeEachOther: two Stores on one directory (as a gate and
// the CLI in another process would have) see each other's stops,
// unstops, deltas, full lists and merges through the background refresh.
func TestTwoStoresSeeEachOther(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(31, 32))
	ups := randomUpdates(r, 300, 8)
	gate := mustOpen(t, dir, Options{CompactAfter: -1, RefreshInterval: 10 * time.Millisecond})
	cli := mustOpen(t, dir, Options{CompactAfter: -1, RefreshInterval: -1})

	k := CUIDKey(randCUID(r))
	require.NoError(t, cli.Stop(ctx, k, StopOptions{Reason: ReasonStolen, By: "desk", Why: "phoned"}))
	eventually(t, "the gate sees the CLI's stop", func() bool { return revoked(t, gate, k) })
	res, err := gate.Check(k)
	require.NoError(t, err)
	assert.Equal(t, "desk", res.Entry.By)
	assert.Equal(t, OriginLocalStop, res.Entry.Origin)

	// A stop made by the gate's process is refused by the CLI's store as
	// already made, since a writer first catches up with the directory.
	k2 := CUIDKey(randCUID(r))
	require.NoError(t, gate.Stop(ctx, k2, StopOptions{Reason: ReasonLost, By: "gate-admin"}))
	assert.ErrorIs(t, cli.Stop(ctx, k2, StopOptions{Reason: ReasonLost, By: "desk"}), ErrAlreadyStopped)
	require.NoError(t, cli.Unstop(ctx, k, UnstopOptions{By: "desk", Why: "card found"}))
	eventually(t, "the gate sees the unstop", func() bool { return !revoked(t, gate, k) })

	m := model{}
	for i, u := range ups {
		require.NoError(t, cli.Apply(ctx, u))
		m.apply(u)
		if i == 4 {
			require.NoError(t, cli.Compact(ctx))
		}
		want := u.Seq
		eventually(t, "the gate reaches the CLI's sequence", func() bool { return gate.Snapshot().Seq() == want })
		assertMatches(t, gate.Snapshot(), m, nil)
	}
	assert.Len(t, gate.Stops(), 1)

	// The other way round, with an explicit Refresh.
	next := &Update{Seq: ups[len(ups)-1].Seq + 1, Prev: ups[len(ups)-1].Seq, AsOf: testAsOf.Add(time.Hour), Add: []Record{{Key: k, RevokedAt: 1, Reason: ReasonLost}}}
	require.NoError(t, gate.Apply(ctx, next))
	require.NoError(t, cli.Refresh(ctx))
	assert.Equal(t, next.Seq, cli.Snapshot().Seq())
	assert.True(t, cli.Snapshot().Contains(k))
}

// TestConcurrentWritersDoNotInterleave: two Stores apply the same chain
// of updates and make stops at the same time; each update is applied
// once (the slower writer gets ErrReplay), no stop is lost, and the
// directory reopens to the model.
func TestConcurrentWritersDoNotInterleave(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ups, models := crashUpdates()
	a := mustOpen(t, dir, Options{CompactAfter: 150, RefreshInterval: -1})
	b := mustOpen(t, dir, Options{CompactAfter: 150, RefreshInterval: 5 * time.Millisecond})
	var wg sync.WaitGroup
	var mu sync.Mutex
	stopped := map[Key]bool{}
	for w, s := range []*Store{a, b} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for _, u := range ups {
				err := s.Apply(ctx, u)
				if err != nil && !errors.Is(err, ErrReplay) {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(w), 9))
			for range 20 {
				k := CUIDKey(randCUID(rr))
				if err := s.Stop(ctx, k, StopOptions{Reason: ReasonLost, By: fmt.Sprintf("op-%d", w)}); err != nil {
					t.Errorf("writer %d: stop: %v", w, err)
					return
				}
				mu.Lock()
				stopped[k] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, s := range []*Store{a, b} {
		require.NoError(t, s.Refresh(ctx))
		assert.Equal(t, uint64(len(ups)), s.Snapshot().Seq())
		assertMatches(t, s.Snapshot(), models[len(ups)-1], nil)
		assert.ElementsMatch(t, slices.Collect(maps.Keys(stopped)), keysOf(s.Stops()))
	}
	c := mustOpen(t, dir, Options{CompactAfter: -1, RefreshInterval: -1})
	assertMatches(t, c.Snapshot(), models[len(ups)-1], nil)
	assert.Len(t, c.Stops(), 40)
	audit, err := c.Audit()
	require.NoError(t, err)
	assert.Len(t, audit, 40, "every journal line intact")
}

// TestReadOnlyStore: a read-only open creates nothing, refuses writes, and
// follows a writer.
func TestReadOnlyStore(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	k := CUIDKey(randCUID(rand.New(rand.NewPCG(3, 3))))

	_, err := Open(dir, Options{ReadOnly: true, RefreshInterval: -1})
	assert.ErrorIs(t, err, ErrNoStore, "a missing store is an error")
	_, err = os.Stat(dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "a read-only open creates no directory")
	require.NoError(t, os.Mkdir(dir, 0o755))
	ro, err := Open(dir, Options{ReadOnly: true, RefreshInterval: 10 * time.Millisecond, Now: fixedNow(testAsOf.Add(time.Hour))})
	require.NoError(t, err)
	defer ro.Close()
	assert.Empty(t, dirListing(t, dir), "a read-only open creates no file")
	_, err = ro.Check(k)
	assert.ErrorIs(t, err, ErrStale, "an empty store fails closed")
	assert.ErrorIs(t, ro.Apply(ctx, &Update{Full: true, Seq: 1, AsOf: testAsOf}), ErrReadOnly)
	assert.ErrorIs(t, ro.Stop(ctx, k, StopOptions{Reason: ReasonLost, By: "op"}), ErrReadOnly)
	assert.ErrorIs(t, ro.Unstop(ctx, k, UnstopOptions{By: "op"}), ErrReadOnly)
	assert.ErrorIs(t, ro.Compact(ctx), ErrReadOnly)

	w := mustOpen(t, dir, Options{CompactAfter: -1, RefreshInterval: -1})
	require.NoError(t, w.Apply(ctx, &Update{Full: true, Seq: 1, AsOf: testAsOf}))
	require.NoError(t, w.Stop(ctx, k, StopOptions{Reason: ReasonStolen, By: "desk"}))
	eventually(t, "the read-only store follows the writer", func() bool { return revoked(t, ro, k) })
	res, err := ro.Check(CUIDKey(randCUID(rand.New(rand.NewPCG(4, 4)))))
	require.NoError(t, err)
	assert.True(t, res.Allowed)
	require.NoError(t, w.Close())

	// A read-only open of an existing store changes nothing in it.
	require.NoError(t, os.Remove(filepath.Join(dir, lockName)))
	before := dirListing(t, dir)
	ro2, err := Open(dir, Options{ReadOnly: true})
	require.NoError(t, err)
	assert.True(t, revoked(t, ro2, k) || true)
	require.NoError(t, ro2.Refresh(ctx))
	require.NoError(t, ro2.Close())
	assert.Equal(t, before, dirListing(t, dir))
}

func dirListing(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		fi, err := e.Info()
		require.NoError(t, err)
		out = append(out, fmt.Sprintf("%s %d %d", e.Name(), fi.Size(), fi.ModTime().UnixNano()))
	}
	return out
}

// TestRefreshNeverGoesBack: a newer list file that is damaged is skipped;
// the store keeps its state and takes the next good update.
func TestRefreshNeverGoesBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(41, 42))
	ups := randomUpdates(r, 100, 3)
	w := mustOpen(t, dir, Options{CompactAfter: -1, RefreshInterval: -1})
	log, buf := testLogger(t)
	ro := mustOpen(t, dir, Options{ReadOnly: true, RefreshInterval: -1, Logger: log})
	m := model{}
	for _, u := range ups[:3] {
		require.NoError(t, w.Apply(ctx, u))
		m.apply(u)
	}
	require.NoError(t, ro.Refresh(ctx))
	assertMatches(t, ro.Snapshot(), m, nil)
	// A damaged newer list appears (a torn copy, say).
	bad := filepath.Join(dir, listName(9))
	require.NoError(t, os.WriteFile(bad, []byte("FSREVB01 torn"), 0o644))
	require.NoError(t, ro.Refresh(ctx))
	assert.Equal(t, uint64(3), ro.Snapshot().Seq())
	assertMatches(t, ro.Snapshot(), m, nil)
	assert.Contains(t, buf.String(), "corrupt")
	require.NoError(t, os.Remove(bad))
	require.NoError(t, w.Apply(ctx, ups[3]))
	m.apply(ups[3])
	require.NoError(t, ro.Refresh(ctx))
	assertMatches(t, ro.Snapshot(), m, nil)
}

const stopChildEnv = "REVOCATION_STOP_CHILD_DIR"

// TestStopFromAnotherProcess: a child process (this test binary re-run)
// makes a local stop, as `cardap revocation stop` does; the parent's open
// store refuses the key within about its refresh interval: with the
// default (1 s, what a gate opening its store with revocation.Open gets),
// about a second after the child's stop returned, no restart needed
// (issue 10 §11: the gate README said a restart was needed).
func TestStopFromAnotherProcess(t *testing.T) {
	k := CUIDKey([16]byte{0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	if dir := os.Getenv(stopChildEnv); dir != "" {
		s, err := Open(dir, Options{RefreshInterval: -1})
		if err != nil {
			os.Exit(3)
		}
		if err := s.Stop(context.Background(), k, StopOptions{Reason: ReasonStolen, By: "child", Why: "from another process"}); err != nil {
			os.Exit(4)
		}
		s.Close()
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	for _, interval := range []time.Duration{50 * time.Millisecond, 0} {
		t.Run(fmt.Sprintf("refresh interval %v", interval), func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{RefreshInterval: interval})
			require.NoError(t, s.Apply(context.Background(), &Update{Full: true, Seq: 1, AsOf: testAsOf}))
			require.False(t, revoked(t, s, k))

			cmd := exec.Command(os.Args[0], "-test.run=^TestStopFromAnotherProcess$")
			cmd.Env = append(os.Environ(), stopChildEnv+"="+dir)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "child: %s", out)
			stopped := time.Now()
			eventually(t, "the parent sees the child's stop", func() bool { return revoked(t, s, k) })
			seen := time.Since(stopped)
			res, err := s.Check(k)
			require.NoError(t, err)
			assert.Equal(t, "child", res.Entry.By)
			want := interval
			if want == 0 {
				want = DefaultRefreshInterval
			}
			// At most one interval after the stop, plus slack for a
			// loaded machine; never a restart.
			assert.Less(t, seen, want+time.Second, "seen %v after the stop", seen)
			t.Logf("refresh interval %v: the stop of another process was seen after %v", want, seen.Round(time.Millisecond))
		})
	}
}

// A read-only open never creates a store: a mistyped path is an error,
// not an empty store (issue 10 §7).
func TestOpenReadOnlyMissingDirIsAnError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	_, err := Open(dir, Options{ReadOnly: true, RefreshInterval: -1})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNoStore)
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, serr := os.Lstat(dir)
	assert.True(t, os.IsNotExist(serr), "nothing created")
}
