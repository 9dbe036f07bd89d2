package revocation

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"math/bits"

	"github.com/mynacard/freespace/profile"
)

// base is an immutable list loaded from a store file: the CUID keys in one
// slab with a bucket index (no per-entry pointers), their metadata left on
// disk and read on a hit, and the serial records in memory.
type base struct {
	hdr     fileHeader
	slen    int    // stored suffix length
	drop    int    // prefix bytes implied by the bucket
	slab    []byte // index section then suffix section, exactly as on disk
	sufOff  int    // start of the suffix section in slab
	mapped  int    // bytes of slab mapped outside the Go heap
	serials []byte // nSerial × serialRecLen
	removes []Key  // delta files only
	meta    io.ReaderAt
	metaOff int64
	metaMap []byte // the metadata section mapped read-only, when available
	// top is the cache-resident first level of a CUID lookup: 2^topBits+1
	// positions, top[h] the first CUID whose top topBits bits are >= h
	// (sampled from the file's bucket index, 256 KiB at most for lists
	// up to 2^27 keys).
	top     []uint32
	topBits uint8
	// filter answers most misses from the CPU cache before the slab is
	// touched (nil for a base without CUIDs; lookups then skip it).
	filter *cuidFilter
}

func emptyBase() *base {
	h := fileHeader{typ: fileTypeList, bits: minBucketBits}
	l := h.layout()
	b := &base{hdr: h, slen: l.slen, drop: int(h.bits) / 8, slab: make([]byte, l.suffix-l.index), sufOff: int(l.suffix - l.index), meta: bytes.NewReader(nil)}
	b.buildTop()
	return b
}

// topBitsFor picks the first-level size for bucket bits b: 16 bits
// (65 537 uint32, which fits in a core's L2 cache) when the file's index
// is larger, never fewer bits than the key prefix the suffixes drop (so
// that suffixes within a first-level bucket compare like whole keys).
func topBitsFor(b uint8) uint8 {
	return max(8*(b/8), min(16, b))
}

// buildTop samples the file's bucket index into the first level.
func (b *base) buildTop() {
	t := topBitsFor(b.hdr.bits)
	shift := b.hdr.bits - t
	b.topBits = t
	b.top = make([]uint32, 1<<t+1)
	for h := range b.top {
		b.top[h] = b.bucketStart(h << shift)
	}
}

// readBase reads and fully verifies a store file of the given size
// (docs/PROTOCOL.md chapter 9.3: header, CUID index and keys, metadata,
// serial records, removals, each under its checksum). The metadata
// section stays in r, which must remain readable while the base is in
// use.
func readBase(r io.ReaderAt, size int64) (*base, error) {
	hb := make([]byte, fileHeaderLen)
	if _, err := r.ReadAt(hb, 0); err != nil {
		return nil, fileErr(0, "header truncated")
	}
	h, err := unmarshalHeader(hb)
	if err != nil {
		return nil, err
	}
	l := h.layout()
	// §9.3: a file has exactly the size its header announces.
	if l.size != size {
		return nil, fileErr(size, "file is %d bytes, header announces %d (truncated?)", size, l.size)
	}
	// The metadata section (9 B per CUID, read only on hits) is verified
	// on another core while this one reads the keys and builds the lookup
	// structures. The goroutine is always waited for, so r is not read
	// after readBase returns.
	metaDone := make(chan error, 1)
	go func() {
		metaDone <- checkMeta(io.NewSectionReader(r, l.meta, l.ser-l.meta), l.ser-l.meta, h.crcMeta, l.meta)
	}()
	metaWaited := false
	defer func() {
		if !metaWaited {
			<-metaDone
		}
	}()
	b := &base{hdr: h, slen: l.slen, drop: int(h.bits) / 8, meta: r, metaOff: l.meta, sufOff: int(l.suffix - l.index)}
	if err := b.readCUIDs(r, l); err != nil {
		return nil, err
	}
	b.buildFilter()
	metaWaited = true
	if err := <-metaDone; err != nil {
		return nil, err
	}
	if err := b.readSerials(r, l); err != nil {
		return nil, err
	}
	if err := b.readRemovals(r, l, size); err != nil {
		return nil, err
	}
	return b, nil
}

// readCUIDs reads the bucket index and the CUID key suffixes into the
// slab and verifies them (§9.3 items 2 and 3): both checksums, an index
// that starts at 0, never decreases and ends at the CUID count, and keys
// sorted within their buckets.
func (b *base) readCUIDs(r io.ReaderAt, l layout) error {
	h := b.hdr
	b.slab = allocSlab(b, int(l.meta-l.index))
	if _, err := r.ReadAt(b.slab, l.index); err != nil {
		return fileErr(l.index, "read index and keys: %v", err)
	}
	if crc32.Checksum(b.slab[:b.sufOff], castagnoli) != h.crcIndex {
		return fileErr(l.index, "index checksum mismatch")
	}
	nb := 1<<h.bits + 1
	var last uint32
	for i := range nb {
		v := b.bucketStart(i)
		if (i == 0 && v != 0) || v < last {
			return fileErr(l.index+int64(4*i), "index not monotonic")
		}
		last = v
	}
	if uint64(last) != h.nCUID {
		return fileErr(l.suffix-4, "index does not end at the CUID count")
	}
	b.buildTop()
	if crc32.Checksum(b.slab[b.sufOff:], castagnoli) != h.crcSuf {
		return fileErr(l.suffix, "key checksum mismatch")
	}
	return b.checkOrder(l.suffix)
}

// readSerials reads and verifies the serial records (§9.3 item 4): the
// checksum, each record's length, zero padding, reason code and reserved
// bytes, and strictly ascending keys.
func (b *base) readSerials(r io.ReaderAt, l layout) error {
	h := b.hdr
	b.serials = make([]byte, l.rem-l.ser)
	if _, err := readFull(r, b.serials, l.ser); err != nil {
		return fileErr(l.ser, "read serials: %v", err)
	}
	if crc32.Checksum(b.serials, castagnoli) != h.crcSer {
		return fileErr(l.ser, "serial checksum mismatch")
	}
	var prev Key
	for i := 0; i < int(h.nSerial); i++ {
		rec := b.serials[i*serialRecLen:]
		k, err := SerialKey(rec[1 : 1+int(min(rec[0], MaxSerialLen))])
		off := l.ser + int64(i*serialRecLen)
		if err != nil || k.n != rec[0] || !allZero(rec[1+int(rec[0]):21]) || rec[21] >= numReasons || rec[22] != 0 || rec[23] != 0 {
			return fileErr(off, "bad serial record")
		}
		if i > 0 && compareKeys(prev, k) >= 0 {
			return fileErr(off, "serial records not sorted")
		}
		prev = k
	}
	return nil
}

// readRemovals reads and verifies the removals of a delta file (§9.3
// item 5): the checksum, none in a full list, valid keys strictly
// ascending.
func (b *base) readRemovals(r io.ReaderAt, l layout, size int64) error {
	h := b.hdr
	rb := make([]byte, size-l.rem)
	if _, err := readFull(r, rb, l.rem); err != nil {
		return fileErr(l.rem, "read removals: %v", err)
	}
	if crc32.Checksum(rb, castagnoli) != h.crcRem {
		return fileErr(l.rem, "removal checksum mismatch")
	}
	if h.typ == fileTypeList && h.nRemove != 0 {
		return fileErr(56, "a full list has no removals")
	}
	for i := 0; i < int(h.nRemove); i++ {
		rec := rb[i*removeRecLen : (i+1)*removeRecLen]
		k := keyOf(Kind(rec[0]), rec[2:2+MaxSerialLen])
		k.n = rec[1]
		off := l.rem + int64(i*removeRecLen)
		if !validKey(k) {
			return fileErr(off, "bad removal record")
		}
		if i > 0 && compareKeys(b.removes[i-1], k) >= 0 {
			return fileErr(off, "removals not sorted")
		}
		b.removes = append(b.removes, k)
	}
	return nil
}

// readFull is r.ReadAt(p, off) except that an empty p always succeeds:
// some readers (bytes.Reader) report io.EOF for an empty read at the end,
// which an empty last section of a valid file is.
func readFull(r io.ReaderAt, p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return r.ReadAt(p, off)
}

func validKey(k Key) bool {
	switch k.kind {
	case KindCUID:
		return k.n == profile.CUIDLen && k.w2 == 0
	case KindSerial:
		a := k.raw()
		return k.n >= 1 && k.n <= MaxSerialLen && (k.n == 1 || a[0] != 0) && allZero(a[k.n:])
	}
	return false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// checkOrder verifies that the suffixes are strictly increasing within each
// bucket and that their leading bits agree with the bucket. Buckets are
// independent, so a large list is checked in two halves at once; the
// error reported is the one at the lowest offset either way.
func (b *base) checkOrder(off int64) error {
	nb := 1 << b.hdr.bits
	if b.hdr.nCUID < 1<<18 {
		return b.checkOrderRange(off, 0, nb)
	}
	var first error
	done := make(chan struct{})
	go func() {
		defer close(done)
		first = b.checkOrderRange(off, 0, nb/2)
	}()
	second := b.checkOrderRange(off, nb/2, nb)
	<-done
	if first != nil {
		return first
	}
	return second
}

// checkOrderRange is checkOrder for buckets [from, to).
func (b *base) checkOrderRange(off int64, from, to int) error {
	extra := uint(b.hdr.bits) - uint(8*b.drop) // bucket bits inside the suffix
	sl := b.slen
	suf := b.slab[b.sufOff:]
	for h := from; h < to; h++ {
		lo, hi := int(b.bucketStart(h)), int(b.bucketStart(h+1))
		var p1, p2 uint64
		for i := lo; i < hi; i++ {
			s := suf[i*sl : (i+1)*sl]
			if extra > 0 && uint32(s[0]>>(8-extra)) != uint32(h)&(1<<extra-1) {
				return fileErr(off+int64(i*sl), "key in the wrong bucket")
			}
			e1, e2 := binary.BigEndian.Uint64(s), binary.BigEndian.Uint64(s[sl-8:])
			if i > lo && (e1 < p1 || (e1 == p1 && e2 <= p2)) {
				return fileErr(off+int64(i*sl), "keys not sorted")
			}
			p1, p2 = e1, e2
		}
	}
	return nil
}

func (b *base) bucketStart(h int) uint32 { return binary.LittleEndian.Uint32(b.slab[4*h:]) }

func checkMeta(r io.Reader, size int64, want uint32, off int64) error {
	c := crc32.New(castagnoli)
	// A whole number of records per read, at most 64 Ki of them; at
	// least one record so that a read can make progress.
	buf := make([]byte, max(cuidMetaLen, min(cuidMetaLen<<16, size/cuidMetaLen*cuidMetaLen)))
	for pos := int64(0); ; {
		n, err := io.ReadFull(r, buf)
		if n%cuidMetaLen != 0 {
			return fileErr(off+pos+int64(n), "metadata truncated")
		}
		for i := 8; i < n; i += cuidMetaLen {
			if buf[i] >= numReasons {
				return fileErr(off+pos+int64(i), "bad reason code %d", buf[i])
			}
		}
		c.Write(buf[:n])
		pos += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return fileErr(off+pos, "read metadata: %v", err)
		}
	}
	if c.Sum32() != want {
		return fileErr(off, "metadata checksum mismatch")
	}
	return nil
}

func (b *base) len() int { return int(b.hdr.nCUID) + int(b.hdr.nSerial) }

// findCUID returns the position of c, or -1. This is the hot path, built
// to cost one cache miss: the first level (b.top, small enough to stay in
// the CPU cache) gives the range of keys sharing c's top bits; CUIDs are
// spread evenly, so interpolating c's next 64 bits over that range lands
// within a few keys of c (about 150 keys per range at 10 million
// entries, a typical error of 6 keys: one or two cache lines). Before the
// slab is touched, the base's Bloom filter (cache-resident too, and
// without false negatives) answers most misses. A short scan settles the
// rest; a skewed list (identifiers sharing long
// prefixes) falls back to a binary search, so answers stay exact whatever
// the distribution. Suffixes are compared as two big-endian words (valid
// since 8 <= slen <= 16).
func (b *base) findCUID(c *profile.CUID) int {
	return b.findCUIDWords(binary.BigEndian.Uint64(c[:8]), binary.BigEndian.Uint64(c[8:]))
}

// findCUIDWords is findCUID for a CUID given as its two big-endian words.
func (b *base) findCUIDWords(w1, w2 uint64) int {
	t := b.topBits
	h := w1 >> (64 - t)
	top := b.top
	if h+1 >= uint64(len(top)) {
		return -1
	}
	lo, hi := int(top[h]), int(top[h+1])
	if lo >= hi {
		return -1
	}
	if f := b.filter; f != nil && !f.mayContain(filterHash(w1, w2), uint32(lo), uint32(hi)) {
		return -1
	}
	g, _ := bits.Mul64(w1<<t|w2>>(64-t), uint64(hi-lo))
	pos := lo + int(g)
	sl := b.slen
	// The stored suffix is the CUID without its first drop bytes: its
	// first word is w1 shifted left by those bytes with w2's top bytes
	// below, its last word is w2 (slen >= 8).
	db := uint(8 * b.drop)
	k1 := w1<<db | w2>>(64-db) // w2 >> 64 is 0 when drop is 0
	k2 := w2
	suf := b.slab[b.sufOff:]
	s := suf[pos*sl : pos*sl+sl]
	e1, e2 := binary.BigEndian.Uint64(s), binary.BigEndian.Uint64(s[sl-8:])
	if e1 == k1 && e2 == k2 {
		return pos
	}
	const scan = 8
	if e1 < k1 || (e1 == k1 && e2 < k2) {
		// c is after pos.
		end := min(hi, pos+1+scan)
		for i := pos + 1; i < end; i++ {
			s := suf[i*sl : i*sl+sl]
			e1 := binary.BigEndian.Uint64(s)
			if e1 < k1 {
				continue
			}
			if e1 > k1 {
				return -1
			}
			e2 := binary.BigEndian.Uint64(s[sl-8:])
			if e2 == k2 {
				return i
			}
			if e2 > k2 {
				return -1
			}
		}
		return searchSuffix(suf, sl, end, hi, k1, k2)
	}
	// c is before pos.
	start := max(lo, pos-scan)
	for i := pos - 1; i >= start; i-- {
		s := suf[i*sl : i*sl+sl]
		e1 := binary.BigEndian.Uint64(s)
		if e1 > k1 {
			continue
		}
		if e1 < k1 {
			return -1
		}
		e2 := binary.BigEndian.Uint64(s[sl-8:])
		if e2 == k2 {
			return i
		}
		if e2 < k2 {
			return -1
		}
	}
	return searchSuffix(suf, sl, lo, start, k1, k2)
}

// searchSuffix binary-searches positions [lo, hi) of the sorted suffixes
// for (k1, k2); it returns the position or -1.
func searchSuffix(suf []byte, sl, lo, hi int, k1, k2 uint64) int {
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		s := suf[m*sl : m*sl+sl]
		e1, e2 := binary.BigEndian.Uint64(s), binary.BigEndian.Uint64(s[sl-8:])
		switch {
		case e1 == k1 && e2 == k2:
			return m
		case e1 < k1 || (e1 == k1 && e2 < k2):
			lo = m + 1
		default:
			hi = m
		}
	}
	return -1
}

func (b *base) findSerial(k Key) int {
	n := int(b.hdr.nSerial)
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		c := compareKeys(b.serialKey(m), k)
		if c == 0 {
			return m
		}
		if c < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return -1
}

func (b *base) serialKey(i int) Key {
	rec := b.serials[i*serialRecLen:]
	k := keyOf(KindSerial, rec[1:1+MaxSerialLen])
	k.n = rec[0]
	return k
}

func (b *base) serialRecord(i int) Record {
	rec := b.serials[i*serialRecLen:]
	return Record{Key: b.serialKey(i), Reason: Reason(rec[21]), RevokedAt: int64(binary.LittleEndian.Uint64(rec[24:]))}
}

func (b *base) contains(k Key) bool {
	switch k.kind {
	case KindCUID:
		return b.findCUIDWords(k.w0, k.w1) >= 0
	case KindSerial:
		return b.findSerial(k) >= 0
	}
	return false
}

// metaRecord decodes the metadata record m (cuidMetaLen bytes) of k.
func metaRecord(k Key, m []byte) Record {
	return Record{Key: k, RevokedAt: int64(binary.LittleEndian.Uint64(m)), Reason: Reason(m[8])}
}

// readMeta reads the metadata of the i-th CUID, k, from the file when it is
// not mapped (the buffer then escapes to the heap through io.ReaderAt,
// which the mapped path avoids).
func (b *base) readMeta(k Key, i int) (Record, bool, error) {
	var m [cuidMetaLen]byte
	if _, err := b.meta.ReadAt(m[:], b.metaOff+int64(i)*cuidMetaLen); err != nil {
		return Record{Key: k}, true, fmt.Errorf("revocation: read metadata of %s: %w", k, err)
	}
	return metaRecord(k, m[:]), true, nil
}

// lookup returns the record of k, reading a CUID's metadata from disk.
func (b *base) lookup(k Key) (Record, bool, error) {
	switch k.kind {
	case KindCUID:
		i := b.findCUIDWords(k.w0, k.w1)
		if i < 0 {
			return Record{}, false, nil
		}
		if b.metaMap != nil {
			return metaRecord(k, b.metaMap[i*cuidMetaLen:(i+1)*cuidMetaLen]), true, nil
		}
		return b.readMeta(k, i)
	case KindSerial:
		if i := b.findSerial(k); i >= 0 {
			return b.serialRecord(i), true, nil
		}
	}
	return Record{}, false, nil
}

// cuidAt rebuilds the i-th CUID of bucket h.
func (b *base) cuidAt(h uint32, i int) profile.CUID {
	var c profile.CUID
	p := h >> (uint(b.hdr.bits) - uint(8*b.drop))
	for j := b.drop - 1; j >= 0; j-- {
		c[j] = byte(p)
		p >>= 8
	}
	copy(c[b.drop:], b.slab[b.sufOff+i*b.slen:b.sufOff+(i+1)*b.slen])
	return c
}

// records yields every record in key order, reading CUID metadata
// sequentially from disk. An I/O error ends the sequence and is stored in
// *errp.
func (b *base) records(errp *error) iter.Seq[Record] {
	return func(yield func(Record) bool) {
		// The buffer follows the section (at most 1 MiB): a small delta
		// does not pay for a large buffer.
		metaLen := int64(b.hdr.nCUID) * cuidMetaLen
		br := bufio.NewReaderSize(io.NewSectionReader(b.meta, b.metaOff, metaLen), int(min(1<<20, max(16, metaLen))))
		var m [cuidMetaLen]byte
		for h := 0; h < 1<<b.hdr.bits; h++ {
			for i := int(b.bucketStart(h)); i < int(b.bucketStart(h+1)); i++ {
				if _, err := io.ReadFull(br, m[:]); err != nil {
					*errp = fmt.Errorf("revocation: read metadata: %w", err)
					return
				}
				r := Record{Key: CUIDKey(b.cuidAt(uint32(h), i)), RevokedAt: int64(binary.LittleEndian.Uint64(m[:])), Reason: Reason(m[8])}
				if !yield(r) {
					return
				}
			}
		}
		for i := 0; i < int(b.hdr.nSerial); i++ {
			if !yield(b.serialRecord(i)) {
				return
			}
		}
	}
}
