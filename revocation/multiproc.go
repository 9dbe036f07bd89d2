package revocation

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mynacard/freespace/securefile"
)

// lockName is the writer lock file: writers hold an exclusive flock(2) on
// it while they change the directory.
const lockName = "writer.lock"

// DefaultRefreshInterval is the default Options.RefreshInterval.
const DefaultRefreshInterval = time.Second

// diskState is how far this Store has read the directory; guarded by
// Store.rmu.
type diskState struct {
	sig     string // signature of the directory when last read
	journal journalPos
}

// journalPos is how far the journal has been read: the identity of the
// file, the end of the last complete line consumed and the lines
// consumed.
type journalPos struct {
	id   uint64
	off  int64
	line int
}

// isStoreFile reports whether name is a list or delta file.
func isStoreFile(name string) bool {
	return (strings.HasPrefix(name, listPrefix) || strings.HasPrefix(name, deltaPrefix)) && strings.HasSuffix(name, fileSuffix)
}

// signature describes the store files as they are now: name, identity,
// size and modification time of every list and delta file and of the
// journal. Store files are only ever created by rename, never changed in
// place, and the journal only grows, so any write by any process changes
// the signature. A missing directory has the empty signature.
func (s *Store) signature() string {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return ""
	}
	var b []byte
	for _, e := range ents {
		n := e.Name()
		if n != journalName && !isStoreFile(n) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		b = fmt.Appendf(b, "%s %d %d %d\n", n, fileIdentity(fi), fi.Size(), fi.ModTime().UnixNano())
	}
	return string(b)
}

// Refresh brings the store up to date with changes other processes made
// to its directory: newer lists and deltas, and local stops or unstops
// appended to the journal. Unless Options.RefreshInterval is negative, a
// background goroutine does this on its own; Refresh is for callers that
// need the newest state now. It never takes the writer lock and never
// blocks checks.
func (s *Store) Refresh(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return s.refreshLocked()
}

// refreshLocked reloads what changed on disk since the last read and
// publishes a new view; s.rmu must be held.
func (s *Store) refreshLocked() error {
	sig := s.signature()
	if sig == s.disk.sig {
		return nil
	}
	v := s.cur.Load()
	snap, err := s.catchUp(v.snap)
	if err != nil {
		return err // the signature is kept, so the directory is read again
	}
	pos := s.disk.journal
	recs, reset, err := s.readJournalFrom(&pos, false)
	if err != nil {
		if snap != v.snap {
			s.cur.Store(&view{snap: snap, stops: v.stops})
		}
		return err // the signature is kept, so the journal is read again
	}
	stops := v.stops
	if reset || len(recs) > 0 {
		if reset {
			stops = map[Key]Entry{}
		} else {
			stops = maps.Clone(stops)
		}
		replay(stops, recs)
	}
	if snap != v.snap || reset || len(recs) > 0 {
		s.cur.Store(&view{snap: snap, stops: stops})
	}
	s.disk.journal = pos
	s.disk.sig = sig
	return nil
}

// catchUp returns cur advanced to what the directory now holds: a newer
// list file (loaded with the deltas that follow it) or the deltas after
// cur. It never goes back: when the newer files are damaged, cur (plus
// any good deltas) stays.
func (s *Store) catchUp(cur *Snapshot) (*Snapshot, error) {
	if lists := s.seqFiles(listPrefix); len(lists) > 0 && lists[0] > cur.base.hdr.seq {
		snap, err := s.load()
		if err != nil {
			return cur, err
		}
		if snap.seq >= cur.seq {
			return snap, nil
		}
	}
	return s.applyDeltas(cur)
}

// applyDeltas applies the delta files that follow snap, stopping at the
// first missing or damaged one. A delta file that is not safe to trust
// (*securefile.Error) is an error; the good deltas before it are applied.
// All deltas found are applied at once (one copy of the overlay), so the
// cost is linear in what they hold however many there are.
func (s *Store) applyDeltas(snap *Snapshot) (*Snapshot, error) {
	var us []*Update
	for seq := snap.seq + 1; ; seq++ {
		u, err := s.readDelta(seq)
		if errors.Is(err, os.ErrNotExist) {
			return snap.withDeltas(us), nil
		}
		if errors.Is(err, securefile.ErrInsecure) {
			return snap.withDeltas(us), fmt.Errorf("revocation: %w", err)
		}
		if err != nil {
			s.log.Warn("revocation: skipping corrupt delta file, list stays at the last good sequence", "file", deltaName(seq), "seq", seq-1, "err", err)
			return snap.withDeltas(us), nil
		}
		us = append(us, u)
	}
}

// watch refreshes the store every interval until Close.
func (s *Store) watch(interval time.Duration) {
	defer s.bg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			if err := s.Refresh(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
				s.log.Warn("revocation: refresh from the store directory failed; retrying", "err", err)
			}
		}
	}
}

// beginWrite starts a write: it takes the in-process writer mutex, then the
// cross-process writer lock (waiting as long as ctx allows), removes
// temporary files left by writers that died, and catches up with changes
// other processes made, so that the write is checked against the newest
// state. end releases everything.
func (s *Store) beginWrite(ctx context.Context) (end func(), err error) {
	if s.opts.ReadOnly {
		return nil, ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if err := s.lockDir(ctx); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.rmu.Lock()
	end = func() {
		s.rmu.Unlock()
		if err := unlockFile(s.lockFile); err != nil {
			s.log.Warn("revocation: releasing the writer lock failed", "err", err)
		}
		s.mu.Unlock()
	}
	s.removeTemps()
	if err := s.refreshLocked(); err != nil {
		end()
		return nil, err
	}
	return end, nil
}

// lockDir takes the writer lock file, polling with a growing pause (1 ms
// to 50 ms) until it is free, ctx ends (ErrLocked) or the store is closed
// (ErrClosed). s.mu must be held.
func (s *Store) lockDir(ctx context.Context) error {
	if s.lockFile == nil {
		f, err := openLockFile(s.dir)
		if err != nil {
			return fmt.Errorf("revocation: writer lock: %w", err)
		}
		s.lockFile = f
	}
	pause := time.Millisecond
	for {
		ok, err := tryLockFile(s.lockFile)
		if err != nil {
			return fmt.Errorf("revocation: writer lock: %w", err)
		}
		if ok {
			return nil
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ErrLocked, ctx.Err())
		case <-s.done:
			t.Stop()
			return ErrClosed
		case <-t.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// cleanTempsAtOpen removes temporary files of interrupted writes, but only
// if no writer holds the lock: a temporary file may otherwise belong to a
// write in progress in another process. Skipped cleanups happen at the
// next write.
// A lock file that is not safe to trust (a planted symlink or FIFO, a
// file of another user) is an error: the store is not opened for writing.
func (s *Store) cleanTempsAtOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lockFile == nil {
		f, err := openLockFile(s.dir)
		if errors.Is(err, securefile.ErrInsecure) {
			return fmt.Errorf("revocation: writer lock: %w", err)
		}
		if err != nil {
			s.log.Warn("revocation: cannot create the writer lock file", "err", err)
			return nil
		}
		s.lockFile = f
	}
	if ok, err := tryLockFile(s.lockFile); err != nil || !ok {
		return nil
	}
	s.removeTemps()
	if err := unlockFile(s.lockFile); err != nil {
		s.log.Warn("revocation: releasing the writer lock failed", "err", err)
	}
	return nil
}

// readJournalFrom reads the complete journal lines after pos and advances
// pos past them. reset is true when the journal was replaced or shrank
// (the records are then the whole journal, to be replayed from scratch).
// An unterminated last line is left for later: it is either a write in
// progress in another process or a line torn by a crash, which the next
// append terminates (it then fails its checksum and is skipped). atOpen
// logs it.
func (s *Store) readJournalFrom(pos *journalPos, atOpen bool) (recs []AuditRecord, reset bool, err error) {
	f, err := openStoreFile(filepath.Join(s.dir, journalName))
	if errors.Is(err, os.ErrNotExist) {
		reset = pos.off > 0
		*pos = journalPos{}
		return nil, reset, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("revocation: journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("revocation: journal: %w", err)
	}
	if id := fileIdentity(st); id != pos.id || st.Size() < pos.off {
		reset = pos.off > 0 || pos.id != 0
		*pos = journalPos{id: id}
	}
	if _, err := f.Seek(pos.off, io.SeekStart); err != nil {
		return nil, false, fmt.Errorf("revocation: journal: %w", err)
	}
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 && atOpen {
				s.log.Warn("revocation: ignoring torn last line of the local-stop journal (or a write in progress)", "line", pos.line+1)
			}
			return recs, reset, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("revocation: journal: %w", err)
		}
		pos.off += int64(len(line))
		pos.line++
		r, perr := parseJournalLine(bytes.TrimSuffix(line, []byte("\n")))
		if perr != nil {
			s.log.Warn("revocation: skipping corrupt line of the local-stop journal", "line", pos.line, "err", perr)
			continue
		}
		recs = append(recs, r)
	}
}

// replay applies journal records in order to the active stops.
func replay(stops map[Key]Entry, recs []AuditRecord) {
	for _, r := range recs {
		if r.Op == "stop" {
			stops[r.Key] = r.entry()
		} else {
			delete(stops, r.Key)
		}
	}
}

// openLockFile opens (creating if needed) the writer lock file of dir
// through securefile: a symlink planted under its name is not followed
// (root would otherwise create or truncate a file of another user's
// choosing), and a FIFO, a device or a file of another user is refused.
func openLockFile(dir string) (*os.File, error) {
	return securefile.OpenFile(filepath.Join(dir, lockName), securefile.Policy{}, os.O_RDWR|os.O_CREATE, 0o644)
}
