package feed

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mynacard/freespace/revocation"
)

// refDiff is the delta from list a to list b computed the obvious way in
// memory: the reference the streaming publisher must match byte for byte.
func refDiff(a, b []revocation.Record) (add []revocation.Record, remove []revocation.Key) {
	old := map[revocation.Key]revocation.Record{}
	for _, r := range a {
		old[r.Key] = r
	}
	for _, r := range b {
		if o, ok := old[r.Key]; !ok || o != r {
			add = append(add, r)
		}
		delete(old, r.Key)
	}
	for k := range old {
		remove = append(remove, k)
	}
	slices.SortFunc(add, func(x, y revocation.Record) int { return x.Key.Compare(y.Key) })
	slices.SortFunc(remove, func(x, y revocation.Key) int { return x.Compare(y) })
	return add, remove
}

func sortedRecords(rs []revocation.Record) []revocation.Record {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(x, y revocation.Record) int { return x.Key.Compare(y.Key) })
	return out
}

// textOf is the CSV form of u.
func textOf(t *testing.T, u *revocation.Update) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := revocation.WriteText(&buf, u, ','); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestStreamingPublishFilesUnchanged: the streaming publisher writes the
// files of docs/PROTOCOL.md chapter 9.2 byte for byte as the list and delta
// built in memory would be (sorted records, the delta's additions then
// its removals), each with the signature crypto/ed25519 gives; a master
// given as a slice and the same master spooled to disk give identical
// feeds.
func TestStreamingPublishFilesUnchanged(t *testing.T) {
	ctx := context.Background()
	key := testKey(t, 7)
	lists := masters(3, 3000)
	memDir, spDir := t.TempDir(), t.TempDir()
	for i, list := range lists {
		seq := uint64(i + 1)
		asOf := testAsOf.Add(time.Duration(i) * time.Hour)
		if _, err := (&Publisher{Dir: memDir, Key: key}).Publish(ctx, list, asOf); err != nil {
			t.Fatal(err)
		}
		master, err := revocation.TextParser{SpoolDir: spDir, SpoolRecords: 500}.Parse(bytes.NewReader(textOf(t, &revocation.Update{Full: true, Seq: 99, AsOf: testAsOf, Add: list})))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&Publisher{Dir: spDir, Key: key}).PublishList(ctx, master, asOf); err != nil {
			t.Fatal(err)
		}
		master.Close()

		name := fmt.Sprintf("list-%020d.csv", seq)
		want := textOf(t, &revocation.Update{Full: true, Seq: seq, AsOf: asOf, Add: sortedRecords(list)})
		files := map[string][]byte{name: want}
		if i > 0 {
			add, rm := refDiff(lists[i-1], list)
			files[fmt.Sprintf("delta-%020d.csv", seq)] = textOf(t, &revocation.Update{Seq: seq, Prev: seq - 1, AsOf: asOf, Add: add, Remove: rm})
		}
		for n, want := range files {
			for _, dir := range []string{memDir, spDir} {
				got, err := os.ReadFile(filepath.Join(dir, n))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s in %s differs from the in-memory reference", n, dir)
				}
				sig, _ := os.ReadFile(filepath.Join(dir, n+SigSuffix))
				if !bytes.Equal(sig, ed25519.Sign(key, want)) {
					t.Fatalf("%s.sig is not crypto/ed25519's signature", n)
				}
			}
		}
	}
	for _, n := range []string{IndexName, IndexName + SigSuffix} {
		a, _ := os.ReadFile(filepath.Join(memDir, n))
		b, _ := os.ReadFile(filepath.Join(spDir, n))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between the slice and the spooled master", n)
		}
	}
	for _, dir := range []string{memDir, spDir} {
		for _, e := range must(os.ReadDir(dir)) {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Fatalf("temporary file %s left in %s", e.Name(), dir)
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// liveHeap is the heap in use right after a collection: what the
// program holds at this point, not what it allocated over time.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// streamPeaks publishes a random list of n entries from a master file
// spooled in memRecs-record runs, then syncs a new store from the feed,
// and returns the largest live heap seen at the progress reports of the
// publish (verify, build, sign) and of the sync (download, apply).
// Without sampling (a benchmark) nothing is measured.
func streamPeaks(t testing.TB, n, memRecs int, measure bool) (pub, sync uint64) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	feedDir, storeDir := filepath.Join(dir, "feed"), filepath.Join(dir, "store")
	must(0, os.Mkdir(storeDir, 0o755))
	must(0, os.Mkdir(feedDir, 0o755))
	r := rand.New(rand.NewPCG(uint64(n), 1))
	masterPath := filepath.Join(dir, "master.csv")
	f := must(os.Create(masterPath))
	tw := must(revocation.NewTextWriter(f, &revocation.Update{Full: true, Seq: 1, AsOf: testAsOf}, ','))
	for range n {
		must(0, tw.Add(revocation.Record{Key: revocation.CUIDKey(randCUID(r)), RevokedAt: testAsOf.Unix(), Reason: revocation.ReasonLost}))
	}
	must(0, tw.Close())
	must(0, f.Close())
	sample := func(peak *uint64) revocation.ProgressFunc {
		if !measure {
			return nil
		}
		return func(revocation.Phase, string, int64, int64) { *peak = max(*peak, liveHeap()) }
	}
	in := must(os.Open(masterPath))
	defer in.Close()
	master, err := revocation.TextParser{SpoolDir: feedDir, SpoolRecords: memRecs}.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	key := testKey(t, 9)
	if _, err := (&Publisher{Dir: feedDir, Key: key, Progress: sample(&pub)}).PublishList(ctx, master, testAsOf); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, storeDir, revocation.Options{Progress: sample(&sync)})
	res, err := (&Syncer{Store: s, Source: &DirSource{Dir: feedDir}, PublicKey: key.Public().(ed25519.PublicKey), Progress: sample(&sync), SpoolRecords: memRecs}).Sync(ctx)
	if err != nil || res.To != 1 || s.Snapshot().Len() != n {
		t.Fatalf("sync: %+v, %d entries, %v", res, s.Snapshot().Len(), err)
	}
	return pub, sync
}

// TestPublishAndSyncMemoryBounded: publishing and syncing hold the list
// on disk, not in memory. Between 20 000 and 200 000 entries the live heap
// at the progress reports grows by less than 4 MiB for each, where
// holding the list (40 bytes a record) would add at least 6.9 MiB.
// (docs/PERFORMANCE.md has the 10-million-entry figures, measured on the
// cardap binary by internal/revmeasure.)
func TestPublishAndSyncMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 30 MB of lists")
	}
	const memRecs = 16 << 10
	pubSmall, syncSmall := streamPeaks(t, 20_000, memRecs, true)
	pubLarge, syncLarge := streamPeaks(t, 200_000, memRecs, true)
	const limit = 4 << 20
	for _, c := range []struct {
		what         string
		small, large uint64
	}{{"publish", pubSmall, pubLarge}, {"sync", syncSmall, syncLarge}} {
		t.Logf("%s: live heap %d KiB at 20 000 entries, %d KiB at 200 000", c.what, c.small>>10, c.large>>10)
		if c.small == 0 || c.large == 0 {
			t.Fatalf("%s: no progress reported", c.what)
		}
		if c.large > c.small+limit {
			t.Errorf("%s: live heap grew by %d KiB from 20 000 to 200 000 entries (limit %d KiB)", c.what, (c.large-c.small)>>10, limit>>10)
		}
	}
}

// BenchmarkPublishAndSyncStreaming publishes a list of FEED_BENCH_N
// entries (default 1 000 000) from a spooled master and syncs a new store
// from it: run with -benchmem to see that the bytes allocated per
// operation do not stay resident (the peak is measured by
// internal/revmeasure).
//
//	FEED_BENCH_N=1000000 go test -run '^$' -bench Streaming -benchmem ./revocation/feed/
func BenchmarkPublishAndSyncStreaming(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("FEED_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("FEED_BENCH_N=%q: want a positive integer", v)
		}
	}
	for b.Loop() {
		streamPeaks(b, n, 0, false)
	}
	b.ReportMetric(float64(n), "entries/op")
}
