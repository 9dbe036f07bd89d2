package revocation

import (
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mynacard/freespace/internal/syncbuf"
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
