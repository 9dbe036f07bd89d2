package cardap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// RevocationStatus is one revocation check's answer. For a revoked card
// it says why (Reason), where the revocation came from (Source) and when
// (RevokedAt); a refusal for revocation carries it (Error.Revocation).
type RevocationStatus struct {
	// Revoked is true when the card is on the delivered list or stopped
	// locally.
	Revoked bool
	// Reason is why a revoked card was revoked (revocation.ReasonLost,
	// ReasonStolen, ...); ReasonUnspecified when the list gave none or
	// the card is not revoked.
	Reason revocation.Reason
	// Source says where the revocation came from: the delivered list
	// (revocation.OriginDelivered) or an urgent local stop
	// (revocation.OriginLocalStop); zero when the card is not revoked.
	Source revocation.Origin
	// RevokedAt is when the card was revoked (the delivered revocation
	// time, or when the local stop was recorded); zero when not revoked
	// or not known.
	RevokedAt time.Time
	// Age is how old the list is.
	Age time.Duration
	// Warning is non-empty when the list is older than the policy allows
	// but the policy accepts the card anyway (revocation.Policy.AllowStale).
	Warning string
}

// RevocationStore adapts a revocation store (package revocation) to a
// RevocationChecker. The store's freshness policy (revocation.Policy, set
// when the store is opened) decides:
//
//   - a card on the delivered list or stopped locally is revoked, however
//     old the list (RevocationStatus says why, from where and since when);
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
// A nil store is refused by New (ErrConfig). Open the store a terminal
// only checks with revocation.Options.ReadOnly: it never creates a store,
// so a mistyped directory is an error at start-up (revocation.ErrNoStore)
// rather than an empty store. The list's age is reported in every answer.
// Local stops made through the same *revocation.Store take effect for the
// next check; those made by another process (`cardap revocation stop`)
// within about a second (the store's background refresh, docs/PROTOCOL.md
// chapter 9.3).
func RevocationStore(s *revocation.Store) RevocationChecker {
	return storeChecker{s: s}
}

type storeChecker struct{ s *revocation.Store }

// KeyChecker is implemented by revocation checkers that check any
// revocation key, beyond CUIDs: the certificate revocation keys of the
// JPKI AP (revocation.CertificateKey; docs/PROTOCOL.md §10.4).
// RevocationStore's checker implements it. For a checker that does not,
// the client checks a key of the 16-byte space through CheckCUID.
type KeyChecker interface {
	CheckKey(ctx context.Context, k revocation.Key) (RevocationStatus, error)
}

// CheckCUID implements RevocationChecker.
func (c storeChecker) CheckCUID(ctx context.Context, cuid profile.CUID) (RevocationStatus, error) {
	return c.CheckKey(ctx, revocation.CUIDKey(cuid))
}

// CheckKey implements KeyChecker.
func (c storeChecker) CheckKey(ctx context.Context, k revocation.Key) (RevocationStatus, error) {
	if c.s == nil {
		return RevocationStatus{}, fmt.Errorf("%w: nil revocation store", ErrConfig)
	}
	if err := ctx.Err(); err != nil {
		return RevocationStatus{}, err
	}
	r, err := c.s.Check(k)
	st := RevocationStatus{Age: r.Age}
	if r.Revoked && r.Entry != nil {
		// A revoked card is refused even when the lookup also reported a
		// problem: a positive answer is never weakened.
		st.Revoked = true
		st.Reason = r.Entry.Reason
		st.Source = r.Entry.Origin
		st.RevokedAt = r.Entry.RevokedAt
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

// checkRevocationConfig refuses a checker that can never decide: the
// adapter of a nil store (every tap would be refused).
func checkRevocationConfig(rc RevocationChecker) error {
	if sc, ok := rc.(storeChecker); ok && sc.s == nil {
		return fmt.Errorf("%w: Revocation: RevocationStore of a nil store", ErrConfig)
	}
	return nil
}

// staleWarning is the warning of an answer given on a too-old list.
func staleWarning(r revocation.Result) string {
	return fmt.Sprintf("revocation list sequence %d is %s old, older than the policy allows; card accepted by policy",
		r.Seq, r.Age.Round(time.Second))
}

// revokedCause is the cause of a ReasonRevoked refusal: the status that
// decided it. The operator's name and free text of a local stop stay in
// the store's journal.
type revokedCause struct{ st RevocationStatus }

// Error says why, from where and since when, e.g. "revoked as lost
// (delivered list) at 2026-11-28T00:00:00Z".
func (c *revokedCause) Error() string {
	msg := "revoked as " + c.st.Reason.String()
	switch c.st.Source {
	case revocation.OriginDelivered:
		msg += " (delivered list)"
	case revocation.OriginLocalStop:
		msg += " (local stop)"
	}
	if !c.st.RevokedAt.IsZero() {
		msg += " at " + c.st.RevokedAt.UTC().Format(time.RFC3339)
	}
	return msg
}

// revokedError is the refusal of a card st says is revoked; err, when
// not nil, is a problem the checker also reported (kept as a cause).
func revokedError(id *Identity, st RevocationStatus, err error) *Error {
	var cause error = &revokedCause{st: st}
	if err != nil {
		cause = errors.Join(cause, err)
	}
	return &Error{Reason: ReasonRevoked, Identity: id, Err: cause, Revocation: &st}
}
