package feed

import (
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
	"github.com/stretchr/testify/require"
)

var testAsOf = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// model is the reference a store is checked against: a plain map.
type model map[revocation.Key]revocation.Record

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// mustOpen opens a store in dir for the test, closed at its end; its clock
// reads an hour after testAsOf unless opts says otherwise.
func mustOpen(t testing.TB, dir string, opts revocation.Options) *revocation.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = fixedNow(testAsOf.Add(time.Hour))
	}
	s, err := revocation.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func randCUID(r *rand.Rand) profile.CUID {
	var c profile.CUID
	for i := range c {
		c[i] = byte(r.UintN(256))
	}
	return c
}

func randKey(r *rand.Rand) revocation.Key {
	if r.IntN(4) == 0 {
		b := make([]byte, 6+r.IntN(revocation.MaxSerialLen-5))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		b[0] |= 1
		k, err := revocation.SerialKey(b)
		if err != nil {
			panic(err)
		}
		return k
	}
	return revocation.CUIDKey(randCUID(r))
}

func randRecords(r *rand.Rand, n int) []revocation.Record {
	out := make([]revocation.Record, n)
	for i := range out {
		out[i] = revocation.Record{Key: randKey(r), RevokedAt: testAsOf.Unix() - int64(r.IntN(1e6)),
			Reason: revocation.Reason(r.IntN(int(revocation.ReasonOther) + 1))}
	}
	return out
}

// assertMatches checks that snap holds exactly what m holds.
func assertMatches(t *testing.T, snap *revocation.Snapshot, m model, probes []revocation.Key) {
	t.Helper()
	require.Equal(t, len(m), snap.Len())
	for k, want := range m {
		got, ok, err := snap.Lookup(k)
		require.NoError(t, err)
		require.True(t, ok, "missing %s", k)
		require.Equal(t, want, got)
	}
	for _, k := range probes {
		_, in := m[k]
		require.Equal(t, in, snap.Contains(k), "key %s", k)
	}
	var err error
	var all []revocation.Record
	for r := range snap.Records(&err) {
		all = append(all, r)
	}
	require.NoError(t, err)
	require.Len(t, all, len(m))
	require.True(t, slices.IsSortedFunc(all, func(a, b revocation.Record) int { return a.Key.Compare(b.Key) }))
}
