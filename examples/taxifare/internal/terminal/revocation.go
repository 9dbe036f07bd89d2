package terminal

import (
	"context"
	"sync"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// RevocationList is an in-memory RevocationChecker: the set of revoked CUIDs
// as of a time. It stands in for the project's revocation store (through
// cardap.RevocationStore) in the example's tests. It is safe for concurrent
// use.
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

// CheckCUID reports whether c is on the list and how old the list is.
func (l *RevocationList) CheckCUID(ctx context.Context, c profile.CUID) (cardap.RevocationStatus, error) {
	if err := ctx.Err(); err != nil {
		return cardap.RevocationStatus{}, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := cardap.RevocationStatus{Revoked: l.revoked[c], Age: l.now().Sub(l.asOf)}
	if st.Revoked {
		st.Source = revocation.OriginDelivered // the list the office delivered
	}
	return st, nil
}
