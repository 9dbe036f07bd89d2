package revocation

import (
	"encoding/binary"
	"math/bits"
	"sort"
	"sync"
)

// filterBitsPerKey is the size of the CUID filter: 8 bits (1 byte) per
// base key, which keeps the resident memory within 16 B/entry and the
// filter of a 10-million-entry list (about 10 MB) in the L3 cache of a
// typical server CPU.
const filterBitsPerKey = 8

// filterWords is the number of 64-bit words in one filter block: one
// 64-byte cache line.
const filterWords = 8

// cuidFilter is a blocked Bloom filter over the CUIDs of a base, consulted
// before the key slab. Each key maps to one 64-byte block (one cache line)
// and sets one bit in each of its eight words, so a query costs one load
// from a structure small enough to stay in the CPU cache. A "no" is exact
// (the key is not in the base); a "maybe" goes on to the slab. At 8 bits
// per key the false-positive rate is about 3 % (TestCUIDFilter
// measures it). The filter covers the base keys only; the overlay of
// deltas and local changes is checked separately, as before.
//
// The block of a key follows its rank: the keys of first-level range
// [lo, hi) (see base.top) own the filter bits [8·lo, 8·hi), and a key's
// hash picks a block that overlaps them. Blocks thus hold 64 keys on
// average whatever the distribution of the CUIDs, and building the filter
// at open is one sequential sweep of the sorted keys (a hash-placed
// filter would cost one cache miss per key: about 1 s at 10 million).
type cuidFilter struct {
	blocks  []byte // nBlocks × 64 bytes (little-endian words), built at open from the keys
	nBlocks uint64
}

// mix64 is a 64-bit finaliser with full avalanche (every input bit
// affects every output bit with probability about one half).
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// filterHash hashes a CUID given as two big-endian words: w1 times an odd
// constant (a bijection) folded into w2, then the mixer, so counters and
// shared prefixes spread like random identifiers.
func filterHash(w1, w2 uint64) uint64 { return mix64(w2 ^ w1*0x9e3779b97f4a7c15) }

// blockIndex returns the block of hash h for a key in first-level range
// [lo, hi), lo < hi (a multiply-shift reduction over that range's bits).
func blockIndex(h uint64, lo, hi uint32) uint64 {
	off, _ := bits.Mul64(h, uint64(hi-lo)*filterBitsPerKey)
	return (uint64(lo)*filterBitsPerKey + off) / (64 * filterWords)
}

// add sets the bits of hash h in block i.
func (f *cuidFilter) add(h, i uint64) {
	blk := f.blocks[i*8*filterWords:][:8*filterWords]
	le := binary.LittleEndian
	le.PutUint64(blk[0:], le.Uint64(blk[0:])|1<<(h&63))
	le.PutUint64(blk[8:], le.Uint64(blk[8:])|1<<(h>>6&63))
	le.PutUint64(blk[16:], le.Uint64(blk[16:])|1<<(h>>12&63))
	le.PutUint64(blk[24:], le.Uint64(blk[24:])|1<<(h>>18&63))
	le.PutUint64(blk[32:], le.Uint64(blk[32:])|1<<(h>>24&63))
	le.PutUint64(blk[40:], le.Uint64(blk[40:])|1<<(h>>30&63))
	le.PutUint64(blk[48:], le.Uint64(blk[48:])|1<<(h>>36&63))
	le.PutUint64(blk[56:], le.Uint64(blk[56:])|1<<(h>>42&63))
}

// mayContain reports whether the key of hash h in first-level range
// [lo, hi) may be in the base; false is a definite no. The eight tests
// are branch-free.
func (f *cuidFilter) mayContain(h uint64, lo, hi uint32) bool {
	blk := f.blocks[blockIndex(h, lo, hi)*8*filterWords:][:8*filterWords]
	le := binary.LittleEndian
	var miss uint64
	miss |= ^le.Uint64(blk[0:]) & (1 << (h & 63))
	miss |= ^le.Uint64(blk[8:]) & (1 << (h >> 6 & 63))
	miss |= ^le.Uint64(blk[16:]) & (1 << (h >> 12 & 63))
	miss |= ^le.Uint64(blk[24:]) & (1 << (h >> 18 & 63))
	miss |= ^le.Uint64(blk[32:]) & (1 << (h >> 24 & 63))
	miss |= ^le.Uint64(blk[40:]) & (1 << (h >> 30 & 63))
	miss |= ^le.Uint64(blk[48:]) & (1 << (h >> 36 & 63))
	miss |= ^le.Uint64(blk[56:]) & (1 << (h >> 42 & 63))
	return miss == 0
}

// buildFilter builds the filter from the base's keys (verified sorted and
// bucketed before) and its first level (built before). A base without
// CUIDs gets no filter. Two goroutines each sweep half of the keys; the
// one block the halves may share is filled after both are done.
func (b *base) buildFilter() {
	n := b.hdr.nCUID
	if n == 0 {
		return
	}
	nb := (n*filterBitsPerKey + 64*filterWords - 1) / (64 * filterWords)
	f := &cuidFilter{nBlocks: nb}
	f.blocks = allocSlab(b, int(nb)*8*filterWords)
	// Split at the first-level range holding the middle key.
	nt := len(b.top) - 1
	mid := sort.Search(nt, func(t int) bool { return b.top[t] >= uint32(n/2) })
	shared := uint64(b.top[mid]) * filterBitsPerKey / (64 * filterWords)
	per := 1 << (b.hdr.bits - b.topBits) // file buckets per first-level range
	var wg sync.WaitGroup
	wg.Go(func() { b.sweepFilter(f, 0, mid*per, nb, nil) })
	var late []uint64
	b.sweepFilter(f, mid*per, nt*per, shared, &late)
	wg.Wait()
	for _, h := range late {
		f.add(h, shared)
	}
	b.filter = f
}

// sweepFilter adds the keys of file buckets [from, to) to f, except those
// of block skip, whose hashes it appends to *late.
func (b *base) sweepFilter(f *cuidFilter, from, to int, skip uint64, late *[]uint64) {
	sl := b.slen
	suf := b.slab[b.sufOff:]
	shift := uint(b.hdr.bits) - uint(8*b.drop)
	dropBits := uint(8 * b.drop) // 0 to 64 (8 <= slen = 16 - drop)
	be := binary.BigEndian
	for h := from; h < to; h++ {
		lo, hi := int(b.bucketStart(h)), int(b.bucketStart(h+1))
		// The CUID is prefix (drop bytes, from h) || suffix: its first
		// word is the prefix then the suffix's first 8-drop bytes, its
		// second word the suffix's last 8 bytes.
		prefix := uint64(uint32(h)>>shift) << (64 - dropBits) // 0 when drop = 0
		for i := lo; i < hi; i++ {
			s := suf[i*sl : i*sl+sl]
			w1 := prefix | be.Uint64(s)>>dropBits // >> 64 is 0 when drop = 8
			t := w1 >> (64 - b.topBits)
			hash := filterHash(w1, be.Uint64(s[sl-8:]))
			blk := blockIndex(hash, b.top[t], b.top[t+1])
			if blk == skip && late != nil {
				*late = append(*late, hash)
				continue
			}
			f.add(hash, blk)
		}
	}
}
