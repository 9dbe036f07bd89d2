package revocation

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"math/bits"
	"os"
	"runtime"
	"time"

	"github.com/mynacard/freespace/profile"
)

// Binary store file layout (docs/PROTOCOL.md chapter 9.3). All integers are
// little-endian. A file is a 96-byte header followed by five sections:
//
//	index    (2^bucketBits + 1) × uint32: start of each CUID bucket
//	suffix   nCUID × (16 - bucketBits/8) bytes: sorted CUIDs without the
//	         prefix bytes implied by their bucket
//	cuidMeta nCUID × 9 bytes: revoked-at (int64 Unix seconds), reason
//	serial   nSerial × 32 bytes: length, 20 bytes, reason, 2 zero bytes,
//	         revoked-at (int64 Unix seconds); sorted
//	remove   nRemove × 22 bytes: kind, length, 20 bytes; sorted
//
// Each section has its own CRC-32C in the header; the header has one too.
// Header: magic, type, bucket bits, seq, prev, as-of (Unix ns), the three
// counts, the CRCs of index, meta, serial, remove and suffix, header CRC.
const (
	fileMagic       = "FSREVB01"
	fileHeaderLen   = 96
	fileTypeList    = 1
	fileTypeDelta   = 2
	cuidMetaLen     = 9
	serialRecLen    = 32
	removeRecLen    = 22
	minBucketBits   = 8
	maxBucketBits   = 24
	entriesPerBuckt = 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type fileHeader struct {
	typ      uint8
	bits     uint8
	seq      uint64
	prev     uint64
	asOf     int64 // Unix nanoseconds
	nCUID    uint64
	nSerial  uint64
	nRemove  uint64
	crcIndex uint32
	crcSuf   uint32
	crcMeta  uint32
	crcSer   uint32
	crcRem   uint32
}

func (h *fileHeader) marshal() []byte {
	b := make([]byte, fileHeaderLen)
	copy(b, fileMagic)
	b[8], b[9] = h.typ, h.bits
	le := binary.LittleEndian
	le.PutUint64(b[16:], h.seq)
	le.PutUint64(b[24:], h.prev)
	le.PutUint64(b[32:], uint64(h.asOf))
	le.PutUint64(b[40:], h.nCUID)
	le.PutUint64(b[48:], h.nSerial)
	le.PutUint64(b[56:], h.nRemove)
	le.PutUint32(b[64:], h.crcIndex)
	le.PutUint32(b[68:], h.crcMeta)
	le.PutUint32(b[72:], h.crcSer)
	le.PutUint32(b[76:], h.crcRem)
	le.PutUint32(b[80:], h.crcSuf)
	le.PutUint32(b[88:], crc32.Checksum(b[:88], castagnoli))
	return b
}

func fileErr(off int64, format string, a ...any) error {
	return &ParseError{Source: "store file", Offset: off, Msg: fmt.Sprintf(format, a...)}
}

func unmarshalHeader(b []byte) (fileHeader, error) {
	var h fileHeader
	if len(b) < fileHeaderLen {
		return h, fileErr(int64(len(b)), "header truncated")
	}
	if string(b[:8]) != fileMagic {
		return h, fileErr(0, "bad magic")
	}
	le := binary.LittleEndian
	if crc32.Checksum(b[:88], castagnoli) != le.Uint32(b[88:]) {
		return h, fileErr(88, "header checksum mismatch")
	}
	h.typ, h.bits = b[8], b[9]
	h.seq = le.Uint64(b[16:])
	h.prev = le.Uint64(b[24:])
	h.asOf = int64(le.Uint64(b[32:]))
	h.nCUID = le.Uint64(b[40:])
	h.nSerial = le.Uint64(b[48:])
	h.nRemove = le.Uint64(b[56:])
	h.crcIndex = le.Uint32(b[64:])
	h.crcMeta = le.Uint32(b[68:])
	h.crcSer = le.Uint32(b[72:])
	h.crcRem = le.Uint32(b[76:])
	h.crcSuf = le.Uint32(b[80:])
	if (h.typ != fileTypeList && h.typ != fileTypeDelta) || h.bits < minBucketBits || h.bits > maxBucketBits {
		return h, fileErr(8, "bad type or bucket bits")
	}
	const maxN = 1 << 32
	if h.nCUID >= maxN || h.nSerial >= maxN || h.nRemove >= maxN {
		return h, fileErr(40, "entry count too large")
	}
	return h, nil
}

// layout gives the section offsets and the total size of a file.
type layout struct {
	slen                          int
	index, suffix, meta, ser, rem int64
	size                          int64
}

func (h *fileHeader) layout() layout {
	var l layout
	l.slen = profile.CUIDLen - int(h.bits)/8
	l.index = fileHeaderLen
	l.suffix = l.index + 4*(int64(1)<<h.bits+1)
	l.meta = l.suffix + int64(h.nCUID)*int64(l.slen)
	l.ser = l.meta + int64(h.nCUID)*cuidMetaLen
	l.rem = l.ser + int64(h.nSerial)*serialRecLen
	l.size = l.rem + int64(h.nRemove)*removeRecLen
	return l
}

// bucketBitsFor picks about entriesPerBuckt CUIDs per bucket.
func bucketBitsFor(n uint64) uint8 {
	b := bits.Len64(n / entriesPerBuckt)
	return uint8(min(max(b, minBucketBits), maxBucketBits))
}

func bucketOf(c *profile.CUID, b uint8) uint32 {
	return binary.BigEndian.Uint32(c[:4]) >> (32 - b)
}

// fileContent is what writeStoreFile writes: every record in key order
// (CUIDs, then serials), nCUID of them CUIDs, and sorted removals.
type fileContent struct {
	hdr     fileHeader // typ, seq, prev, asOf
	nCUID   uint64
	records iter.Seq[Record]
	// recErr, when set, is where records stores an error that ended it
	// early; the file is then not written.
	recErr  *error
	removes []Key
}

// writeStoreFile writes c to path crash-safely: a temporary file in the same
// directory, fsync, rename, fsync of the directory.
func writeStoreFile(path string, c *fileContent) (err error) {
	h := c.hdr
	h.nCUID, h.nRemove = c.nCUID, uint64(len(c.removes))
	h.bits = bucketBitsFor(h.nCUID)
	return writeAtomic(path, func(f *os.File) error {
		l := h.layout()
		index := make([]uint32, 1<<h.bits+1)
		bufSize := int(min(1<<20, max(4096, int64(h.nCUID)*cuidMetaLen)))
		sw := bufio.NewWriterSize(io.NewOffsetWriter(f, l.suffix), bufSize)
		mw := bufio.NewWriterSize(io.NewOffsetWriter(f, l.meta), bufSize)
		// Serials follow the CUIDs in key order and their section starts
		// right after the metadata, whose size the CUID count gives: they
		// are streamed too, so no section is held in memory.
		serw := bufio.NewWriterSize(io.NewOffsetWriter(f, l.ser), 64<<10)
		var cb [profile.CUIDLen]byte
		sufCRC, metaCRC, serCRC := crc32.New(castagnoli), crc32.New(castagnoli), crc32.New(castagnoli)
		var n, nSerial uint64
		var meta [cuidMetaLen]byte
		var prev Key
		drop := int(h.bits) / 8
		first := true
		for r := range c.records {
			if !first && compareKeys(prev, r.Key) >= 0 {
				return fmt.Errorf("revocation: internal: records not sorted")
			}
			first, prev = false, r.Key
			c, ok := r.Key.CUID()
			if !ok {
				rec := serialRecord(r)
				serw.Write(rec[:])
				serCRC.Write(rec[:])
				nSerial++
				continue
			}
			if n == h.nCUID {
				return fmt.Errorf("revocation: internal: more CUID records than the %d announced", h.nCUID)
			}
			index[bucketOf(&c, h.bits)+1]++
			cb = c
			sw.Write(cb[drop:])
			sufCRC.Write(cb[drop:])
			binary.LittleEndian.PutUint64(meta[:], uint64(r.RevokedAt))
			meta[8] = byte(r.Reason)
			mw.Write(meta[:])
			metaCRC.Write(meta[:])
			n++
		}
		if c.recErr != nil && *c.recErr != nil {
			return *c.recErr
		}
		h.nSerial = nSerial
		l = h.layout()
		if n != h.nCUID {
			return fmt.Errorf("revocation: internal: %d CUID records, announced %d", n, h.nCUID)
		}
		for _, w := range []*bufio.Writer{sw, mw, serw} {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		for i := 1; i < len(index); i++ {
			index[i] += index[i-1]
		}
		ib := make([]byte, 4*len(index))
		for i, v := range index {
			binary.LittleEndian.PutUint32(ib[4*i:], v)
		}
		if _, err := f.WriteAt(ib, l.index); err != nil {
			return err
		}
		h.crcIndex = crc32.Checksum(ib, castagnoli)
		h.crcSuf = sufCRC.Sum32()
		h.crcMeta = metaCRC.Sum32()
		h.crcSer = serCRC.Sum32()
		rb := removalSection(c.removes)
		h.crcRem = crc32.Checksum(rb, castagnoli)
		if _, err := f.WriteAt(rb, l.rem); err != nil {
			return err
		}
		_, err := f.WriteAt(h.marshal(), 0)
		return err
	})
}

// serialRecord encodes a serial record (docs/PROTOCOL.md chapter 9.3
// item 4): length, the serial zero-padded to 20 bytes, reason code, two
// zero bytes, revoked-at (int64 little-endian, Unix seconds).
func serialRecord(r Record) [serialRecLen]byte {
	var rec [serialRecLen]byte
	rec[0] = r.Key.n
	raw := r.Key.raw()
	copy(rec[1:21], raw[:])
	rec[21] = byte(r.Reason)
	binary.LittleEndian.PutUint64(rec[24:], uint64(r.RevokedAt))
	return rec
}

// removalSection encodes the removals (§9.3 item 5): kind, length, the
// key's bytes zero-padded to 20.
func removalSection(removes []Key) []byte {
	rb := make([]byte, 0, removeRecLen*len(removes))
	for _, k := range removes {
		rb = append(rb, byte(k.kind), k.n)
		raw := k.raw()
		rb = append(rb, raw[:]...)
	}
	return rb
}

// fileModeIn is the mode of a file written through writeAtomic into a
// directory of mode dir: read and write permissions follow the
// directory's (0755 gives 0644, 0750 gives 0640, 0700 gives 0600), so a
// feed directory the web server may read, or a store directory shared
// with checkers running as other users, gets files they can read, and a
// private directory private files. os.CreateTemp alone would always
// leave 0600.
func fileModeIn(dir os.FileMode) os.FileMode { return 0o666 & dir.Perm() }

// writeAtomic creates path through a temporary file: fill writes the
// content, then the file is given fileModeIn(its directory), synced,
// renamed over path and
// the directory synced. On any error the temporary file is removed and
// path untouched.
func writeAtomic(path string, fill func(f *os.File) error) (err error) {
	dir, base := splitPath(path)
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if runtime.GOOS != "windows" {
		var di os.FileInfo
		if di, err = os.Stat(dir); err != nil {
			return fmt.Errorf("revocation: %w", err)
		}
		if err = f.Chmod(fileModeIn(di.Mode())); err != nil {
			return fmt.Errorf("revocation: %w", err)
		}
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("revocation: sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("revocation: close %s: %w", tmp, err)
	}
	if err = replaceFile(tmp, path); err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // a directory cannot be fsynced there; replaceFile's MOVEFILE_WRITE_THROUGH makes the rename durable
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("revocation: sync dir %s: %w", dir, err)
	}
	return nil
}

// fileTime converts the header's as-of time.
func fileTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func splitPath(p string) (dir, base string) {
	for i := len(p) - 1; i >= 0; i-- {
		if os.IsPathSeparator(p[i]) {
			return p[:i+1], p[i+1:]
		}
	}
	return ".", p
}
