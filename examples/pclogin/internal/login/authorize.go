package login

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/examples/pclogin/internal/config"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// Reason says why a login was allowed or refused.
type Reason int

// Reasons of a Result.
const (
	Allowed               Reason = iota
	NoCard                       // no card in the reader
	CardUnreadable               // the card could not be identified (Result.Err says why)
	NotMapped                    // the card's user ID is in no mapping
	WrongAccount                 // the card maps to another account
	CardMismatch                 // the mapping is pinned to another card (CUID)
	Expired                      // the Identity's expiry date has passed
	Revoked                      // the card is revoked
	RevocationUnavailable        // revocation could not be checked
	ReaderUnavailable            // the card reader cannot be reached (Result.Err says why)
	Unproven                     // the card did not prove itself (Type C) and the policy requires it
)

var reasonNames = [...]string{
	Allowed: "allowed", NoCard: "no card in the reader", CardUnreadable: "card unreadable",
	NotMapped: "card not mapped to any account", WrongAccount: "card belongs to another account",
	CardMismatch: "mapping pinned to another card", Expired: "card expired", Revoked: "card revoked",
	RevocationUnavailable: "revocation status unavailable", ReaderUnavailable: "card reader unavailable",
	Unproven: "card not authenticated",
}

// String returns a short English description, safe to show to the user.
func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// Result is the outcome of Authorize.
type Result struct {
	Reason  Reason
	Card    Card   // the card identified (zero when none)
	Account string // the account the card maps to, if any
	Err     error  // the underlying error for CardUnreadable, RevocationUnavailable and ReaderUnavailable
}

// Allowed reports whether the login may proceed.
func (r Result) Allowed() bool { return r.Reason == Allowed }

// Policy is what Authorize checks beyond the mapping.
type Policy struct {
	// Revocation, when not nil, refuses revoked cards (and every card
	// while the status cannot be decided).
	Revocation cardap.RevocationChecker
	// AllowUnproven accepts a card that did not prove itself (Type C):
	// anyone who has read the card's ID once, or holds a copy of it,
	// then logs in as its holder. Off, such a card is refused with
	// Unproven.
	AllowUnproven bool
}

// Authorize identifies the card and decides whether it may log in as
// account: the card must have proved itself (Card.Proof) unless
// p.AllowUnproven, its user ID must map to account, the mapping's CUID pin
// (if any) must match, the Identity must not be expired, and — when
// p.Revocation is not nil — the card must not be revoked (an unknown
// revocation status refuses the login). A revocation store is checked
// through cardap.RevocationStore, whose freshness policy decides about old
// lists (revocation.ErrStale).
func Authorize(ctx context.Context, id Identifier, cfg *config.Config, p Policy, account string, now time.Time) Result {
	c, err := id.Identify(ctx)
	if errors.Is(err, ErrNoCard) {
		return Result{Reason: NoCard}
	}
	if errors.Is(err, ErrReaderUnavailable) {
		return Result{Reason: ReaderUnavailable, Err: err}
	}
	if errors.Is(err, cardap.ErrUnproven) {
		return Result{Reason: Unproven, Err: err}
	}
	if errors.Is(err, cardap.ErrExpired) { // the client checks the expiry date too
		return Result{Reason: Expired, Err: err}
	}
	if err != nil {
		return Result{Reason: CardUnreadable, Err: err}
	}
	if err := c.Identity.Validate(); err != nil || (c.CUID.IsZero() && c.JPKI == nil) {
		return Result{Reason: CardUnreadable, Err: errors.New("login: identification returned an invalid identity")}
	}
	res := Result{Card: c}
	if !c.Proof.Proven() && !p.AllowUnproven {
		res.Reason = Unproven
		return res
	}
	m, ok := cfg.Lookup(c.Identity.UserID)
	if !ok {
		res.Reason = NotMapped
		return res
	}
	res.Account = m.Account
	switch {
	case m.Account != account:
		res.Reason = WrongAccount
		return res
	case m.CUID != nil && *m.CUID != c.CUID:
		res.Reason = CardMismatch
		return res
	case c.Identity.Expired(now):
		res.Reason = Expired
		return res
	}
	if p.Revocation != nil {
		st, err := checkRevocation(ctx, p.Revocation, c)
		switch {
		case st.Revoked: // a positive answer is never weakened by an error
			res.Reason = Revoked
			return res
		case err != nil:
			res.Reason, res.Err = RevocationUnavailable, err
			return res
		}
	}
	res.Reason = Allowed
	return res
}

// checkRevocation checks the card's CUID, or for a JPKI card its
// certificate revocation key (docs/PROTOCOL.md §10.4), which the
// revocation store holds in the CUID key space.
func checkRevocation(ctx context.Context, rc cardap.RevocationChecker, c Card) (cardap.RevocationStatus, error) {
	if c.JPKI == nil {
		return rc.CheckCUID(ctx, c.CUID)
	}
	k := c.JPKI.RevocationKey
	if kc, ok := rc.(cardap.KeyChecker); ok {
		return kc.CheckKey(ctx, k)
	}
	if k.Kind() != revocation.KindCUID {
		return cardap.RevocationStatus{}, fmt.Errorf("login: cannot check a %s key", k.Kind())
	}
	return rc.CheckCUID(ctx, profile.CUID(k.Bytes()))
}
