package revocation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/mynacard/freespace/securefile"
)

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
	if sig == s.disk.sig && !s.cur.Load().snap.released {
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
	if cur.released {
		// A full list was being applied and failed
		// (Options.ReleaseOnReplace): whatever the directory holds.
		return s.load()
	}
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
