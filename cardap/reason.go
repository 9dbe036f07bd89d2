package cardap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// Reason is why a card was refused.
type Reason int

// The reasons Identify refuses a card for. Each has a sentinel error
// (ErrRevoked, ...) that errors.Is matches against any *Error of that
// reason.
const (
	ReasonUnknown           Reason = iota // not a refusal reason: the zero value
	ReasonUnknownCard                     // no accepted AP on the card
	ReasonNotPersonalized                 // the AP is there but holds no identity
	ReasonMalformed                       // the AP's data does not follow the profile
	ReasonRevoked                         // the CUID is on the revocation list
	ReasonRevocationUnknown               // the list is too old or unreadable: fail closed
	ReasonExpired                         // the identity's expiry date has passed
	ReasonAuthFailed                      // mutual authentication or secure messaging failed (wrong or blocked key, hostile card)
	ReasonPasswordRequired                // the card needs the holder's password and none (or none of a valid length) was given
	ReasonPasswordWrong                   // the password was wrong; tries remain
	ReasonPasswordBlocked                 // the password is blocked (or one try left and not allowed)
	ReasonCardRemoved                     // the card left (or the reader vanished) mid-read
	ReasonCardError                       // any other card or reader failure
	ReasonRollback                        // the card's Type D data is older than what this terminal saw (or its newest slot does not open under RequireNewest)
	ReasonUnproven                        // policy: the card proved nothing (Type C) and Config.AllowUnproven is off
	ReasonCanceled                        // the context ended (cancelled, or its deadline passed) before a decision: no decision on the card
	ReasonPasswordMode                    // the card's password differs from the configured password mode (a password where none is configured, or refused before authentication)
	ReasonKeySet                          // the card's key-set version is retired, not accepted, or not (wholly) held by this terminal (*profile.KeySetError); no key was tried
)

var reasonNames = [...]string{
	ReasonUnknown:           "unknown",
	ReasonUnknownCard:       "unknown-card",
	ReasonNotPersonalized:   "not-personalized",
	ReasonMalformed:         "malformed",
	ReasonRevoked:           "revoked",
	ReasonRevocationUnknown: "revocation-unknown",
	ReasonExpired:           "expired",
	ReasonAuthFailed:        "auth-failed",
	ReasonPasswordRequired:  "password-required",
	ReasonPasswordWrong:     "password-wrong",
	ReasonPasswordBlocked:   "password-blocked",
	ReasonCardRemoved:       "card-removed",
	ReasonCardError:         "card-error",
	ReasonRollback:          "rollback",
	ReasonUnproven:          "unproven",
	ReasonCanceled:          "canceled",
	ReasonPasswordMode:      "password-mode",
	ReasonKeySet:            "key-set",
}

// String returns a stable kebab-case name, fit for audit logs.
func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// MarshalText implements encoding.TextMarshaler.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Sentinel errors of the reasons: errors.Is(err, ErrRevoked) matches an
// *Error with ReasonRevoked, and so on. Three reasons match the SDK's
// canonical sentinels instead of errors of this package:
// ReasonNotPersonalized matches profile.ErrNotPersonalized,
// ReasonMalformed profile.ErrMalformed, ReasonCardRemoved
// apdu.ErrCardRemoved and ReasonKeySet profile.ErrKeySet (the cause is a
// *profile.KeySetError naming the version and why). ReasonCardError
// matches ErrCardError.
var (
	ErrUnknownCard       = errors.New("cardap: no accepted card AP on the card")
	ErrRevoked           = errors.New("cardap: card revoked")
	ErrRevocationUnknown = errors.New("cardap: revocation status unknown (list too old or unreadable)")
	ErrExpired           = errors.New("cardap: card AP expired")
	ErrAuthFailed        = errors.New("cardap: authentication failed")
	ErrPasswordRequired  = errors.New("cardap: password required")
	ErrPasswordWrong     = errors.New("cardap: wrong password")
	ErrPasswordBlocked   = errors.New("cardap: password blocked")
	ErrCardError         = errors.New("cardap: card error")
	ErrRollback          = errors.New("cardap: card data rolled back to an older generation")
	ErrUnproven          = errors.New("cardap: card did not prove itself (read without authentication)")
	ErrCanceled          = errors.New("cardap: identification canceled")
	ErrPasswordMode      = errors.New("cardap: the card's password does not match the configured password mode")
)

// sentinel is the error errors.Is matches for r.
func (r Reason) sentinel() error {
	switch r {
	case ReasonUnknownCard:
		return ErrUnknownCard
	case ReasonNotPersonalized:
		return profile.ErrNotPersonalized
	case ReasonMalformed:
		return profile.ErrMalformed
	case ReasonRevoked:
		return ErrRevoked
	case ReasonRevocationUnknown:
		return ErrRevocationUnknown
	case ReasonExpired:
		return ErrExpired
	case ReasonAuthFailed:
		return ErrAuthFailed
	case ReasonPasswordRequired:
		return ErrPasswordRequired
	case ReasonPasswordWrong:
		return ErrPasswordWrong
	case ReasonPasswordBlocked:
		return ErrPasswordBlocked
	case ReasonCardRemoved:
		return apdu.ErrCardRemoved
	case ReasonRollback:
		return ErrRollback
	case ReasonUnproven:
		return ErrUnproven
	case ReasonCanceled:
		return ErrCanceled
	case ReasonPasswordMode:
		return ErrPasswordMode
	case ReasonKeySet:
		return profile.ErrKeySet
	}
	return ErrCardError
}

// text is how a refusal's text begins for r: the sentinel's text, with
// this package's prefix for the reasons whose sentinel is another
// package's.
func (r Reason) text() string {
	switch r {
	case ReasonNotPersonalized:
		return "cardap: card AP not personalized"
	case ReasonMalformed:
		return "cardap: malformed data on the card"
	case ReasonCardRemoved:
		return "cardap: card removed"
	case ReasonKeySet:
		return "cardap: card-key set refused"
	}
	return r.sentinel().Error()
}

// Error is a refusal: the reason, what was learned of the card before the
// refusal (Identity may be nil; when the CUID was read it is set), and the
// underlying cause. errors.Is(err, cardap.ErrRevoked) matches the reason's
// sentinel; errors.Is/As also reach the cause (for example an
// *apdu.TriesError with the remaining password tries).
type Error struct {
	Reason   Reason    // why the card is refused
	Identity *Identity // partial: what was read before the refusal, or nil
	Err      error     // the cause, or nil
	// Revocation is, for ReasonRevoked, the status that decided it: the
	// revocation reason, its source (delivered list or local stop), when
	// the card was revoked and the list's age. Nil for other reasons.
	Revocation *RevocationStatus
}

// Error says the reason, the card when its CUID was read, and the cause,
// with the package prefix once: "cardap: wrong password (card
// 0123456789ABCDEF0123456789ABCDEF): 1 try left".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason.text())
	if e.Identity != nil && !e.Identity.CUID.IsZero() {
		b.WriteString(" (card " + e.Identity.CUID.String() + ")")
	}
	if d := e.detail(); d != "" {
		b.WriteString(": " + d)
	}
	return b.String()
}

// detail is the cause as Error shows it. For a wrong or blocked password
// it is only what the card said of its tries: the rest of the cause's
// chain repeats the reason ("typea: verify password: typea: wrong
// password"). A cause of this package loses its "cardap: " prefix, which
// the refusal's text already has.
func (e *Error) detail() string {
	if e.Err == nil {
		return ""
	}
	var te *apdu.TriesError
	if errors.As(e.Err, &te) && !isAuthFailure(e.Err) {
		switch {
		case e.Reason == ReasonPasswordWrong && te.Remaining > 0:
			return profile.TriesLeft(te.Remaining)
		case e.Reason == ReasonPasswordBlocked && te.Remaining == 0:
			return ""
		}
	}
	return strings.TrimPrefix(e.Err.Error(), "cardap: ")
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e.Reason.
func (e *Error) Is(target error) bool { return target == e.Reason.sentinel() }

// ReasonOf returns the Reason of a refusal returned by Identify, ReasonUnknown
// for nil, and ReasonCardError for any other error.
func ReasonOf(err error) Reason {
	if err == nil {
		return ReasonUnknown
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonCardError
}

// canceledWins makes a context that ended decide the refusal: an error
// that is ctx's own (cancelled, deadline passed) is ReasonCanceled, not a
// card error, whatever reason an AP gave it, since the card was not
// judged. A revoked card stays revoked: the list decided before.
func canceledWins(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if err == nil || cerr == nil || !errors.Is(err, cerr) {
		return err
	}
	var e *Error
	if !errors.As(err, &e) {
		return &Error{Reason: ReasonCanceled, Err: err}
	}
	if e.Reason == ReasonCanceled || e.Reason == ReasonRevoked {
		return err
	}
	cp := *e
	cp.Reason = ReasonCanceled
	if !errors.Is(e.Err, cerr) {
		cp.Err = err
	}
	return &cp
}

// isRemoval reports whether err says that the card left the reader (or
// was reset) during the operation.
func isRemoval(err error) bool {
	return errors.Is(err, apdu.ErrCardRemoved) || errors.Is(err, apdu.ErrCardReset)
}

// removalWins makes a removal decide the refusal: an error that reports
// the card's removal or reset is ReasonCardRemoved (retry), whatever other
// reason an AP gave it or other sentinels it also matches (a transport
// error may also wrap a malformed-response or secure messaging error, as
// the reader's error for a vanished card once did). A refusal the
// revocation list decided stays as it is: it never comes from the card.
func removalWins(err error) error {
	if err == nil || !isRemoval(err) {
		return err
	}
	var e *Error
	if !errors.As(err, &e) {
		return &Error{Reason: ReasonCardRemoved, Err: err}
	}
	switch e.Reason {
	case ReasonCardRemoved, ReasonRevoked, ReasonRevocationUnknown:
		return err
	}
	cp := *e
	cp.Reason = ReasonCardRemoved
	if !isRemoval(e.Err) {
		// The removal is outside the AP's refusal (joined to it): keep
		// all of err as the cause, so errors.Is still finds the removal.
		cp.Err = err
	}
	return &cp
}

// refusalCause is what a refusal's decision log record shows as its
// "error": the cause of an *Error (its reason is logged apart), or the
// error itself; nil when there is nothing beyond the reason.
func refusalCause(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e.Err
	}
	return err
}
