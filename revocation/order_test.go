package revocation

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadBaseRefusesMisorderedKeys forges store files whose checksums are
// all valid but whose keys break the order lookups rely on: two keys of a
// bucket swapped, near the start and near the end of the file. A large
// list is checked in two halves at once, a small one inline; either way
// the file is refused with the offset of the first key out of order.
func TestReadBaseRefusesMisorderedKeys(t *testing.T) {
	for _, n := range []int{1000, 1<<18 + 1000} {
		ids := benchCUIDs(n)
		path := filepath.Join(t.TempDir(), listName(1))
		recs := func(yield func(Record) bool) {
			for _, c := range ids {
				if !yield(Record{Key: CUIDKey(c), RevokedAt: testAsOf.Unix(), Reason: ReasonLost}) {
					return
				}
			}
		}
		require.NoError(t, writeStoreFile(path, &fileContent{hdr: fileHeader{typ: fileTypeList, seq: 1, asOf: testAsOf.UnixNano()}, nCUID: uint64(n), records: recs}))
		good, err := os.ReadFile(path)
		require.NoError(t, err)
		_, err = readBase(bytes.NewReader(good), int64(len(good)))
		require.NoError(t, err, "the unforged file opens")

		h, err := unmarshalHeader(good)
		require.NoError(t, err)
		l := h.layout()
		nb := 1 << h.bits
		start := func(b []byte, i int) int { return int(binary.LittleEndian.Uint32(b[l.index+int64(4*i):])) }
		// The first bucket from `from` on (stepping by dir) that holds two
		// keys or more.
		pick := func(from, dir int) int {
			for i := from; i >= 0 && i < nb; i += dir {
				if start(good, i+1)-start(good, i) >= 2 {
					return i
				}
			}
			t.Fatal("no bucket with two keys")
			return 0
		}
		for _, bucket := range []int{pick(0, 1), pick(nb-1, -1)} {
			bad := bytes.Clone(good)
			sl := l.slen
			p := int(l.suffix) + start(bad, bucket)*sl
			a, b := bytes.Clone(bad[p:p+sl]), bytes.Clone(bad[p+sl:p+2*sl])
			copy(bad[p:], b)
			copy(bad[p+sl:], a)
			h.crcSuf = crc32.Checksum(bad[l.suffix:l.meta], castagnoli)
			copy(bad, h.marshal())

			_, err := readBase(bytes.NewReader(bad), int64(len(bad)))
			var pe *ParseError
			if assert.True(t, errors.As(err, &pe), "n=%d bucket %d: %v", n, bucket, err) {
				assert.Equal(t, int64(p+sl), pe.Offset, "n=%d bucket %d", n, bucket)
				assert.Contains(t, pe.Msg, "not sorted")
			}
		}
	}
}
