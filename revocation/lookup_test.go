package revocation

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mynacard/freespace/profile"
	"github.com/stretchr/testify/require"
)

// TestFindCUIDExact checks the interpolating lookup against a binary
// search of the sorted identifiers, at sizes on both sides of the
// first-level size (16 bits) and for distributions where interpolation
// guesses badly: identifiers sharing long prefixes, counters, clusters.
// Probes are every identifier, its neighbours (±1 as a 128-bit number)
// and random identifiers (a sample of them at the largest size).
func TestFindCUIDExact(t *testing.T) {
	sizes := []int{1, 2, 100, 5000, 300_000}
	if testing.Short() {
		sizes = sizes[:4]
	}
	for name, gen := range cuidGens() {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(n), 61))
				recs, seen := distinctCUIDs(r, gen, n)
				s := mustOpen(t, t.TempDir(), Options{RefreshInterval: -1})
				require.NoError(t, s.Apply(context.Background(), &Update{Full: true, Seq: 1, AsOf: testAsOf, Add: recs}))
				b := s.Snapshot().base
				require.GreaterOrEqual(t, int(b.topBits), 8*b.drop)
				sorted := make([]profile.CUID, 0, n)
				for c := range seen {
					sorted = append(sorted, c)
				}
				slices.SortFunc(sorted, func(a, b profile.CUID) int { return slices.Compare(a[:], b[:]) })
				want := func(c profile.CUID) int {
					i, ok := slices.BinarySearchFunc(sorted, c, func(a, b profile.CUID) int { return slices.Compare(a[:], b[:]) })
					if !ok {
						return -1
					}
					return i
				}
				check := func(c profile.CUID) {
					if got, w := b.findCUID(&c), want(c); got != w {
						t.Fatalf("findCUID(%x) = %d, want %d", c, got, w)
					}
				}
				step := max(1, n/20000) // a sample at the largest size, to stay fast under -race
				for i := r.IntN(step); i < len(sorted); i += step {
					c := sorted[i]
					check(c)
					check(addCUID(c, 1))
					check(addCUID(c, ^uint64(0))) // -1
				}
				for range 2000 {
					check(randCUID(r))
					check(gen(r, r.IntN(2*n+1)))
				}
			})
		}
	}
}

// addCUID adds d (two's complement) to c as a 128-bit number.
func addCUID(c profile.CUID, d uint64) profile.CUID {
	hi, lo := binary.BigEndian.Uint64(c[:8]), binary.BigEndian.Uint64(c[8:])
	nlo := lo + d
	switch {
	case d>>63 == 0 && nlo < lo:
		hi++
	case d>>63 == 1 && nlo > lo:
		hi--
	}
	binary.BigEndian.PutUint64(c[:8], hi)
	binary.BigEndian.PutUint64(c[8:], nlo)
	return c
}

func TestTopBitsFor(t *testing.T) {
	for b := uint8(minBucketBits); b <= maxBucketBits; b++ {
		tb := topBitsFor(b)
		require.LessOrEqual(t, tb, b, "b=%d", b)
		require.GreaterOrEqual(t, int(tb), 8*(int(b)/8), "b=%d: the first level covers the dropped prefix", b)
		require.LessOrEqual(t, tb, max(uint8(16), 8*(b/8)), "b=%d", b)
	}
}
