package revocation

import (
	"fmt"
	"slices"
	"time"
)

// Policy decides what a check does when the list is old.
type Policy struct {
	// MaxAge is the oldest list accepted; 0 means DefaultMaxAge.
	MaxAge time.Duration
	// AllowStale makes a check on a too-old list succeed with a warning
	// (Result.Stale set, logged) instead of failing closed with ErrStale.
	// It never admits a card when no list was ever synced: that check
	// fails with ErrNeverSynced (matching ErrStale too) whatever the
	// policy. Only running without revocation at all (the caller's
	// explicit choice) skips it.
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

// Result is the answer to a check.
type Result struct {
	// Key is the key checked.
	Key Key `json:"key"`
	// Revoked is true when the key is in the delivered list or stopped
	// locally; Entry then says how.
	Revoked bool `json:"revoked"`
	// Entry is the revocation found (reason, origin, revoked-at, and for
	// a local stop who made it and why); nil when not revoked.
	Entry *Entry `json:"entry,omitempty"`
	// Seq is the sequence number of the list consulted.
	Seq uint64 `json:"seq"`
	// AsOf is when the list consulted was current at the publisher; zero
	// (omitted from JSON) for a store never synced.
	AsOf time.Time `json:"as_of,omitzero"`
	// Age is how old the list was at the check; the largest Duration for
	// a store never synced.
	Age time.Duration `json:"age_ns"`
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
		return Result{}, fmt.Errorf("%w: zero Key", ErrMalformedKey)
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
	// §9.4: local stops first, then the delivered list; a revoked key is
	// revoked however old the list.
	if e, ok := lookupStop(v.stops, k); ok {
		stop := e // only a hit allocates
		r.Revoked, r.Entry = true, &stop
		return r, nil
	}
	rec, found, err := v.snap.Lookup(k)
	if found {
		r.Revoked = true
		r.Entry = &Entry{Key: k, RevokedAt: rec.Time(), Reason: rec.Reason, Origin: OriginDelivered}
		return r, err
	}
	if err != nil {
		return r, err
	}
	if r.AsOf.IsZero() {
		// Never synced: refused whatever the policy (AllowStale admits an
		// old list, never no list).
		return r, fmt.Errorf("%w: %w", ErrStale, ErrNeverSynced)
	}
	// §9.4: a key not revoked on a list older than MaxAge fails closed
	// unless the policy allows stale lists.
	if r.Stale {
		if !s.opts.Policy.AllowStale {
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

// ageString prints a list's age for errors and logs.
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
