package revocation

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// model is the reference the store is checked against: a plain map.
type model map[Key]Record

func (m model) apply(u *Update) {
	if u.Full {
		clear(m)
	}
	for _, k := range u.Remove {
		delete(m, k)
	}
	for _, r := range u.Add {
		m[r.Key] = r
	}
}

func assertMatches(t *testing.T, snap *Snapshot, m model, probes []Key) {
	t.Helper()
	require.Equal(t, len(m), snap.Len())
	for k, want := range m {
		got, ok, err := snap.Lookup(k)
		require.NoError(t, err)
		require.True(t, ok, "missing %s", k)
		require.Equal(t, want, got)
		require.True(t, snap.Contains(k))
	}
	for _, k := range probes {
		_, in := m[k]
		require.Equal(t, in, snap.Contains(k), "key %s", k)
	}
	var err error
	var all []Record
	for r := range snap.Records(&err) {
		all = append(all, r)
	}
	require.NoError(t, err)
	require.Len(t, all, len(m))
	require.True(t, slices.IsSortedFunc(all, func(a, b Record) int { return compareKeys(a.Key, b.Key) }))
}

// randomUpdates returns a full list then deltas that change parts of it.
func randomUpdates(r *rand.Rand, n, deltas int) []*Update {
	m := model{}
	full := &Update{Full: true, Seq: 1, AsOf: testAsOf, Add: randRecords(r, n)}
	if err := full.normalize("t"); err != nil {
		panic(err)
	}
	m.apply(full)
	out := []*Update{full}
	for i := range deltas {
		d := &Update{Seq: uint64(i + 2), Prev: uint64(i + 1), AsOf: testAsOf.Add(time.Duration(i+1) * time.Minute)}
		seen := map[Key]bool{}
		keys := slices.SortedFunc(maps.Keys(m), compareKeys) // deterministic
		for _, k := range keys {
			if r.IntN(10) == 0 && !seen[k] {
				d.Remove = append(d.Remove, k)
				seen[k] = true
			} else if r.IntN(20) == 0 && !seen[k] {
				d.Add = append(d.Add, Record{Key: k, RevokedAt: 1, Reason: ReasonOther})
				seen[k] = true
			}
		}
		for _, rec := range randRecords(r, n/5+1) {
			if !seen[rec.Key] {
				d.Add = append(d.Add, rec)
				seen[rec.Key] = true
			}
		}
		if err := d.normalize("t"); err != nil {
			panic(err)
		}
		m.apply(d)
		out = append(out, d)
	}
	return out
}

func TestStoreApplyMatchesModel(t *testing.T) {
	for _, compact := range []int{-1, 1, 50} {
		t.Run(fmt.Sprintf("compact=%d", compact), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(compact+5), 3))
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{CompactAfter: compact})
			m := model{}
			var probes []Key
			for range 200 {
				probes = append(probes, randKey(r))
			}
			for _, u := range randomUpdates(r, 300, 6) {
				require.NoError(t, s.Apply(context.Background(), u))
				m.apply(u)
				probes = append(probes, u.Remove...)
				assertMatches(t, s.Snapshot(), m, probes)
			}
			require.NoError(t, s.Compact(context.Background()))
			assertMatches(t, s.Snapshot(), m, probes)
			require.NoError(t, s.Close())
			s2 := mustOpen(t, dir, Options{CompactAfter: -1})
			assert.Equal(t, uint64(7), s2.Snapshot().Seq())
			assertMatches(t, s2.Snapshot(), m, probes)
		})
	}
}

func TestStoreRefusesReplayAndGaps(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	ups := randomUpdates(r, 50, 3)
	s := mustOpen(t, t.TempDir(), Options{})
	ctx := context.Background()
	require.NoError(t, s.Apply(ctx, ups[0]))
	require.NoError(t, s.Apply(ctx, ups[1]))
	assert.ErrorIs(t, s.Apply(ctx, ups[1]), ErrReplay)
	assert.ErrorIs(t, s.Apply(ctx, ups[0]), ErrReplay)
	assert.ErrorIs(t, s.Apply(ctx, ups[3]), ErrOutOfSequence)
	older := *ups[2]
	older.AsOf = testAsOf.Add(-time.Hour)
	assert.ErrorIs(t, s.Apply(ctx, &older), ErrReplay)
	assert.Equal(t, uint64(2), s.Snapshot().Seq())
}

func TestCheckFreshnessPolicy(t *testing.T) {
	k := CUIDKey(randCUID(rand.New(rand.NewPCG(1, 1))))
	ctx := context.Background()
	dir := t.TempDir()
	list := &Update{Full: true, Seq: 1, AsOf: testAsOf}

	s := mustOpen(t, dir, Options{})
	never, err := s.Check(k)
	assert.ErrorIs(t, err, ErrStale, "a store never synced fails closed")
	assert.Contains(t, err.Error(), "no list synced yet")
	js, jerr := json.Marshal(never)
	require.NoError(t, jerr)
	assert.NotContains(t, string(js), "as_of", "a never-synced store has no as-of time to show")
	require.NoError(t, s.Close())
	// AllowStale admits a card on an old list, never on no list at all
	// (issue 10 §7: a mistyped store path must not let every card in).
	s = mustOpen(t, dir, Options{Policy: Policy{AllowStale: true, MaxAge: time.Hour}})
	never, err = s.Check(k)
	assert.ErrorIs(t, err, ErrStale, "never synced is refused even with AllowStale")
	assert.ErrorIs(t, err, ErrNeverSynced)
	assert.False(t, never.Allowed)
	require.NoError(t, s.Apply(ctx, list))
	res, err := s.Check(k)
	require.NoError(t, err)
	assert.True(t, res.Allowed)
	assert.Equal(t, time.Hour, res.Age)
	require.NoError(t, s.Close())

	late := testAsOf.Add(49 * time.Hour)
	s = mustOpen(t, dir, Options{Now: fixedNow(late)})
	res, err = s.Check(k)
	assert.ErrorIs(t, err, ErrStale)
	assert.True(t, res.Stale)
	assert.False(t, res.Allowed)
	require.NoError(t, s.Close())

	log, buf := testLogger(t)
	s = mustOpen(t, dir, Options{Now: fixedNow(late), Logger: log, Policy: Policy{AllowStale: true}})
	res, err = s.Check(k)
	require.NoError(t, err)
	assert.True(t, res.Stale)
	assert.True(t, res.Allowed)
	assert.Contains(t, buf.String(), "older than policy")
	require.NoError(t, s.Close())

	s = mustOpen(t, dir, Options{Now: fixedNow(late), Policy: Policy{MaxAge: 72 * time.Hour}})
	res, err = s.Check(k)
	require.NoError(t, err)
	assert.False(t, res.Stale)
}

func TestLocalStops(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(4, 4))
	fed, local := CUIDKey(randCUID(r)), CUIDKey(randCUID(r))
	s := mustOpen(t, dir, Options{})
	require.NoError(t, s.Apply(ctx, &Update{Full: true, Seq: 1, AsOf: testAsOf, Add: []Record{{Key: fed, RevokedAt: 100, Reason: ReasonLost}}}))

	require.NoError(t, s.Stop(ctx, local, StopOptions{Reason: ReasonStolen, By: "operator-7", Why: "holder called the desk"}))
	res, err := s.Check(local)
	require.NoError(t, err)
	require.True(t, res.Revoked)
	assert.Equal(t, OriginLocalStop, res.Entry.Origin)
	assert.Equal(t, "operator-7", res.Entry.By)
	assert.ErrorIs(t, s.Stop(ctx, local, StopOptions{Reason: ReasonStolen, By: "x"}), ErrAlreadyStopped)
	assert.ErrorIs(t, s.Stop(ctx, fed, StopOptions{Reason: ReasonStolen, By: "", Why: "no operator"}), ErrInvalidStop)
	for _, forged := range []string{"desk\n2026-11-28T00:00:00Z unstop", "desk\x1b[2J", "desk\u009b31m", "desk\r"} {
		assert.ErrorIs(t, s.Stop(ctx, fed, StopOptions{Reason: ReasonStolen, By: forged}), ErrInvalidStop, "%q", forged)
		assert.ErrorIs(t, s.Stop(ctx, fed, StopOptions{Reason: ReasonStolen, By: "desk", Why: forged}), ErrInvalidStop, "%q", forged)
		assert.ErrorIs(t, s.Unstop(ctx, local, UnstopOptions{By: forged}), ErrInvalidStop, "%q", forged)
	}

	assert.ErrorIs(t, s.Unstop(ctx, fed, UnstopOptions{By: "operator-7", Why: "try"}), ErrFeedRevocation)
	assert.ErrorIs(t, s.Unstop(ctx, CUIDKey(randCUID(r)), UnstopOptions{By: "operator-7", Why: "try"}), ErrNotStopped)

	res, err = s.Check(fed)
	require.NoError(t, err)
	assert.Equal(t, OriginDelivered, res.Entry.Origin)
	assert.Equal(t, ReasonLost, res.Entry.Reason)
	require.NoError(t, s.Close())

	// Persisted: a reopened store still has the stop.
	s = mustOpen(t, dir, Options{})
	res, err = s.Check(local)
	require.NoError(t, err)
	assert.True(t, res.Revoked)
	require.NoError(t, s.Unstop(ctx, local, UnstopOptions{By: "supervisor-2", Why: "card found"}))
	res, err = s.Check(local)
	require.NoError(t, err)
	assert.False(t, res.Revoked)
	audit, err := s.Audit()
	require.NoError(t, err)
	require.Len(t, audit, 2)
	assert.Equal(t, "stop", audit[0].Op)
	assert.Equal(t, "unstop", audit[1].Op)
	assert.Equal(t, "supervisor-2", audit[1].By)
	assert.Equal(t, "card found", audit[1].Why)
	require.NoError(t, s.Close())

	s = mustOpen(t, dir, Options{})
	assert.Empty(t, s.Stops())
}

func TestJournalTornAndCorruptLines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(5, 5))
	a, b, c := CUIDKey(randCUID(r)), CUIDKey(randCUID(r)), CUIDKey(randCUID(r))
	s := mustOpen(t, dir, Options{})
	require.NoError(t, s.Stop(ctx, a, StopOptions{Reason: ReasonLost, By: "op"}))
	require.NoError(t, s.Stop(ctx, b, StopOptions{Reason: ReasonLost, By: "op"}))
	require.NoError(t, s.Close())
	path := filepath.Join(dir, journalName)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	first := slices.Index(data, '\n')
	data[first-3] ^= 0x20 // corrupt the first record
	data = append(data, []byte("0000 {\"op\":\"st")...)
	require.NoError(t, os.WriteFile(path, data, 0o644))

	log, buf := testLogger(t)
	s = mustOpen(t, dir, Options{Logger: log})
	assert.Equal(t, []Key{b}, keysOf(s.Stops()))
	assert.Contains(t, buf.String(), "corrupt line")
	assert.Contains(t, buf.String(), "torn last line")
	require.NoError(t, s.Stop(ctx, c, StopOptions{Reason: ReasonLost, By: "op", Why: "after a torn line"}))
	require.NoError(t, s.Close())
	s = mustOpen(t, dir, Options{})
	assert.ElementsMatch(t, []Key{b, c}, keysOf(s.Stops()))
}

func keysOf(es []Entry) []Key {
	var out []Key
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
}

func TestCorruptFilesFallBackToLastGood(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(6, 6))
	ups := randomUpdates(r, 200, 3)
	models := []model{}
	m := model{}
	for _, u := range ups {
		m.apply(u)
		models = append(models, maps.Clone(m))
	}
	build := func(t *testing.T) string {
		dir := t.TempDir()
		s := mustOpen(t, dir, Options{CompactAfter: -1})
		for _, u := range ups[:3] {
			require.NoError(t, s.Apply(ctx, u))
		}
		require.NoError(t, s.Compact(ctx)) // list-3, keeps list-1 + deltas 2, 3
		require.NoError(t, s.Apply(ctx, ups[3]))
		require.NoError(t, s.Close())
		return dir
	}
	damage := []struct {
		name string
		fn   func([]byte, *rand.Rand) []byte
	}{
		{"flip", func(b []byte, r *rand.Rand) []byte { b[r.IntN(len(b))] ^= byte(1 + r.IntN(255)); return b }},
		{"truncate", func(b []byte, r *rand.Rand) []byte { return b[:r.IntN(len(b))] }},
		{"extend", func(b []byte, r *rand.Rand) []byte { return append(b, 0) }},
	}
	for _, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			for i := range 6 {
				dir := build(t)
				target, wantSeq := listName(3), uint64(4) // list-3 bad: list-1 + deltas 2..4
				if i%3 == 1 {
					target, wantSeq = deltaName(4), 3
				}
				if i%3 == 2 {
					target, wantSeq = listName(1), 4 // old base damaged: unused
				}
				p := filepath.Join(dir, target)
				data, err := os.ReadFile(p)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(p, d.fn(data, r), 0o644))
				log, buf := testLogger(t)
				s := mustOpen(t, dir, Options{Logger: log, CompactAfter: -1})
				assert.Equal(t, wantSeq, s.Snapshot().Seq(), "damaged %s", target)
				assertMatches(t, s.Snapshot(), models[wantSeq-1], nil)
				if i%3 != 2 {
					assert.Contains(t, buf.String(), "corrupt", "a warning is logged")
				}
				require.NoError(t, s.Close())
			}
		})
	}
}

// TestReopenAfterEachUpdate applies a chain of deltas and full lists with
// background merges and checks that a store reopened after each update
// (replaying the delta files) equals the model.
func TestReopenAfterEachUpdate(t *testing.T) {
	ups, models := crashUpdates()
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{CompactAfter: 150})
	for i, u := range ups {
		require.NoError(t, s.Apply(context.Background(), u))
		assertMatches(t, s.Snapshot(), models[i], nil)
		s2 := mustOpen(t, dir, Options{CompactAfter: -1})
		assertMatches(t, s2.Snapshot(), models[i], nil)
		require.NoError(t, s2.Close())
	}
}

func TestApplyAndCheckRefuseInvalidInput(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	_, err := s.Check(Key{})
	assert.ErrorIs(t, err, ErrMalformedKey)
	k := CUIDKey(randCUID(rand.New(rand.NewPCG(1, 2))))
	for name, u := range map[string]*Update{
		"bad reason":         {Full: true, Seq: 1, AsOf: testAsOf, Add: []Record{{Key: k, Reason: numReasons}}},
		"zero key":           {Full: true, Seq: 1, AsOf: testAsOf, Add: []Record{{}}},
		"no as-of":           {Full: true, Seq: 1, Add: []Record{{Key: k}}},
		"seq 0":              {Full: true, AsOf: testAsOf},
		"full with removals": {Full: true, Seq: 1, AsOf: testAsOf, Remove: []Key{k}},
	} {
		assert.ErrorIs(t, s.Apply(context.Background(), u), ErrMalformed, name)
	}
	assert.Equal(t, uint64(0), s.Snapshot().Seq())
}

// TestSkewedIdentifiers: identifiers sharing a long prefix all fall into
// one bucket; lookups stay exact.
func TestSkewedIdentifiers(t *testing.T) {
	var recs []Record
	for i := range 3000 {
		var c [16]byte
		c[0], c[1], c[2] = 0xab, 0xcd, 0xef
		binary.BigEndian.PutUint32(c[12:], uint32(i*2))
		recs = append(recs, Record{Key: CUIDKey(c), RevokedAt: int64(i), Reason: ReasonLost})
	}
	s := mustOpen(t, t.TempDir(), Options{})
	require.NoError(t, s.Apply(context.Background(), &Update{Full: true, Seq: 1, AsOf: testAsOf, Add: recs}))
	snap := s.Snapshot()
	for i := range 6000 {
		var c [16]byte
		c[0], c[1], c[2] = 0xab, 0xcd, 0xef
		binary.BigEndian.PutUint32(c[12:], uint32(i))
		rec, ok, err := snap.Lookup(CUIDKey(c))
		require.NoError(t, err)
		require.Equal(t, i%2 == 0, ok, i)
		if ok {
			require.Equal(t, int64(i/2), rec.RevokedAt)
		}
	}
}

// TestDeltaWithEmptySectionsReopens: a delta holding only CUID additions
// (no serials, no removals: empty last sections) reads back after a
// reopen instead of being taken for a truncated file.
func TestDeltaWithEmptySectionsReopens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(51, 52))
	a, b := CUIDKey(randCUID(r)), CUIDKey(randCUID(r))
	s := mustOpen(t, dir, Options{CompactAfter: -1})
	require.NoError(t, s.Apply(ctx, &Update{Full: true, Seq: 1, AsOf: testAsOf, Add: []Record{{Key: a, RevokedAt: 1}}}))
	require.NoError(t, s.Apply(ctx, &Update{Seq: 2, Prev: 1, AsOf: testAsOf, Add: []Record{{Key: b, RevokedAt: 2, Reason: ReasonStolen}}}))
	require.NoError(t, s.Apply(ctx, &Update{Seq: 3, Prev: 2, AsOf: testAsOf, Remove: []Key{a}}))
	require.NoError(t, s.Close())
	log, buf := testLogger(t)
	s = mustOpen(t, dir, Options{CompactAfter: -1, Logger: log})
	assert.Equal(t, uint64(3), s.Snapshot().Seq())
	assertMatches(t, s.Snapshot(), model{b: {Key: b, RevokedAt: 2, Reason: ReasonStolen}}, []Key{a})
	assert.NotContains(t, buf.String(), "corrupt")
}
