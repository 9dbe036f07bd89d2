package revocation

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// sortedCopy returns rs sorted by key.
func sortedCopy(rs []Record) []Record {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b Record) int { return compareKeys(a.Key, b.Key) })
	return out
}

// collect reads every record of seq, failing the test on an error.
func collect(t *testing.T, seq func(*error) iter.Seq[Record]) []Record {
	t.Helper()
	var err error
	var out []Record
	for r := range seq(&err) {
		out = append(out, r)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestSpoolSortsAcrossRuns: records added in random order come back in
// key order, the same on every read, whether they stayed in memory or
// were spilled to many runs; run files leave the directory at once
// (where the system allows) and are gone after close.
func TestSpoolSortsAcrossRuns(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n, mem int
	}{
		{"in memory", 500, 1000},
		{"one full run", 1000, 1000},
		{"many runs", 1000, 7},
		{"empty", 0, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.mem)))
			recs := randRecords(r, tc.n)
			dir := t.TempDir()
			sp := newSpool(dir, "test", tc.mem)
			for _, rec := range recs {
				if err := sp.add(rec); err != nil {
					t.Fatal(err)
				}
			}
			if want := (tc.n - 1) / tc.mem; tc.n > 0 && len(sp.runs) != want {
				t.Fatalf("%d runs, want %d", len(sp.runs), want)
			}
			if runtime.GOOS != "windows" {
				if names := dirNames(t, dir); len(names) != 0 {
					t.Fatalf("run files left in the directory: %v", names)
				}
			}
			want := sortedCopy(recs)
			for range 2 {
				got := collect(t, sp.records)
				if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
					t.Fatalf("got %d records, not the %d sorted input records", len(got), len(want))
				}
			}
			if sp.n != uint64(tc.n) {
				t.Fatalf("count %d, want %d", sp.n, tc.n)
			}
			if err := sp.close(); err != nil {
				t.Fatal(err)
			}
			if names := dirNames(t, dir); len(names) != 0 {
				t.Fatalf("files left after close: %v", names)
			}
		})
	}
}

// TestSpoolRefusesDuplicates: a key added twice is a *ParseError naming
// it, whether both copies are in one run, in two runs, or one in a run
// and one in memory.
func TestSpoolRefusesDuplicates(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	base := randRecords(r, 100)
	for _, tc := range []struct {
		name string
		at   int // where the copy of base[0] goes
		mem  int
	}{
		{"same run", 1, 10},
		{"two runs", 55, 10},
		{"run and memory", 100, 10},
		{"all in memory", 50, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := slices.Insert(slices.Clone(base), tc.at, Record{Key: base[0].Key, RevokedAt: 1})
			sp := newSpool(t.TempDir(), "text", tc.mem)
			defer sp.close()
			var err error
			for _, rec := range recs {
				if err = sp.add(rec); err != nil {
					break
				}
			}
			if err == nil {
				for range sp.records(&err) {
				}
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "duplicate key "+base[0].Key.String()) {
				t.Fatalf("err = %v, want a *ParseError for duplicate key %s", err, base[0].Key)
			}
		})
	}
}

// textDoc writes recs as a full list in random order.
func textDoc(t *testing.T, recs []Record, seq uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteText(&buf, &Update{Full: true, Seq: seq, AsOf: testAsOf, Add: recs}, ','); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSpooledParseMatchesInMemory: a full list parsed with SpoolDir gives
// the records, in the order, that the in-memory parse gives, and
// malformed documents are refused with the same error either way.
func TestSpooledParseMatchesInMemory(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	recs := randRecords(r, 3000)
	doc := textDoc(t, recs, 9)
	dir := t.TempDir()
	mem, err := TextParser{}.Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := TextParser{SpoolDir: dir, SpoolRecords: 100}.Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if sp.Add != nil || sp.Len() != len(recs) || sp.Seq != 9 || !sp.AsOf.Equal(testAsOf) || !sp.Full {
		t.Fatalf("spooled update: Add %d, Len %d, Seq %d, AsOf %s", len(sp.Add), sp.Len(), sp.Seq, sp.AsOf)
	}
	if got := collect(t, sp.Records); !slices.Equal(got, mem.Add) {
		t.Fatal("spooled records differ from the in-memory parse")
	}
	// Malformed documents: the same refusal.
	lines := strings.SplitAfter(string(doc), "\n")
	for _, tc := range []struct{ name, doc string }{
		{"truncated", strings.Join(lines[:len(lines)-30], "")},
		{"bad reason", strings.Replace(string(doc), ",lost\n", ",misplaced\n", 1)},
		{"bad count", strings.Replace(string(doc), "#end 3000", "#end 2999", 1)},
		{"after trailer", string(doc) + "x\n"},
		{"repeated line", strings.Join(slices.Insert(slices.Clone(lines), 10, lines[10]), "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, e1 := TextParser{}.Parse(strings.NewReader(tc.doc))
			_, e2 := TextParser{SpoolDir: dir, SpoolRecords: 100}.Parse(strings.NewReader(tc.doc))
			if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
				t.Fatalf("in memory: %v; spooled: %v", e1, e2)
			}
		})
	}
	if names := dirNames(t, dir); runtime.GOOS != "windows" && len(names) != 0 {
		t.Fatalf("files left in the spool directory: %v", names)
	}
}

// TestApplySpooledList: a spooled list applied to a store gives the very
// file the in-memory list gives; a spooled list holding a key twice (a
// serial, found only after every CUID was written) is refused and the
// store is unchanged, with no list file and no temporary file left.
func TestApplySpooledList(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	recs := randRecords(r, 2000)
	doc := textDoc(t, recs, 3)
	memDir, spDir := t.TempDir(), t.TempDir()
	mem, err := TextParser{}.Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := mustOpen(t, memDir, Options{}).Apply(ctx, mem); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, spDir, Options{})
	var reports int
	s.opts.Progress = func(phase Phase, file string, done, total int64) {
		if phase != PhaseApply || (file != listName(3) && file != listName(4)) || done > total || (file == listName(3) && total != int64(len(recs))) {
			t.Errorf("progress %s %s %d/%d", phase, file, done, total)
		}
		reports++
	}
	sp, err := TextParser{SpoolDir: spDir, SpoolRecords: 64}.Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, sp); err != nil {
		t.Fatal(err)
	}
	sp.Close()
	if reports == 0 {
		t.Error("no progress reported")
	}
	a, _ := os.ReadFile(filepath.Join(memDir, listName(3)))
	b, _ := os.ReadFile(filepath.Join(spDir, listName(3)))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("store files differ (%d and %d bytes)", len(a), len(b))
	}

	// A serial listed twice, on lines far apart: the parse (which only
	// sees neighbouring lines) takes it, the apply refuses it.
	var serial Record
	for _, rec := range recs {
		if rec.Key.Kind() == KindSerial {
			serial = rec
			break
		}
	}
	dup := append(slices.Clone(recs), Record{Key: serial.Key, RevokedAt: serial.RevokedAt + 1})
	bad, err := TextParser{SpoolDir: spDir, SpoolRecords: 64}.Parse(bytes.NewReader(textDoc(t, dup, 4)))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	err = s.Apply(ctx, bad)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "duplicate key "+serial.Key.String()) {
		t.Fatalf("apply of a list with a key twice: %v", err)
	}
	if s.Snapshot().Seq() != 3 {
		t.Fatalf("store advanced to %d", s.Snapshot().Seq())
	}
	for _, n := range dirNames(t, spDir) {
		if n == listName(4) || strings.Contains(n, tmpMarker) {
			t.Fatalf("file %s left by the refused apply", n)
		}
	}
}
