package revocation

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"iter"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mynacard/freespace/profile"
)

// Benchmarks at national scale. They run only with -bench; the list size
// is REVOCATION_BENCH_N (default 10 000 000). Fixtures (a store file and
// the equivalent DER CRL) are generated once and cached under
// os.TempDir()/freespace-revocation-bench-N.
//
//	go test -run '^$' -bench . -benchmem -benchtime 2s ./revocation/

func benchN(b *testing.B) int {
	n := 10_000_000
	if v := os.Getenv("REVOCATION_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("REVOCATION_BENCH_N=%q: want an integer >= 1000", v)
		}
	}
	return n
}

// benchCUIDs returns n distinct sorted random CUIDs (deterministic).
func benchCUIDs(n int) []profile.CUID {
	r := rand.New(rand.NewPCG(2026, 11))
	type pair struct{ hi, lo uint64 }
	ps := make([]pair, n)
	for i := range ps {
		ps[i] = pair{r.Uint64(), r.Uint64()}
	}
	slices.SortFunc(ps, func(a, b pair) int {
		if a.hi != b.hi {
			if a.hi < b.hi {
				return -1
			}
			return 1
		}
		if a.lo < b.lo {
			return -1
		} else if a.lo > b.lo {
			return 1
		}
		return 0
	})
	ps = slices.Compact(ps)
	out := make([]profile.CUID, len(ps))
	for i, p := range ps {
		binary.BigEndian.PutUint64(out[i][:8], p.hi)
		binary.BigEndian.PutUint64(out[i][8:], p.lo)
	}
	return out
}

type benchFixture struct {
	n     int
	dir   string // a store directory holding list-1
	ids   []profile.CUID
	miss  []profile.CUID // not in the list
	crl   string         // DER CRL of the same identifiers as serials
	asOf  time.Time
	once  sync.Once
	crlMu sync.Once
}

// fixture regenerates the identifiers (deterministic, a few seconds at
// 10M) and writes the store file on first use only.
func fixture(b *testing.B) *benchFixture {
	n := benchN(b)
	f := &benchFixture{n: n}
	f.once.Do(func() {
		f.dir = filepath.Join(os.TempDir(), fmt.Sprintf("freespace-revocation-bench-%d-b%d", n, entriesPerBuckt))
		f.asOf = testAsOf
		f.ids = benchCUIDs(n)
		r := rand.New(rand.NewPCG(7, 7))
		for len(f.miss) < 1<<16 {
			c := randCUID(r)
			if _, found := slices.BinarySearchFunc(f.ids, c, func(a, b profile.CUID) int { return slices.Compare(a[:], b[:]) }); !found {
				f.miss = append(f.miss, c)
			}
		}
		if _, err := os.Stat(filepath.Join(f.dir, listName(1))); err == nil {
			return
		}
		os.RemoveAll(f.dir)
		if err := os.MkdirAll(f.dir, 0o755); err != nil {
			b.Fatal(err)
		}
		recs := func(yield func(Record) bool) {
			for i, c := range f.ids {
				if !yield(Record{Key: CUIDKey(c), RevokedAt: testAsOf.Unix() - int64(i%86400), Reason: Reason(i % numReasons)}) {
					return
				}
			}
		}
		err := writeStoreFile(filepath.Join(f.dir, listName(1)), &fileContent{
			hdr: fileHeader{typ: fileTypeList, seq: 1, asOf: testAsOf.UnixNano()}, nCUID: uint64(len(f.ids)), records: iter.Seq[Record](recs),
		})
		if err != nil {
			b.Fatal(err)
		}
	})
	return f
}

// crlFile returns the path of a DER CRL holding the fixture's identifiers
// as certificate serial numbers, created with crypto/x509.
func (f *benchFixture) crlFile(b *testing.B) string {
	f.crlMu.Do(func() {
		f.crl = filepath.Join(os.TempDir(), fmt.Sprintf("freespace-revocation-bench-%d", f.n), "list.crl")
		if _, err := os.Stat(f.crl); err == nil {
			return
		}
		ca := newBenchCA(b)
		entries := make([]x509.RevocationListEntry, len(f.ids))
		for i, c := range f.ids {
			entries[i] = x509.RevocationListEntry{SerialNumber: new(big.Int).SetBytes(c[:]), RevocationTime: testAsOf.Add(-time.Duration(i%86400) * time.Second)}
		}
		der := ca.crl(b, 1, entries)
		os.MkdirAll(filepath.Dir(f.crl), 0o755)
		if err := os.WriteFile(f.crl, der, 0o644); err != nil {
			b.Fatal(err)
		}
	})
	return f.crl
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func openFixture(b *testing.B, f *benchFixture) *Store {
	s, err := Open(f.dir, Options{CompactAfter: -1, Now: fixedNow(testAsOf.Add(time.Hour))})
	if err != nil {
		b.Fatal(err)
	}
	if got := s.Snapshot().Len(); got != len(f.ids) {
		b.Fatalf("fixture holds %d entries, want %d", got, len(f.ids))
	}
	return s
}

// openFixtureCopy opens a store of its own (in a temporary directory)
// holding a copy of the fixture's list, for benchmarks that write to it.
func openFixtureCopy(b *testing.B, f *benchFixture) *Store {
	dir := b.TempDir()
	data, err := os.ReadFile(filepath.Join(f.dir, listName(1)))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, listName(1)), data, 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := Open(dir, Options{CompactAfter: -1})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// probes returns lookups, half hits and half misses, in random order.
func (f *benchFixture) probes() []Key { return f.probeMix(2, 1) }

// probeMix returns lookups in random order, hitsPer of every per a hit
// (chosen at random from the list), the rest misses.
func (f *benchFixture) probeMix(per, hitsPer int) []Key {
	r := rand.New(rand.NewPCG(5, 5))
	out := make([]Key, 1<<16)
	for i := range out {
		if i%per < hitsPer {
			out[i] = CUIDKey(f.ids[r.IntN(len(f.ids))])
		} else {
			out[i] = CUIDKey(f.miss[r.IntN(len(f.miss))])
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// reportMedian times batches of lookups and reports the median per lookup.
// It checks that about half the lookups hit.
func reportMedian(b *testing.B, probes []Key, fn func(Key) bool) {
	reportMedianHits(b, probes, 0.5, fn)
}

// b2i is 1 for true, else 0, without a branch (SETcc).
func b2i(v bool) int {
	var n int
	if v {
		n = 1
	}
	return n
}

// reportMedianHits is reportMedian for a mix where the fraction wantHits
// of the lookups hit; it checks that fraction within ±1/6. The hits are
// counted without a branch: in a mixed stream a branch on each answer
// would be mispredicted half the time and, since the answer waits on
// memory, stall the harness between lookups, a cost of the harness and
// not of the lookup.
func reportMedianHits(b *testing.B, probes []Key, wantHits float64, fn func(Key) bool) {
	const batch = 1024
	var samples []float64
	hits := 0
	b.ResetTimer()
	for i := 0; i < b.N; {
		t0 := time.Now()
		j := 0
		for ; j < batch && i < b.N; j, i = j+1, i+1 {
			hits += b2i(fn(probes[i&(len(probes)-1)]))
		}
		samples = append(samples, float64(time.Since(t0).Nanoseconds())/float64(j))
	}
	b.StopTimer()
	slices.Sort(samples)
	b.ReportMetric(samples[len(samples)/2], "median-ns/lookup")
	if got := float64(hits) / float64(b.N); b.N >= len(probes) && (got < wantHits-1.0/6 || got > wantHits+1.0/6) {
		b.Fatalf("%d hits in %d lookups, want a fraction of about %.2f", hits, b.N, wantHits)
	}
}

// BenchmarkOpen measures opening the store (checksums verified) and the
// resident heap it takes per entry.
func BenchmarkOpen(b *testing.B) {
	f := fixture(b)
	var heap, resident float64
	for b.Loop() {
		b.StopTimer()
		before := heapInUse()
		b.StartTimer()
		s := openFixture(b, f)
		b.StopTimer()
		base := s.Snapshot().base
		heap = float64(heapInUse()-before) / float64(f.n)
		resident = heap + float64(base.mapped)/float64(f.n)
		runtime.KeepAlive(s)
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(heap, "heap-B/entry")
	b.ReportMetric(resident, "resident-B/entry")
	st, _ := os.Stat(filepath.Join(f.dir, listName(1)))
	b.ReportMetric(float64(st.Size())/float64(f.n), "file-B/entry")
}

func BenchmarkLookup(b *testing.B) {
	f := fixture(b)
	probes := f.probes()
	b.Run("store-contains", func(b *testing.B) {
		s := openFixture(b, f)
		defer s.Close()
		snap := s.Snapshot()
		reportMedian(b, probes, snap.Contains)
	})
	b.Run("store-check", func(b *testing.B) {
		s := openFixture(b, f)
		defer s.Close()
		reportMedian(b, probes, func(k Key) bool {
			r, err := s.Check(k)
			return err == nil && r.Revoked
		})
	})
	b.Run("baseline-map", func(b *testing.B) {
		before := heapInUse()
		m := make(map[string]struct{}, len(f.ids))
		for _, c := range f.ids {
			m[string(c[:])] = struct{}{}
		}
		perEntry := float64(heapInUse()-before) / float64(f.n)
		strs := make([]string, len(probes))
		for i, k := range probes {
			strs[i] = string(k.Bytes())
		}
		idx := 0
		reportMedian(b, probes, func(Key) bool {
			_, ok := m[strs[idx&(len(strs)-1)]]
			idx++
			return ok
		})
		b.ReportMetric(perEntry, "heap-B/entry")
		runtime.KeepAlive(m)
	})
}

// BenchmarkLookupMix is BenchmarkLookup for all-miss probes (a gate's
// normal traffic: cards not revoked, most answered by the base's Bloom
// filter from the CPU cache) and all-hit probes (every lookup reaches the
// key slab), each with the map baseline in the same run. The map exists
// only during its own sub-benchmark, so that collecting its 10 million
// strings does not run beside the store's lookups.
func BenchmarkLookupMix(b *testing.B) {
	f := fixture(b)
	s := openFixture(b, f)
	defer s.Close()
	snap := s.Snapshot()
	for _, mix := range []struct {
		name     string
		probes   []Key
		wantHits float64
	}{
		{"miss", f.probeMix(1, 0), 0},
		{"hit", f.probeMix(1, 1), 1},
	} {
		b.Run(mix.name+"/store-contains", func(b *testing.B) {
			runtime.GC()
			reportMedianHits(b, mix.probes, mix.wantHits, snap.Contains)
		})
		b.Run(mix.name+"/store-check", func(b *testing.B) {
			runtime.GC()
			reportMedianHits(b, mix.probes, mix.wantHits, func(k Key) bool {
				r, err := s.Check(k)
				return err == nil && r.Revoked
			})
		})
		if mix.wantHits == 1 {
			// The floor: one random load from the key slab at the
			// probe's known position, the memory access that no
			// exact answer for a hit can avoid (the keys of a 10M
			// list do not fit in any CPU cache).
			b.Run(mix.name+"/floor-one-load", func(b *testing.B) {
				base := snap.base
				pos := make([]int, len(mix.probes))
				for i, k := range mix.probes {
					if pos[i] = base.findCUIDWords(k.w0, k.w1); pos[i] < 0 {
						b.Fatalf("probe %d not in the list", i)
					}
				}
				suf := base.slab[base.sufOff:]
				idx := 0
				runtime.GC()
				reportMedianHits(b, mix.probes, mix.wantHits, func(k Key) bool {
					p := pos[idx&(len(pos)-1)]
					idx++
					return binary.BigEndian.Uint64(suf[p*base.slen:]) == k.w0<<(8*base.drop)|k.w1>>(64-8*base.drop)
				})
			})
		}
		b.Run(mix.name+"/baseline-map", func(b *testing.B) {
			m := make(map[string]struct{}, len(f.ids))
			for _, c := range f.ids {
				m[string(c[:])] = struct{}{}
			}
			strs := make([]string, len(mix.probes))
			for i, k := range mix.probes {
				strs[i] = string(k.Bytes())
			}
			runtime.GC()
			idx := 0
			reportMedianHits(b, mix.probes, mix.wantHits, func(Key) bool {
				_, ok := m[strs[idx&(len(strs)-1)]]
				idx++
				return ok
			})
			runtime.KeepAlive(m)
		})
	}
}

// BenchmarkApplyDelta applies a 10 000-entry delta (written to disk and
// fsynced) to the 10M list. Between timed iterations the inverse delta
// brings the overlay back, so each iteration sees the same state.
func BenchmarkApplyDelta(b *testing.B) {
	s := openFixtureCopy(b, fixture(b))
	defer s.Close()
	r := rand.New(rand.NewPCG(8, 8))
	seq := s.Snapshot().Seq()
	ctx := context.Background()
	asOf := testAsOf
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		add := make([]Record, 10_000)
		rem := make([]Key, len(add))
		for i := range add {
			add[i] = Record{Key: CUIDKey(randCUID(r)), RevokedAt: asOf.Unix(), Reason: ReasonLost}
			rem[i] = add[i].Key
		}
		asOf = asOf.Add(time.Second)
		fwd := &Update{Seq: seq + 1, Prev: seq, AsOf: asOf, Add: add}
		inv := &Update{Seq: seq + 2, Prev: seq + 1, AsOf: asOf, Remove: rem}
		seq += 2
		b.StartTimer()
		if err := s.Apply(ctx, fwd); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Apply(ctx, inv); err != nil {
			b.Fatal(err)
		}
		os.Remove(filepath.Join(s.Dir(), deltaName(seq-1)))
		os.Remove(filepath.Join(s.Dir(), deltaName(seq)))
		b.StartTimer()
	}
}

// BenchmarkApplyDeltaInMemory is BenchmarkApplyDelta without the disk
// write: checking and merging a 10 000-entry delta into the overlay of the
// 10M list and building the new snapshot.
func BenchmarkApplyDeltaInMemory(b *testing.B) {
	f := fixture(b)
	s := openFixture(b, f)
	defer s.Close()
	snap := s.Snapshot()
	r := rand.New(rand.NewPCG(10, 10))
	for b.Loop() {
		b.StopTimer()
		u := &Update{Seq: snap.Seq() + 1, Prev: snap.Seq(), AsOf: testAsOf.Add(time.Hour)}
		start := r.IntN(len(f.ids) - 1000)
		for i := range 10_000 {
			if i%10 == 0 {
				u.Remove = append(u.Remove, CUIDKey(f.ids[start+i/10]))
				continue
			}
			u.Add = append(u.Add, Record{Key: CUIDKey(randCUID(r)), RevokedAt: 1, Reason: ReasonLost})
		}
		b.StartTimer()
		if err := u.normalize("bench"); err != nil {
			b.Fatal(err)
		}
		if err := checkFollows(snap, u); err != nil {
			b.Fatal(err)
		}
		next := snap.withDelta(u)
		if next.Len() != snap.Len()+len(u.Add)-len(u.Remove) {
			b.Fatalf("len %d", next.Len())
		}
	}
}

// BenchmarkCompact merges a 10 000-entry overlay into a new 10M base: the
// background work after a sync.
func BenchmarkCompact(b *testing.B) {
	s := openFixtureCopy(b, fixture(b))
	defer s.Close()
	r := rand.New(rand.NewPCG(9, 9))
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		seq := s.Snapshot().Seq()
		u := &Update{Seq: seq + 1, Prev: seq, AsOf: testAsOf.Add(time.Duration(seq) * time.Second)}
		for range 10_000 {
			u.Add = append(u.Add, Record{Key: CUIDKey(randCUID(r)), RevokedAt: 1, Reason: ReasonLost})
		}
		if err := s.Apply(ctx, u); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.Compact(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCRLBaseline parses the equivalent DER CRL with crypto/x509 and
// searches it: what a user without this package would write.
func BenchmarkCRLBaseline(b *testing.B) {
	f := fixture(b)
	der, err := os.ReadFile(f.crlFile(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse", func(b *testing.B) {
		var perEntry float64
		for b.Loop() {
			before := heapInUse()
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				b.Fatal(err)
			}
			perEntry = float64(heapInUse()-before) / float64(f.n)
			if len(crl.RevokedCertificateEntries) != f.n {
				b.Fatalf("%d entries", len(crl.RevokedCertificateEntries))
			}
			runtime.KeepAlive(crl)
		}
		b.ReportMetric(perEntry, "heap-B/entry")
	})
	b.Run("search", func(b *testing.B) {
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			b.Fatal(err)
		}
		probes := f.probes()
		serials := make([]*big.Int, len(probes))
		for i, k := range probes {
			serials[i] = new(big.Int).SetBytes(k.Bytes())
		}
		idx := 0
		reportMedian(b, probes, func(Key) bool {
			s := serials[idx&(len(serials)-1)]
			idx++
			for i := range crl.RevokedCertificateEntries {
				if crl.RevokedCertificateEntries[i].SerialNumber.Cmp(s) == 0 {
					return true
				}
			}
			return false
		})
	})
}

// BenchmarkBuildFilter measures building the Bloom filter of the 10M list,
// the part of BenchmarkOpen the filter adds.
func BenchmarkBuildFilter(b *testing.B) {
	f := fixture(b)
	s := openFixture(b, f)
	defer s.Close()
	base := s.Snapshot().base
	for b.Loop() {
		base.buildFilter()
	}
}

// benchCA is a CA that signs the baseline's CRL (crypto/x509 in a test
// only: the package itself does not link it).
type benchCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newBenchCA(t testing.TB) benchCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "freespace test CA"},
		NotBefore:             testAsOf.Add(-24 * time.Hour),
		NotAfter:              testAsOf.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCRLSign | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return benchCA{cert: cert, key: key}
}

func (ca benchCA) crl(t testing.TB, number int64, entries []x509.RevocationListEntry) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(crand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(number),
		ThisUpdate:                testAsOf,
		NextUpdate:                testAsOf.Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
