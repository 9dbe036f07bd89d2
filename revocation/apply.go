package revocation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// Apply applies a delivered update: a full list replaces the current one, a
// delta must follow it (Prev equal to the current sequence). The update is
// written to disk crash-safely before it becomes visible. An update not
// newer than the current list is refused with ErrReplay, a delta that does
// not follow it with ErrOutOfSequence; the store is then unchanged. The
// current list is the one on disk, which another process may have
// advanced: see Store on the writer lock. Apply sorts u.Add and u.Remove
// in place (a national list is not copied to be sorted); copy them first
// if their order matters to the caller. A full list parsed with
// TextParser.SpoolDir is streamed from its temporary files into the store
// file, never held in memory; the caller still closes it.
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
	if u.Full && s.opts.ReleaseOnReplace && !v.snap.released {
		// The old list's structures go before the new ones are built:
		// checks fail closed meanwhile (see Options.ReleaseOnReplace).
		s.swapSnap(releasedSnapshot(v.snap))
		v = nil
		runtime.GC()
	}
	if u.Full {
		var rerr error
		recs := countRecords(u.Records(&rerr), s.opts.Progress, PhaseApply, listName(u.Seq), int64(u.Len()))
		b, err := s.writeList(ctx, u.Seq, u.AsOf, recs, &rerr, u.countCUIDs())
		if rerr != nil {
			// A spooled list holding a key twice, or a failing read of its
			// temporary files: writeStoreFile stopped early and removed
			// its temporary file.
			return rerr
		}
		if err != nil {
			return err
		}
		snap = newSnapshot(b)
	} else {
		err := writeStoreFile(filepath.Join(s.dir, deltaName(u.Seq)), &fileContent{
			hdr:     fileHeader{typ: fileTypeDelta, seq: u.Seq, prev: u.Prev, asOf: u.AsOf.UnixNano()},
			nCUID:   countCUIDs(u.Add),
			records: countRecords(slices.Values(u.Add), s.opts.Progress, PhaseApply, deltaName(u.Seq), int64(len(u.Add))),
			removes: u.Remove,
		})
		if err != nil {
			return err
		}
		snap = s.cur.Load().snap.withDelta(u)
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

func (s *Store) writeList(ctx context.Context, seq uint64, asOf time.Time, recs func(func(Record) bool), recErr *error, nCUID uint64) (*base, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err := writeStoreFile(filepath.Join(s.dir, listName(seq)), &fileContent{
		hdr:     fileHeader{typ: fileTypeList, seq: seq, asOf: asOf.UnixNano()},
		nCUID:   nCUID,
		records: recs,
		recErr:  recErr,
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
	recs := countRecords(snap.Records(&rerr), s.opts.Progress, PhaseApply, listName(snap.seq), int64(snap.Len()))
	b, err := s.writeList(ctx, snap.seq, snap.asOf, recs, &rerr, n)
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
