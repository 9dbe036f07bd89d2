package revocation

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mynacard/freespace/profile"
)

// storeFileBytes returns a list file of n records (about one in four a serial
// number). With skewed, every CUID shares its first 12 bytes, so all of
// them fall in one bucket: the worst shape for the bucket index and the
// filter.
func storeFileBytes(tb testing.TB, n int, skewed bool) []byte {
	tb.Helper()
	r := rand.New(rand.NewPCG(uint64(n), 7))
	recs := randRecords(r, n)
	if skewed {
		for i := range recs {
			if c, ok := recs[i].Key.CUID(); ok {
				var s profile.CUID
				copy(s[12:], c[12:])
				s[11] = 1
				recs[i].Key = CUIDKey(s)
			}
		}
	}
	slices.SortFunc(recs, func(a, b Record) int { return compareKeys(a.Key, b.Key) })
	recs = slices.CompactFunc(recs, func(a, b Record) bool { return a.Key == b.Key })
	path := filepath.Join(tb.TempDir(), listName(1))
	err := writeStoreFile(path, &fileContent{
		hdr:     fileHeader{typ: fileTypeList, seq: 1, asOf: testAsOf.UnixNano()},
		nCUID:   countCUIDs(recs),
		records: slices.Values(recs),
	})
	if err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkReadStoreFileSize shows that opening (reading and fully
// verifying) a store file costs O(N) in its size N: the ns/B metric stays
// flat as files grow 512-fold, for evenly spread and skewed CUIDs, and
// for a file refused at its last checksum (the most work a damaged file
// can cause). docs/PERFORMANCE.md quotes it:
//
//	go test -run '^$' -bench ReadStoreFileSize -benchtime 20x ./revocation/
func BenchmarkReadStoreFileSize(b *testing.B) {
	for _, shape := range []string{"spread", "skewed", "damaged"} {
		for _, n := range []int{1 << 10, 1 << 13, 1 << 16, 1 << 19} {
			data := storeFileBytes(b, n, shape == "skewed")
			if shape == "damaged" {
				data[len(data)-1] ^= 0xff // the serial section's checksum fails, last
			}
			b.Run(fmt.Sprintf("%s/entries=%d", shape, n), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					_, err := readBase(bytes.NewReader(data), int64(len(data)))
					if (err != nil) != (shape == "damaged") {
						b.Fatalf("readBase: %v", err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(data)), "ns/B")
			})
		}
	}
}

// storeDirWithDeltas writes a store directory holding an empty full list
// at sequence 1 and k deltas of 32 new keys each after it (compaction
// off), as a terminal that synced k times without a merge holds.
func storeDirWithDeltas(tb testing.TB, k int) string {
	tb.Helper()
	dir := tb.TempDir()
	r := rand.New(rand.NewPCG(uint64(k), 9))
	write := func(name string, c *fileContent) {
		if err := writeStoreFile(filepath.Join(dir, name), c); err != nil {
			tb.Fatal(err)
		}
	}
	write(listName(1), &fileContent{hdr: fileHeader{typ: fileTypeList, seq: 1, asOf: testAsOf.UnixNano()}, records: slices.Values([]Record(nil))})
	for seq := uint64(2); seq < uint64(k)+2; seq++ {
		recs := make([]Record, 32)
		for i := range recs {
			recs[i] = Record{Key: CUIDKey(randCUID(r)), RevokedAt: testAsOf.Unix(), Reason: ReasonLost}
		}
		slices.SortFunc(recs, func(a, b Record) int { return compareKeys(a.Key, b.Key) })
		write(deltaName(seq), &fileContent{
			hdr:     fileHeader{typ: fileTypeDelta, seq: seq, prev: seq - 1, asOf: testAsOf.UnixNano() + int64(seq)},
			nCUID:   32,
			records: slices.Values(recs),
		})
	}
	return dir
}

// BenchmarkOpenWithDeltas shows that opening a store directory costs
// O(total size) in the deltas it holds too, not O(deltas²): the ns/delta
// metric stays flat as the number of deltas grows 16-fold.
//
//	go test -run '^$' -bench OpenWithDeltas -benchtime 5x ./revocation/
func BenchmarkOpenWithDeltas(b *testing.B) {
	for _, k := range []int{256, 1024, 4096} {
		dir := storeDirWithDeltas(b, k)
		b.Run(fmt.Sprintf("deltas=%d", k), func(b *testing.B) {
			for b.Loop() {
				s, err := Open(dir, Options{ReadOnly: true, RefreshInterval: -1, Logger: quietLogger()})
				if err != nil {
					b.Fatal(err)
				}
				if got := s.Snapshot().Seq(); got != uint64(k)+1 {
					b.Fatalf("opened at sequence %d, want %d", got, k+1)
				}
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k), "ns/delta")
		})
	}
}
