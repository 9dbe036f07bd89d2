package revocation

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"slices"
)

// spoolRecords is how many records a spool sorts in memory before it
// writes them out as a run: 256 Ki records, 10 MiB.
const spoolRecords = 1 << 18

// spool sorts records of any number in bounded memory (an external merge
// sort): it keeps up to mem records, sorts them and writes them to a run
// file when full, and yields all of them in key order by merging the
// runs with the records still in memory. Run files are temporary files in
// dir named like every temporary file of a store (".spool.tmp-*"); where
// an open file may be removed (not Windows) they are removed from the
// directory at once, so a crash leaves nothing behind and another
// process's clean-up of temporary files cannot disturb them.
type spool struct {
	dir    string
	source string // for errors: "text", "feed file ..."
	mem    int
	buf    []Record
	sorted bool // buf is sorted
	runs   []*spoolRun
	n      uint64
	cuids  uint64
}

// spoolRun is one sorted run on disk.
type spoolRun struct {
	f    *os.File
	name string // still in the directory (Windows), else ""
	size int64
}

// spoolRecLen bounds the encoded size of one record in a run: kind,
// length, up to MaxSerialLen key bytes, revoked-at, reason.
const spoolRecLen = 2 + MaxSerialLen + 8 + 1

func newSpool(dir, source string, mem int) *spool {
	if mem <= 0 {
		mem = spoolRecords
	}
	return &spool{dir: dir, source: source, mem: mem}
}

// add adds r (a valid key, a known reason).
func (s *spool) add(r Record) error {
	if len(s.buf) == s.mem {
		if err := s.spill(); err != nil {
			return err
		}
	}
	if s.buf == nil {
		s.buf = make([]Record, 0, min(s.mem, 4096))
	}
	s.buf = append(s.buf, r)
	s.sorted = false
	s.n++
	if r.Key.kind == KindCUID {
		s.cuids++
	}
	return nil
}

// sortBuf sorts the records in memory and refuses a key listed twice
// among them.
func (s *spool) sortBuf() error {
	if !s.sorted {
		slices.SortFunc(s.buf, func(a, b Record) int { return compareKeys(a.Key, b.Key) })
		s.sorted = true
	}
	for i := 1; i < len(s.buf); i++ {
		if s.buf[i].Key == s.buf[i-1].Key {
			return s.dupErr(s.buf[i].Key)
		}
	}
	return nil
}

func (s *spool) dupErr(k Key) error {
	return &ParseError{Source: s.source, Offset: -1, Msg: fmt.Sprintf("duplicate key %s", k)}
}

// spill writes the records in memory as a sorted run.
func (s *spool) spill() (err error) {
	if err := s.sortBuf(); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, ".spool"+tmpMarker+"*")
	if err != nil {
		return fmt.Errorf("revocation: spool: %w", err)
	}
	run := &spoolRun{f: f, name: f.Name()}
	if runtime.GOOS != "windows" && os.Remove(run.name) == nil {
		run.name = ""
	}
	s.runs = append(s.runs, run) // closed (and removed) by close, even on error
	bw := bufio.NewWriterSize(f, 64<<10)
	var rec [spoolRecLen]byte
	for _, r := range s.buf {
		n := encodeSpoolRec(rec[:], r)
		bw.Write(rec[:n])
		run.size += int64(n)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("revocation: spool: %w", err)
	}
	s.buf = s.buf[:0]
	return nil
}

func encodeSpoolRec(b []byte, r Record) int {
	b[0], b[1] = byte(r.Key.kind), r.Key.n
	raw := r.Key.raw()
	n := 2 + copy(b[2:], raw[:r.Key.n])
	binary.LittleEndian.PutUint64(b[n:], uint64(r.RevokedAt))
	b[n+8] = byte(r.Reason)
	return n + 9
}

// readSpoolRec reads one record written by encodeSpoolRec; io.EOF at the
// end of the run.
func readSpoolRec(br *bufio.Reader) (Record, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return Record{}, err
	}
	if h[1] == 0 || h[1] > MaxSerialLen {
		return Record{}, fmt.Errorf("revocation: spool: corrupt run")
	}
	var b [MaxSerialLen + 9]byte
	if _, err := io.ReadFull(br, b[:int(h[1])+9]); err != nil {
		return Record{}, fmt.Errorf("revocation: spool: run truncated: %w", err)
	}
	k := keyOf(Kind(h[0]), b[:h[1]])
	n := int(h[1])
	return Record{Key: k, RevokedAt: int64(binary.LittleEndian.Uint64(b[n:])), Reason: Reason(b[n+8])}, nil
}

// records yields every record in key order; it may be called again (each
// call reads the runs from their start). A key added twice ends the
// sequence with a *ParseError in *errp, as does an I/O error.
func (s *spool) records(errp *error) iter.Seq[Record] {
	return func(yield func(Record) bool) {
		if err := s.sortBuf(); err != nil {
			*errp = err
			return
		}
		if len(s.runs) == 0 {
			for _, r := range s.buf {
				if !yield(r) {
					return
				}
			}
			return
		}
		// A k-way merge over the runs and the records in memory, with a
		// binary heap of the sources' current records.
		type source struct {
			cur Record
			br  *bufio.Reader // nil for the records in memory
			i   int           // next position in s.buf
		}
		srcs := make([]*source, 0, len(s.runs)+1)
		next := func(src *source) (bool, error) {
			if src.br == nil {
				if src.i == len(s.buf) {
					return false, nil
				}
				src.cur = s.buf[src.i]
				src.i++
				return true, nil
			}
			r, err := readSpoolRec(src.br)
			if err == io.EOF {
				return false, nil
			}
			src.cur = r
			return err == nil, err
		}
		add := func(src *source) bool {
			ok, err := next(src)
			if err != nil {
				*errp = err
				return false
			}
			if ok {
				srcs = append(srcs, src)
			}
			return true
		}
		for _, run := range s.runs {
			if !add(&source{br: bufio.NewReaderSize(io.NewSectionReader(run.f, 0, run.size), 32<<10)}) {
				return
			}
		}
		if !add(&source{}) {
			return
		}
		less := func(i, j int) bool { return compareKeys(srcs[i].cur.Key, srcs[j].cur.Key) < 0 }
		down := func(i int) {
			for {
				l := 2*i + 1
				if l >= len(srcs) {
					return
				}
				m := l
				if r := l + 1; r < len(srcs) && less(r, l) {
					m = r
				}
				if !less(m, i) {
					return
				}
				srcs[i], srcs[m] = srcs[m], srcs[i]
				i = m
			}
		}
		for i := len(srcs)/2 - 1; i >= 0; i-- {
			down(i)
		}
		var prev Key
		first := true
		for len(srcs) > 0 {
			top := srcs[0]
			r := top.cur
			if !first && r.Key == prev {
				*errp = s.dupErr(r.Key)
				return
			}
			first, prev = false, r.Key
			if !yield(r) {
				return
			}
			ok, err := next(top)
			if err != nil {
				*errp = err
				return
			}
			if !ok {
				srcs[0] = srcs[len(srcs)-1]
				srcs = srcs[:len(srcs)-1]
			}
			down(0)
		}
	}
}

// close releases the run files.
func (s *spool) close() error {
	var first error
	for _, r := range s.runs {
		if err := r.f.Close(); err != nil && first == nil {
			first = err
		}
		if r.name != "" {
			os.Remove(r.name)
		}
	}
	s.runs, s.buf = nil, nil
	return first
}
