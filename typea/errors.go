package typea

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
)

// Errors of package typea, usable with errors.Is (and the typed ones with
// errors.As).
var (
	// ErrRecordFormat: a record breaks the formats of docs/PROTOCOL.md §6.3.
	ErrRecordFormat = errors.New("typea: record format error")
	// ErrNotPersonalized: record 1 is missing or empty.
	ErrNotPersonalized = errors.New("typea: the AP is not personalized")
	// ErrNoPassword: the AP is configured without a password.
	ErrNoPassword = errors.New("typea: the AP is configured without a password")
	// ErrPasswordBeforeAuth: the configuration asks for PasswordBeforeAuth
	// without AllowPasswordBeforeAuth. Nothing was sent.
	ErrPasswordBeforeAuth = errors.New("typea: config: password mode before-auth (password in plain to a card not yet authenticated) and AllowPasswordBeforeAuth is false")

	// ErrLastTry: VERIFY was refused on the host because the password has
	// one try left and the caller did not allow spending it
	// (VerifyOptions.AllowLastTry).
	ErrLastTry = apsession.ErrLastTry
	// ErrPasswordFormat: a password is empty or too long for one APDU.
	// Nothing was sent.
	ErrPasswordFormat = apsession.ErrPasswordFormat
	// ErrPasswordRequired: the card asks for the password (6982 after
	// authentication) and the session holds none: passwords are never
	// resent on their own.
	ErrPasswordRequired = apsession.ErrPasswordRequired
	// ErrCardSwapped: the CUID changed between two operations; the
	// operation was aborted before changing anything.
	ErrCardSwapped = apsession.ErrCardSwapped
	// ErrNotPresent: the card has no AP with the configured AID.
	ErrNotPresent = apsession.ErrNotPresent
)

// PasswordError is the result of a failed VERIFY (or a status query of a
// blocked password): the remaining tries and whether the password is
// blocked. It unwraps to the card's *apdu.TriesError, so
// errors.Is(err, apdu.ErrVerificationFailed) and errors.Is(err,
// apdu.ErrBlocked) work.
type PasswordError struct {
	Remaining int
	Blocked   bool
	Err       *apdu.TriesError
}

// Error says how many tries are left, never anything about the password.
func (e *PasswordError) Error() string {
	if e.Blocked {
		return "typea: password blocked (no tries left); the operator must unblock it (RESET RETRY COUNTER)"
	}
	return fmt.Sprintf("typea: wrong password, %d tries left", e.Remaining)
}

// Unwrap returns the card's status as *apdu.TriesError.
func (e *PasswordError) Unwrap() error { return e.Err }

// RecordSizeError reports a record longer than the profile allows; it is
// returned before anything is written.
type RecordSizeError struct {
	Record int    // record number, or 0 for an attribute given by Name
	Name   string // attribute name
	Len    int
	Max    int
}

// Error gives the sizes.
func (e *RecordSizeError) Error() string {
	what := fmt.Sprintf("record %d", e.Record)
	if e.Name != "" {
		what = fmt.Sprintf("attribute %q", e.Name)
	}
	return fmt.Sprintf("typea: %s encodes to %d bytes, a record holds at most %d", what, e.Len, e.Max)
}

// Is matches ErrRecordFormat.
func (e *RecordSizeError) Is(target error) bool { return target == ErrRecordFormat }

// CapacityError reports an Identity with more attributes than EF.Records
// has records for; it is returned before anything is written.
type CapacityError struct {
	Records, Max int
}

// Error gives the counts.
func (e *CapacityError) Error() string {
	return fmt.Sprintf("typea: %d records needed, EF.Records holds at most %d", e.Records, e.Max)
}

// Is matches ErrRecordFormat.
func (e *CapacityError) Is(target error) bool { return target == ErrRecordFormat }
