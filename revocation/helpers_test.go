package revocation

import (
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mynacard/freespace/internal/testsupport/syncbuf"
	"github.com/mynacard/freespace/profile"
)

var testAsOf = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

func randCUID(r *rand.Rand) profile.CUID {
	var c profile.CUID
	for i := range c {
		c[i] = byte(r.UintN(256))
	}
	return c
}

func randKey(r *rand.Rand) Key {
	if r.IntN(4) == 0 {
		b := make([]byte, 6+r.IntN(MaxSerialLen-5))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		b[0] |= 1
		k, err := SerialKey(b)
		if err != nil {
			panic(err)
		}
		return k
	}
	return CUIDKey(randCUID(r))
}

func randRecords(r *rand.Rand, n int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{Key: randKey(r), RevokedAt: testAsOf.Unix() - int64(r.IntN(1e6)), Reason: Reason(r.IntN(numReasons))}
	}
	return out
}

func testLogger(t testing.TB) (*slog.Logger, *syncbuf.Buffer) {
	t.Helper()
	lb := &syncbuf.Buffer{}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

func mustOpen(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger, _ = testLogger(t)
	}
	if opts.Now == nil {
		opts.Now = fixedNow(testAsOf.Add(time.Hour))
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// cuidGen makes the i-th CUID of a test list (r for random parts).
type cuidGen func(r *rand.Rand, i int) profile.CUID

// cuidGens returns CUID distributions for the lookup tests, including
// those where interpolation guesses badly: identifiers sharing long
// prefixes, counters, clusters.
func cuidGens() map[string]cuidGen {
	return map[string]cuidGen{
		"uniform": func(r *rand.Rand, _ int) profile.CUID { return randCUID(r) },
		"prefix": func(r *rand.Rand, _ int) profile.CUID {
			c := randCUID(r)
			copy(c[:7], []byte{0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67})
			return c
		},
		"counter": func(_ *rand.Rand, i int) profile.CUID {
			var c profile.CUID
			c[0] = 0x80
			binary.BigEndian.PutUint64(c[8:], uint64(i)*3)
			return c
		},
		"clusters": func(r *rand.Rand, i int) profile.CUID {
			c := randCUID(r)
			c[0], c[1] = byte(i%3)*0x40, 0x11 // three dense runs
			c[2] = byte(r.IntN(2))
			return c
		},
	}
}

// distinctCUIDs draws CUIDs from gen until n are distinct and returns them
// as records (RevokedAt the draw's index) and as a set.
func distinctCUIDs(r *rand.Rand, gen cuidGen, n int) ([]Record, map[profile.CUID]bool) {
	recs := make([]Record, 0, n)
	seen := map[profile.CUID]bool{}
	for i := 0; len(recs) < n; i++ {
		c := gen(r, i)
		if !seen[c] {
			seen[c] = true
			recs = append(recs, Record{Key: CUIDKey(c), RevokedAt: int64(i)})
		}
	}
	return recs, seen
}

// quietLogger discards the store's warnings in tests that provoke them.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
