package revocation

import (
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"
)

// Snapshot is an immutable view of the delivered list at one sequence
// number. Snapshots are safe for concurrent use; a sync builds a new one
// and swaps it in, so readers never wait.
type Snapshot struct {
	// A snapshot is a base loaded from a store file plus a small overlay
	// of the deltas applied since (merged into a new base by Compact).
	base *base
	// ov holds, for keys changed by deltas since the base, either the new
	// record or a removal marker.
	ov   map[Key]ovEntry
	seq  uint64
	asOf time.Time
	n    int
	// released: the list's lookup structures were given up while a new
	// full list is written (Options.ReleaseOnReplace); every answer is
	// fail-closed.
	released bool
}

// errReplacing is every lookup's answer while a released snapshot stands.
var errReplacing = fmt.Errorf("%w: the list is being replaced", ErrStale)

// releasedSnapshot is s without its lookup structures: the same sequence
// and time, answers that fail closed.
func releasedSnapshot(s *Snapshot) *Snapshot {
	return &Snapshot{seq: s.seq, asOf: s.asOf, n: s.n, released: true}
}

type ovEntry struct {
	rec     Record
	removed bool
}

func newSnapshot(b *base) *Snapshot {
	return &Snapshot{base: b, seq: b.hdr.seq, asOf: asOfOf(b), n: b.len()}
}

func asOfOf(b *base) time.Time {
	if b.hdr.seq == 0 {
		return time.Time{}
	}
	return fileTime(b.hdr.asOf)
}

// Seq is the sequence number of the list; 0 when nothing was delivered yet.
func (s *Snapshot) Seq() uint64 { return s.seq }

// AsOf is when the list was current at the publisher; zero when nothing
// was delivered yet.
func (s *Snapshot) AsOf() time.Time { return s.asOf }

// Len is the number of revoked keys.
func (s *Snapshot) Len() int { return s.n }

// overlayLen is the number of keys changed since the base.
func (s *Snapshot) overlayLen() int { return len(s.ov) }

// Contains reports whether k is revoked in the delivered list. It does not
// allocate and reads nothing from disk.
func (s *Snapshot) Contains(k Key) bool {
	if s.released {
		return true // fail closed while the list is replaced
	}
	if len(s.ov) > 0 {
		if e, ok := s.ov[k]; ok {
			return !e.removed
		}
	}
	return s.base.contains(k)
}

// Lookup returns the delivered record of k. A CUID's metadata is read from
// the store file on a hit; an I/O error is returned with found still true.
func (s *Snapshot) Lookup(k Key) (Record, bool, error) {
	if s.released {
		return Record{}, false, errReplacing
	}
	if len(s.ov) > 0 {
		if e, ok := s.ov[k]; ok {
			return e.rec, !e.removed, nil
		}
	}
	return s.base.lookup(k)
}

// withDelta returns a new snapshot with u (a normalized delta whose Prev is
// s.Seq()) applied. s is unchanged.
func (s *Snapshot) withDelta(u *Update) *Snapshot { return s.withDeltas([]*Update{u}) }

// withDeltas returns a new snapshot with us applied in order (each a
// delta following the one before it, the first following s). s is
// unchanged. The overlay is copied once for all of them, so applying k
// deltas costs their total size plus one copy of the overlay, not k
// copies (opening a store that holds many deltas stays linear).
func (s *Snapshot) withDeltas(us []*Update) *Snapshot {
	if len(us) == 0 {
		return s
	}
	size := len(s.ov)
	for _, u := range us {
		size += len(u.Add) + len(u.Remove)
	}
	ov := make(map[Key]ovEntry, size)
	maps.Copy(ov, s.ov)
	t := &Snapshot{base: s.base, ov: ov, seq: s.seq, asOf: s.asOf, n: s.n}
	for _, u := range us {
		for _, k := range u.Remove {
			if t.Contains(k) {
				t.n--
			}
			if t.base.contains(k) {
				ov[k] = ovEntry{rec: Record{Key: k}, removed: true}
			} else {
				delete(ov, k)
			}
		}
		for _, r := range u.Add {
			if !t.Contains(r.Key) {
				t.n++
			}
			ov[r.Key] = ovEntry{rec: r}
		}
		t.seq, t.asOf = u.Seq, u.AsOf
	}
	return t
}

// Records yields every revoked record in key order (CUIDs first, then
// serials). An I/O error reading metadata ends the sequence and is stored
// in *errp.
func (s *Snapshot) Records(errp *error) iter.Seq[Record] {
	return func(yield func(Record) bool) {
		if s.released {
			*errp = errReplacing
			return
		}
		keys := make([]Key, 0, len(s.ov))
		for k := range s.ov {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareKeys)
		i := 0
		for r := range s.base.records(errp) {
			for i < len(keys) && compareKeys(keys[i], r.Key) < 0 {
				if e := s.ov[keys[i]]; !e.removed && !yield(e.rec) {
					return
				}
				i++
			}
			if i < len(keys) && keys[i] == r.Key {
				e := s.ov[keys[i]]
				i++
				if e.removed {
					continue
				}
				r = e.rec
			}
			if !yield(r) {
				return
			}
		}
		if *errp != nil {
			return
		}
		for ; i < len(keys); i++ {
			if e := s.ov[keys[i]]; !e.removed && !yield(e.rec) {
				return
			}
		}
	}
}
