package terminal

import (
	"context"
	"sync"
	"time"

	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// RevocationList is an in-memory RevocationChecker: the set of revoked CUIDs
// as of a time. It stands in for the project's revocation store in the
// example and its tests. It is safe for concurrent use.
type RevocationList struct {
	mu      sync.RWMutex
	revoked map[profile.CUID]bool
	asOf    time.Time
	now     func() time.Time
}

// NewRevocationList returns a list current as of asOf, holding cuids. now
// tells the age of the list (default time.Now).
func NewRevocationList(asOf time.Time, now func() time.Time, cuids ...profile.CUID) *RevocationList {
	if now == nil {
		now = time.Now
	}
	l := &RevocationList{revoked: make(map[profile.CUID]bool), asOf: asOf, now: now}
	for _, c := range cuids {
		l.revoked[c] = true
	}
	return l
}

// Revoke adds a card to the list.
func (l *RevocationList) Revoke(c profile.CUID) {
	l.mu.Lock()
	l.revoked[c] = true
	l.mu.Unlock()
}

// Revoked reports whether c is on the list and how old the list is.
func (l *RevocationList) Revoked(ctx context.Context, c profile.CUID) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.revoked[c], l.now().Sub(l.asOf), nil
}

// StoreChecker adapts the project's revocation store (package revocation)
// to RevocationChecker. The store's own policy decides about old lists: a
// card not on a list older than its MaxAge gives revocation.ErrStale, which
// the terminal treats as "revocation status unavailable" (fail closed).
type StoreChecker struct {
	Store *revocation.Store
}

// Revoked checks c's CUID key in the store.
func (s StoreChecker) Revoked(ctx context.Context, c profile.CUID) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	res, err := s.Store.Check(revocation.CUIDKey(c))
	if res.Revoked {
		return true, res.Age, nil
	}
	if err != nil {
		return false, res.Age, err
	}
	return false, res.Age, nil
}
