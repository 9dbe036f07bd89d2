package revocation

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mynacard/freespace/profile"
	"github.com/stretchr/testify/require"
)

// TestCUIDFilter checks the base's Bloom filter: every stored CUID passes
// it (no false negatives, so lookups stay exact), its size is within one
// byte per key, and its false-positive rate is near the rate expected of
// 8 bits per key in 512-bit blocks with one bit per 64-bit word (about
// 3 %; the test allows up to 6 %), for random identifiers and for
// counters, whose hashes must spread just as well. The rate is taken over
// absent CUIDs that reach the filter (those sharing their top bits with
// some stored key; findCUID answers the others before it).
func TestCUIDFilter(t *testing.T) {
	const n = 200_000
	for _, name := range []string{"uniform", "counter"} {
		gen := cuidGens()[name]
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(n, 17))
			recs, seen := distinctCUIDs(r, gen, n)
			s := mustOpen(t, t.TempDir(), Options{RefreshInterval: -1})
			require.NoError(t, s.Apply(context.Background(), &Update{Full: true, Seq: 1, AsOf: testAsOf, Add: recs}))
			b := s.Snapshot().base
			f := b.filter
			require.NotNil(t, f)
			require.LessOrEqual(t, len(f.blocks), n+64, "filter bytes for %d keys", n)
			// may reports whether c reaches the filter (some key shares its
			// top bits) and the filter's answer.
			may := func(c profile.CUID) (reached, maybe bool) {
				w1 := binary.BigEndian.Uint64(c[:8])
				h := w1 >> (64 - b.topBits)
				lo, hi := b.top[h], b.top[h+1]
				if lo >= hi {
					return false, false // findCUID stops before the filter
				}
				return true, f.mayContain(filterHash(w1, binary.BigEndian.Uint64(c[8:])), lo, hi)
			}
			for c := range seen {
				if _, maybe := may(c); !maybe {
					t.Fatalf("stored CUID %x fails the filter", c)
				}
			}
			const probes = 200_000
			fp, tried := 0, 0
			for i := 0; tried < probes; i++ {
				var c profile.CUID
				if i%2 == 0 {
					c = randCUID(r)
				} else {
					c = gen(r, n+i) // near the stored ones for counters
				}
				reached, maybe := may(c)
				if seen[c] || !reached {
					continue
				}
				tried++
				if maybe {
					fp++
				}
			}
			rate := float64(fp) / probes
			t.Logf("false-positive rate %.2f %% over %d probes that reach the filter", 100*rate, probes)
			require.Greater(t, rate, 0.0, "a 1 B/key filter with no false positives is not hashing what it should")
			require.Less(t, rate, 0.06, fmt.Sprintf("%d false positives in %d", fp, probes))
		})
	}
}

// TestCUIDFilterEmpty checks that a list without CUIDs has no filter and
// answers every CUID with a miss.
func TestCUIDFilterEmpty(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{RefreshInterval: -1})
	sk, err := SerialKey([]byte{1, 2, 3})
	require.NoError(t, err)
	require.NoError(t, s.Apply(context.Background(), &Update{Full: true, Seq: 1, AsOf: testAsOf, Add: []Record{{Key: sk}}}))
	b := s.Snapshot().base
	require.Nil(t, b.filter)
	c := randCUID(rand.New(rand.NewPCG(1, 2)))
	require.Equal(t, -1, b.findCUID(&c))
	require.True(t, s.Snapshot().Contains(sk))
}
