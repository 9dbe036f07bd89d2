package cardap

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mynacard/freespace/apdu"
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
	ReasonPasswordRequired                // the AP needs a password and none was given
	ReasonPasswordWrong                   // the password was wrong; tries remain
	ReasonPasswordBlocked                 // the password is blocked (or one try left and not allowed)
	ReasonCardRemoved                     // the card left (or the reader vanished) mid-read
	ReasonCardError                       // any other card or reader failure
	ReasonRollback                        // the card's Type D data is older than what this terminal saw (or its newest slot does not open under RequireNewest)
	ReasonUnproven                        // policy: the card proved nothing (Type C) and Config.AllowUnproven is off
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

// Sentinel errors, one per Reason.
var (
	ErrUnknownCard       = errors.New("cardap: no accepted card AP on the card")
	ErrNotPersonalized   = errors.New("cardap: card AP not personalized")
	ErrMalformed         = errors.New("cardap: malformed data on the card")
	ErrRevoked           = errors.New("cardap: card revoked")
	ErrRevocationUnknown = errors.New("cardap: revocation status unknown (list too old or unreadable)")
	ErrExpired           = errors.New("cardap: card AP expired")
	ErrAuthFailed        = errors.New("cardap: authentication failed")
	ErrPasswordRequired  = errors.New("cardap: password required")
	ErrPasswordWrong     = errors.New("cardap: wrong password")
	ErrPasswordBlocked   = errors.New("cardap: password blocked")
	ErrCardRemoved       = errors.New("cardap: card removed")
	ErrCardError         = errors.New("cardap: card error")
	ErrRollback          = errors.New("cardap: card data rolled back to an older generation")
	ErrUnproven          = errors.New("cardap: card did not prove itself (read without authentication)")
)

func (r Reason) sentinel() error {
	switch r {
	case ReasonUnknownCard:
		return ErrUnknownCard
	case ReasonNotPersonalized:
		return ErrNotPersonalized
	case ReasonMalformed:
		return ErrMalformed
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
		return ErrCardRemoved
	case ReasonRollback:
		return ErrRollback
	case ReasonUnproven:
		return ErrUnproven
	}
	return ErrCardError
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

// Error implements error.
func (e *Error) Error() string {
	msg := e.Reason.sentinel().Error()
	if e.Identity != nil && !e.Identity.CUID.IsZero() {
		msg += " (card " + e.Identity.CUID.String() + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
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

// maxLogText bounds an error's text in a log attribute: a hostile card's
// data may end up in an error message, and must not flood the log.
const maxLogText = 1024

// logText renders err for one log attribute: on one line (a newline in an
// attribute would split the record for line-oriented collectors, or let
// card data forge a record), control characters escaped, at most
// maxLogText bytes. Errors of the SDK carry no secrets (passwords and keys
// redact themselves), so the text is the error's own message.
func logText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= maxLogText {
			b.WriteString("...")
			break
		}
		switch {
		case r == '\n' || r == '\r':
			b.WriteString("; ")
		case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || r == utf8.RuneError:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
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
