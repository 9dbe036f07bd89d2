package revocation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by the store.
var (
	// ErrReplay: an update older than (or as old as) the current list.
	ErrReplay = errors.New("revocation: update is not newer than the current list")
	// ErrOutOfSequence: a delta that does not follow the current list.
	ErrOutOfSequence = errors.New("revocation: delta does not follow the current list")
	// ErrStale: the list is older than the policy allows, so a key that is
	// not in it cannot be declared valid (fail closed).
	ErrStale = errors.New("revocation: list too old to decide")
	// ErrFutureFeed is a signed feed dated further ahead of the local clock
	// than Syncer.MaxFuture allows: a publisher's (or this terminal's)
	// clock is wrong. Taking it would make the list look fresh for that
	// long and refuse every correctly dated feed after it as a replay.
	ErrFutureFeed = errors.New("revocation: feed dated in the future")
	// ErrAlreadyStopped: a local stop of a key already stopped locally.
	ErrAlreadyStopped = errors.New("revocation: already stopped locally")
	// ErrNotStopped: an unstop of a key that has no local stop.
	ErrNotStopped = errors.New("revocation: no local stop for this key")
	// ErrFeedRevocation: an attempt to undo a delivered revocation locally.
	ErrFeedRevocation = errors.New("revocation: a delivered revocation cannot be undone locally")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("revocation: store closed")
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

// Policy decides what a check does when the list is old.
type Policy struct {
	// MaxAge is the oldest list accepted; 0 means DefaultMaxAge.
	MaxAge time.Duration
	// AllowStale makes a check on a too-old list succeed with a warning
	// (Result.Stale set, logged) instead of failing closed with ErrStale.
	AllowStale bool
}

// DefaultMaxAge is the default Policy.MaxAge: two daily deliveries.
const DefaultMaxAge = 48 * time.Hour

func (p Policy) maxAge() time.Duration {
	if p.MaxAge <= 0 {
		return DefaultMaxAge
	}
	return p.MaxAge
}

// Options configure a Store. The zero value is usable.
type Options struct {
	Policy Policy
	// Logger receives warnings (corrupt files skipped, stale lists); nil
	// means slog.Default().
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
	// Stop, Unstop and Compact fail with ErrReadOnly. A directory that
	// does not exist (yet) reads as an empty store, so checks fail closed
	// until a writer creates it. For checkers such as a PAM module or a
	// gate whose list is synced by another process. See also OpenReadOnly.
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

// Open opens (creating if needed) the store in dir. Corrupt or torn files
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
	} else if _, err := os.ReadDir(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("revocation: %w", err) // unreadable: say so rather than read as empty
	}
	s := &Store{dir: dir, opts: opts, log: opts.Logger, now: opts.Now, done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if !opts.ReadOnly {
		s.cleanTempsAtOpen()
	}
	s.disk.sig = s.signature() // before reading: a change meanwhile is seen by the next refresh
	snap := s.load()
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

// OpenReadOnly opens the store in dir for checks only: Open with
// Options.ReadOnly set.
func OpenReadOnly(dir string, opts Options) (*Store, error) {
	opts.ReadOnly = true
	return Open(dir, opts)
}

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
	f, err := os.Open(filepath.Join(s.dir, listName(seq)))
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
	data, err := os.ReadFile(filepath.Join(s.dir, deltaName(seq)))
	if err != nil {
		return nil, err
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
func (s *Store) load() *Snapshot {
	var b *base
	for attempt := 0; b == nil && attempt < 3; attempt++ {
		vanished := false
		for _, seq := range s.seqFiles(listPrefix) {
			var err error
			if b, err = s.openList(seq); err == nil {
				break
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

// Snapshot returns the current delivered list.
func (s *Store) Snapshot() *Snapshot { return s.cur.Load().snap }

// Apply applies a delivered update: a full list replaces the current one, a
// delta must follow it (Prev equal to the current sequence). The update is
// written to disk crash-safely before it becomes visible. An update not
// newer than the current list is refused with ErrReplay, a delta that does
// not follow it with ErrOutOfSequence; the store is then unchanged. The
// current list is the one on disk, which another process may have
// advanced: see Store on the writer lock. Apply sorts u.Add and u.Remove
// in place (a national list is not copied to be sorted); copy them first
// if their order matters to the caller.
func (s *Store) Apply(ctx context.Context, u *Update) error {
	if err := u.normalize("update"); err != nil {
		return err
	}
	end, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer end()
	v := s.cur.Load()
	if err := checkFollows(v.snap, u); err != nil {
		return err
	}
	var snap *Snapshot
	if u.Full {
		b, err := s.writeList(ctx, u.Seq, u.AsOf, slices.Values(u.Add), countCUIDs(u.Add))
		if err != nil {
			return err
		}
		snap = newSnapshot(b)
	} else {
		err := writeStoreFile(filepath.Join(s.dir, deltaName(u.Seq)), &fileContent{
			hdr:     fileHeader{typ: fileTypeDelta, seq: u.Seq, prev: u.Prev, asOf: u.AsOf.UnixNano()},
			nCUID:   countCUIDs(u.Add),
			records: slices.Values(u.Add),
			removes: u.Remove,
		})
		if err != nil {
			return err
		}
		snap = v.snap.withDelta(u)
	}
	s.swapSnap(snap)
	if u.Full {
		s.gc()
	}
	s.maybeCompact(snap)
	return nil
}

func checkFollows(cur *Snapshot, u *Update) error {
	return follows(cur.seq, cur.asOf, u)
}

// follows checks that u may be applied to the list at seq as of asOf.
func follows(seq uint64, asOf time.Time, u *Update) error {
	if u.Seq <= seq {
		return fmt.Errorf("%w: sequence %d, current %d", ErrReplay, u.Seq, seq)
	}
	if u.AsOf.Before(asOf) {
		return fmt.Errorf("%w: as of %s, current list as of %s", ErrReplay, u.AsOf.Format(time.RFC3339), asOf.Format(time.RFC3339))
	}
	if !u.Full && u.Prev != seq {
		return fmt.Errorf("%w: delta from %d, current %d", ErrOutOfSequence, u.Prev, seq)
	}
	return nil
}

func countCUIDs(rs []Record) uint64 {
	var n uint64
	for _, r := range rs {
		if r.Key.kind == KindCUID {
			n++
		}
	}
	return n
}

func (s *Store) writeList(ctx context.Context, seq uint64, asOf time.Time, recs func(func(Record) bool), nCUID uint64) (*base, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err := writeStoreFile(filepath.Join(s.dir, listName(seq)), &fileContent{
		hdr:     fileHeader{typ: fileTypeList, seq: seq, asOf: asOf.UnixNano()},
		nCUID:   nCUID,
		records: recs,
	})
	if err != nil {
		return nil, err
	}
	return s.openList(seq)
}

// swapSnap publishes snap; the write must have been begun (beginWrite).
func (s *Store) swapSnap(snap *Snapshot) {
	v := s.cur.Load()
	s.cur.Store(&view{snap: snap, stops: v.stops})
}

// gc removes files no longer needed: it keeps the newest base, the one
// before it and the deltas following that one, so that a corrupt newest
// base can fall back. The write must have been begun (beginWrite).
func (s *Store) gc() {
	lists := s.seqFiles(listPrefix)
	if len(lists) < 2 {
		return
	}
	keepFrom := lists[1]
	for _, seq := range lists[2:] {
		os.Remove(filepath.Join(s.dir, listName(seq)))
	}
	for _, seq := range s.seqFiles(deltaPrefix) {
		if seq <= keepFrom {
			os.Remove(filepath.Join(s.dir, deltaName(seq)))
		}
	}
}

// maybeCompact starts a background merge when the overlay is large; s.mu
// must be held (or the store not yet shared).
func (s *Store) maybeCompact(snap *Snapshot) {
	if s.closed.Load() {
		return
	}
	limit := s.opts.CompactAfter
	if limit == 0 {
		limit = defaultLimit
	}
	if limit < 0 || snap.overlayLen() < limit || !s.compacting.CompareAndSwap(false, true) {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer s.compacting.Store(false)
		if err := s.Compact(context.Background()); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrReadOnly) {
			s.log.Warn("revocation: background merge failed; the list stays correct, merge retried on the next update", "err", err)
		}
	}()
}

// Compact merges the deltas applied since the last base into a new base
// file, so that lookups take the compact path again and opening is fast.
// It holds the writer lock while it runs (seconds at 10 million entries):
// syncs and local stops, in this process or another, wait; checks do not.
func (s *Store) Compact(ctx context.Context) error {
	end, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer end()
	snap := s.cur.Load().snap
	if snap.overlayLen() == 0 {
		return nil
	}
	n := snap.base.hdr.nCUID
	for k, e := range snap.ov {
		if k.kind != KindCUID {
			continue
		}
		in := snap.base.contains(k)
		switch {
		case e.removed && in:
			n--
		case !e.removed && !in:
			n++
		}
	}
	var rerr error
	b, err := s.writeList(ctx, snap.seq, snap.asOf, snap.Records(&rerr), n)
	if rerr != nil {
		os.Remove(filepath.Join(s.dir, listName(snap.seq)))
		return rerr
	}
	if err != nil {
		return err
	}
	s.swapSnap(newSnapshot(b))
	s.gc()
	return nil
}

// Result is the answer to a check.
type Result struct {
	Key Key `json:"key"`
	// Revoked is true when the key is in the delivered list or stopped
	// locally; Entry then says how.
	Revoked bool   `json:"revoked"`
	Entry   *Entry `json:"entry,omitempty"`
	// Seq and AsOf identify the list consulted; Age is how old it was at
	// the check.
	Seq uint64 `json:"seq"`
	// A store never synced has a zero AsOf (omitted from JSON) and the
	// largest Duration as its Age.
	AsOf time.Time     `json:"as_of,omitzero"`
	Age  time.Duration `json:"age_ns"`
	// Stale is true when Age exceeds the policy's MaxAge.
	Stale bool `json:"stale"`
	// Allowed is the decision: not revoked, and the list fresh enough (or
	// stale lists allowed by policy).
	Allowed bool `json:"allowed"`
}

// Check reports whether k is revoked and how old the list is. It never
// blocks on a sync. A key that is not revoked while the list is older than
// the policy allows gives ErrStale (fail closed) unless the policy allows
// stale lists, in which case a warning is logged once per list.
func (s *Store) Check(k Key) (Result, error) {
	if k.kind == 0 {
		return Result{}, fmt.Errorf("%w: zero Key", ErrInvalidKey)
	}
	v := s.cur.Load()
	r := Result{Key: k, Seq: v.snap.seq, AsOf: v.snap.asOf}
	now := s.now()
	if v.snap.asOf.IsZero() {
		r.Age = time.Duration(1<<63 - 1)
	} else {
		r.Age = now.Sub(v.snap.asOf)
	}
	r.Stale = r.Age > s.opts.Policy.maxAge()
	if e, ok := lookupStop(v.stops, k); ok {
		stop := e // only a hit allocates
		r.Revoked, r.Entry = true, &stop
		return r, nil
	}
	rec, found, err := v.snap.Lookup(k)
	if found {
		r.Revoked = true
		r.Entry = &Entry{Key: k, RevokedAt: rec.Time(), Reason: rec.Reason, Origin: OriginFeed}
		return r, err
	}
	if err != nil {
		return r, err
	}
	if r.Stale {
		if !s.opts.Policy.AllowStale {
			if r.AsOf.IsZero() {
				return r, fmt.Errorf("%w: no list synced yet, policy allows lists up to %s old", ErrStale, s.opts.Policy.maxAge())
			}
			return r, fmt.Errorf("%w: list sequence %d is %s old, policy allows %s", ErrStale, r.Seq, ageString(r.Age), s.opts.Policy.maxAge())
		}
		if s.warnedSeq.Swap(r.Seq+1) != r.Seq+1 {
			s.log.Warn("revocation: list older than policy allows; allowing by policy", "seq", r.Seq, "age", ageString(r.Age))
		}
	}
	r.Allowed = true
	return r, nil
}

// lookupStop is stops[k], skipping the map access (which takes the key's
// address) when there are no local stops, as on most terminals.
func lookupStop(stops map[Key]Entry, k Key) (Entry, bool) {
	if len(stops) == 0 {
		return Entry{}, false
	}
	e, ok := stops[k]
	return e, ok
}

func ageString(d time.Duration) string {
	if d == time.Duration(1<<63-1) {
		return "never synced"
	}
	return d.Round(time.Second).String()
}

// Stops returns the active local stops.
func (s *Store) Stops() []Entry {
	v := s.cur.Load()
	out := make([]Entry, 0, len(v.stops))
	for _, e := range v.stops {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return compareKeys(a.Key, b.Key) })
	return out
}
