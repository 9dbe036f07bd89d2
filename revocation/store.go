package revocation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mynacard/freespace/securefile"
)

// File names inside the store directory (docs/PROTOCOL.md chapter 9.3).
const (
	listPrefix   = "list-"
	deltaPrefix  = "delta-"
	fileSuffix   = ".rvb"
	journalName  = "local-stops.log"
	tmpMarker    = ".tmp-"
	defaultLimit = 100_000
)

func listName(seq uint64) string  { return fmt.Sprintf("%s%020d%s", listPrefix, seq, fileSuffix) }
func deltaName(seq uint64) string { return fmt.Sprintf("%s%020d%s", deltaPrefix, seq, fileSuffix) }

// Options configure a Store. The zero value is usable.
type Options struct {
	// Policy decides what a check does on an old list; the zero value
	// fails closed after DefaultMaxAge.
	Policy Policy
	// Logger receives warnings (corrupt files skipped, stale lists); nil
	// discards them.
	Logger *slog.Logger
	// CompactAfter is how many keys changed by deltas since the last full
	// base trigger a background merge into a new base; 0 means 100 000,
	// negative disables automatic merging.
	CompactAfter int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// ReadOnly opens the store for checks only: Open then never creates,
	// changes or removes a file (not even the writer lock file or the
	// directory), never takes the writer lock and never merges; Apply,
	// Stop, Unstop and Compact fail with ErrReadOnly. For checkers such as
	// a PAM module or a gate whose list is synced by another process.
	// A directory that does not exist is an error (ErrNoStore): a checker
	// never creates a store, so a mistyped path cannot read as an empty
	// one.
	ReadOnly bool
	// RefreshInterval is how often a background goroutine looks for
	// changes other processes made to the directory (newer lists and
	// deltas, local stops and unstops) and loads them, so that a local
	// stop made by `cardap revocation stop` reaches a running gate within
	// about this interval. Looking costs a directory listing and a stat
	// of each store file; checks never wait for it. 0 means
	// DefaultRefreshInterval (1 s), values under 1 ms mean 1 ms; negative
	// disables it (Refresh still works). The goroutine runs until Close:
	// a Store that is not closed stays in memory.
	RefreshInterval time.Duration
	// ReleaseOnReplace makes Apply of a full list release the current
	// list's lookup structures before it builds the new one, so that a
	// full list replaces another in about the memory of one (at ten
	// million entries about 160 MiB less at the peak). Meant for a
	// one-shot sync process such as `cardap revocation sync`: while the
	// new list is written every check fails closed (ErrStale), and after
	// a failed Apply the store stays so until the next Refresh or Apply
	// loads the list on disk again. A terminal that checks while it syncs
	// leaves it off (checks then use the old list until the swap).
	ReleaseOnReplace bool
	// Progress, when set, receives PhaseApply reports while Apply or
	// Compact writes a list or delta file (records written of the total).
	Progress ProgressFunc
}

// Store is the local revocation store: one directory holding the current
// list (a base file plus the deltas applied since) and the journal of
// local stops. Checks read an immutable view through an atomic pointer and
// never wait for a sync, a merge or a local stop. The methods are safe for
// concurrent use.
//
// Several Stores, in one process or in several, may open the same
// directory: writers (Apply, Stop, Unstop, Compact and the background
// merge) take an exclusive lock on the directory's writer lock file
// (flock(2) on Unix, LockFileEx on Windows) and first catch up with what
// other writers did, so writes never interleave and are checked against
// the newest state; a writer waits for the lock as long as its context allows
// (ErrLocked when the context ends first). Readers never take the lock:
// they pick up other processes' changes through Refresh and the
// background refresh (Options.RefreshInterval).
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger
	now  func() time.Time

	cur        atomic.Pointer[view]
	warnedSeq  atomic.Uint64
	mu         sync.Mutex // serializes writers of this process; held while waiting for the lock
	lockFile   *os.File   // the writer lock file; guarded by mu
	rmu        sync.Mutex // guards disk and the publication of views from disk
	disk       diskState
	closed     atomic.Bool
	done       chan struct{} // closed by Close
	bg         sync.WaitGroup
	compacting atomic.Bool
}

// view is what readers see: the delivered list and the local stops.
type view struct {
	snap  *Snapshot
	stops map[Key]Entry
}

// Open opens (creating if needed) the store in dir; a read-only open
// (Options.ReadOnly) never creates it and fails with ErrNoStore when dir
// does not exist. The directory must be owned by root or the running user
// and not writable by others (group-writable is allowed), and the files
// in it are opened without following symbolic links and must be regular
// files of root or that user: refusals wrap *securefile.Error, and a
// planted FIFO never blocks the open. Corrupt or torn files
// are detected by their checksums and skipped with a warning; the store
// then opens at the last good state. Temporary files of interrupted
// writes are removed only when no writer holds the lock (they may belong
// to a write in progress in another process); otherwise the next write
// removes them.
func Open(dir string, opts Options) (*Store, error) {
	if !opts.ReadOnly {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("revocation: %w", err)
		}
	} else if _, err := os.ReadDir(dir); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoStore, dir, err)
	} else if err != nil {
		return nil, fmt.Errorf("revocation: %w", err) // unreadable: say so rather than read as empty
	}
	if err := securefile.CheckDir(dir, securefile.Policy{}); err != nil {
		return nil, fmt.Errorf("revocation: store directory: %w", err)
	}
	s := &Store{dir: dir, opts: opts, log: opts.Logger, now: opts.Now, done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if !opts.ReadOnly {
		if err := s.cleanTempsAtOpen(); err != nil {
			return nil, err
		}
	}
	s.disk.sig = s.signature() // before reading: a change meanwhile is seen by the next refresh
	snap, err := s.load()
	if err != nil {
		s.closeLockFile()
		return nil, err
	}
	recs, _, err := s.readJournalFrom(&s.disk.journal, true)
	if err != nil {
		s.closeLockFile()
		return nil, err
	}
	stops := map[Key]Entry{}
	replay(stops, recs)
	s.cur.Store(&view{snap: snap, stops: stops})
	if !opts.ReadOnly {
		s.maybeCompact(snap)
	}
	if interval := opts.RefreshInterval; interval >= 0 {
		if interval == 0 {
			interval = DefaultRefreshInterval
		}
		interval = max(interval, time.Millisecond)
		s.bg.Add(1)
		go s.watch(interval)
	}
	return s, nil
}

// Now returns the current time by the store's clock (Options.Now), the
// clock its checks judge a list's age by.
func (s *Store) Now() time.Time { return s.now() }

// Dir returns the store directory.
func (s *Store) Dir() string { return s.dir }

// Close stops the background refresh, waits for a background merge to
// finish (a merge still waiting for the writer lock gives up) and releases
// the lock file. Writes after Close fail with ErrClosed. Views already
// obtained stay readable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.done) // a writer waiting for the lock gives up
	// Wait for writers in progress: once they are done, none can start a
	// background merge (maybeCompact checks closed under s.mu). The empty
	// critical section is that barrier.
	s.mu.Lock()
	//lint:ignore SA2001 a barrier: writers in progress hold s.mu until done
	s.mu.Unlock()
	s.bg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLockFile()
	return nil
}

// closeLockFile closes the writer lock file; s.mu must be held (or the
// store not yet shared).
func (s *Store) closeLockFile() {
	if s.lockFile != nil {
		s.lockFile.Close()
		s.lockFile = nil
	}
}

func (s *Store) removeTemps() {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), tmpMarker) {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

// seqFiles lists the sequence numbers of files with the given prefix,
// highest first.
func (s *Store) seqFiles(prefix string) []uint64 {
	ents, _ := os.ReadDir(s.dir)
	var seqs []uint64
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, fileSuffix) {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(n, prefix), fileSuffix), 10, 64)
		if err == nil {
			seqs = append(seqs, v)
		}
	}
	slices.Sort(seqs)
	slices.Reverse(seqs)
	return seqs
}

// openList opens and verifies a base file. The file stays open for the
// metadata reads; it is closed when the base is no longer reachable.
func (s *Store) openList(seq uint64) (*base, error) {
	f, err := openStoreFile(filepath.Join(s.dir, listName(seq)))
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	b, err := readBase(f, st.Size())
	if err == nil && (b.hdr.typ != fileTypeList || b.hdr.seq != seq) {
		err = fileErr(8, "file type or sequence does not match its name")
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	mapMeta(b, f)
	closeWhenUnreachable(b, f)
	return b, nil
}

func (s *Store) readDelta(seq uint64) (*Update, error) {
	f, err := openStoreFile(filepath.Join(s.dir, deltaName(seq)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// The size is the opened file's own (fstat): a delta is read whole,
	// bounded by what is on disk, and verified by readBase.
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fileErr(0, "read delta: %v", err)
	}
	b, err := readBase(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	if b.hdr.typ != fileTypeDelta || b.hdr.seq != seq || b.hdr.prev+1 != seq {
		return nil, fileErr(8, "file type or sequence does not match its name")
	}
	u := &Update{Seq: seq, Prev: b.hdr.prev, AsOf: fileTime(b.hdr.asOf), Remove: b.removes}
	var rerr error
	for r := range b.records(&rerr) {
		u.Add = append(u.Add, r)
	}
	return u, rerr
}

// load finds the newest good base and applies the deltas that follow it.
// A list file that vanishes between listing and opening was removed by
// another process's cleanup after it wrote a newer list: the directory is
// listed again (a few times) instead of falling back to an older list.
// A store file that is not safe to trust (a symlink, a FIFO or device,
// owned by another user, writable by others: *securefile.Error) is an
// error, never skipped: someone else wrote into the store directory.
func (s *Store) load() (*Snapshot, error) {
	var b *base
	for attempt := 0; b == nil && attempt < 3; attempt++ {
		vanished := false
		for _, seq := range s.seqFiles(listPrefix) {
			var err error
			if b, err = s.openList(seq); err == nil {
				break
			}
			if errors.Is(err, securefile.ErrInsecure) {
				return nil, fmt.Errorf("revocation: %w", err)
			}
			if errors.Is(err, os.ErrNotExist) {
				vanished = true
				break
			}
			s.log.Warn("revocation: skipping corrupt list file, using an older one", "file", listName(seq), "err", err)
		}
		if !vanished {
			break
		}
	}
	if b == nil {
		b = emptyBase()
	}
	return s.applyDeltas(newSnapshot(b))
}

// openStoreFile opens a list, delta or journal file of the store for
// reading through securefile: no symlink followed, no FIFO or device (and
// no hang on one), owned by root or the running user, not writable by
// others. Refusals are *securefile.Error.
func openStoreFile(path string) (*os.File, error) {
	return securefile.Open(path, securefile.Policy{})
}

// Snapshot returns the current delivered list.
func (s *Store) Snapshot() *Snapshot { return s.cur.Load().snap }
