package cardap

import (
	"context"
	"fmt"
	"time"

	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// RevocationStore adapts a revocation store (package revocation) to a
// RevocationChecker. The store's freshness policy (revocation.Policy, set
// when the store is opened) decides:
//
//   - a card on the delivered list or stopped locally is revoked, however
//     old the list (RevocationStatus.Reason says why, and whether it was a
//     delivered revocation or a local stop);
//   - a card not on the list is accepted while the list is younger than
//     Policy.MaxAge (48 h by default);
//   - beyond that, CheckCUID fails with an error wrapping
//     revocation.ErrStale, which the Client turns into
//     ReasonRevocationUnknown (fail closed), unless Policy.AllowStale is set:
//     the card is then accepted with RevocationStatus.Warning set;
//   - a store that never held a list refuses every card that is not
//     revoked with ReasonRevocationUnknown, whatever the policy
//     (revocation.ErrNeverSynced): AllowStale admits an old list, never
//     none. Only Config.NoRevocation runs without a list.
//
// Open the store a terminal only checks with revocation.OpenReadOnly: it
// never creates a store, so a mistyped directory is an error at start-up
// (revocation.ErrNoStore) rather than an empty store. The list's age is
// reported in every answer. Local stops made through the same
// *revocation.Store take effect for the next check; those made by another
// process (`cardap revocation stop`) within about a second (the store's
// background refresh, docs/PROTOCOL.md chapter 9.3).
func RevocationStore(s *revocation.Store) RevocationChecker {
	return storeChecker{s: s}
}

type storeChecker struct{ s *revocation.Store }

// CheckCUID implements RevocationChecker.
func (c storeChecker) CheckCUID(ctx context.Context, cuid profile.CUID) (RevocationStatus, error) {
	if c.s == nil {
		return RevocationStatus{}, fmt.Errorf("%w: nil revocation store", ErrConfig)
	}
	if err := ctx.Err(); err != nil {
		return RevocationStatus{}, err
	}
	r, err := c.s.Check(revocation.CUIDKey(cuid))
	st := RevocationStatus{Age: r.Age}
	if r.Revoked && r.Entry != nil {
		// A revoked card is refused even when the lookup also reported a
		// problem: a positive answer is never weakened.
		st.Revoked = true
		st.Reason = revocationReason(r.Entry)
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if r.Stale {
		st.Warning = staleWarning(r)
	}
	return st, nil
}

// revocationReason describes an entry for RevocationStatus.Reason: the
// reason and the origin (delivered list or local stop). The operator's
// name and free text of a local stop stay in the store's journal.
func revocationReason(e *revocation.Entry) string {
	switch e.Origin {
	case revocation.OriginFeed:
		return e.Reason.String() + " (delivered list)"
	case revocation.OriginLocalStop:
		return e.Reason.String() + " (local stop)"
	}
	return e.Reason.String() + " (" + e.Origin.String() + ")"
}

// staleWarning is the warning of an answer given on a too-old list.
func staleWarning(r revocation.Result) string {
	return fmt.Sprintf("revocation list sequence %d is %s old, older than the policy allows; card accepted by policy",
		r.Seq, r.Age.Round(time.Second))
}
