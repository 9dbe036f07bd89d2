package typea

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/profile"
)

// Errors of package typea, usable with errors.Is (and the typed ones with
// errors.As). The card's conditions are profile's: a card without the AP
// gives an error matching profile.ErrNotPresent, an AP without an
// identity profile.ErrNotPersonalized, a CUID that breaks the profile
// profile.ErrMalformed.
var (
	// ErrConfig is wrapped by every configuration error (Config.Validate,
	// Open, Read); the message names the field.
	ErrConfig = errors.New("typea: invalid configuration")
	// ErrRecordFormat: a record breaks the formats of docs/PROTOCOL.md §6.3.
	ErrRecordFormat = errors.New("typea: record format error")
	// ErrNoPassword: a password operation on an AP configured without a
	// password (profile.PasswordNone). Nothing was sent.
	ErrNoPassword = fmt.Errorf("%w: Password: the AP is configured without a password", ErrConfig)
	// ErrPasswordBeforeAuth: the configuration asks for
	// profile.PasswordBeforeAuth without AllowPasswordBeforeAuth. Nothing
	// was sent.
	ErrPasswordBeforeAuth = fmt.Errorf("%w: Password: before-auth sends the password in plain to a card not yet authenticated, and AllowPasswordBeforeAuth is false", ErrConfig)

	// ErrLastTry: the password was not sent because it has one try left
	// and the caller did not allow spending it (VerifyOptions.AllowLastTry,
	// Config.AllowLastTry). The same value as profile.ErrLastTry.
	ErrLastTry = profile.ErrLastTry
	// ErrPasswordFormat: a password is empty or too long for one APDU
	// (nothing was sent), or the card refused a new password's length
	// (6A80, no try spent). The same value as profile.ErrPasswordFormat.
	ErrPasswordFormat = profile.ErrPasswordFormat
	// ErrPasswordRequired: the card asks for the password (6982 after
	// authentication) and the AP holds none: passwords are never resent
	// on their own. The same value as profile.ErrPasswordRequired.
	ErrPasswordRequired = profile.ErrPasswordRequired
	// ErrCardSwapped: the CUID changed between two operations; the
	// operation was aborted before changing anything. The same value as
	// profile.ErrCardSwapped.
	ErrCardSwapped = profile.ErrCardSwapped
)

// RecordSizeError reports a record longer than the profile allows; it is
// returned before anything is written.
type RecordSizeError struct {
	// Record is the record number, or 0 for an attribute given by Name.
	Record int
	// Name is the attribute's name, when the record is an attribute.
	Name string
	// Len is the record's encoded length in bytes.
	Len int
	// Max is the largest record the profile (or the current APDU mode)
	// carries.
	Max int
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
	// Records is the number of records the Identity needs.
	Records int
	// Max is the number of records EF.Records holds.
	Max int
}

// Error gives the counts.
func (e *CapacityError) Error() string {
	return fmt.Sprintf("typea: %d records needed, EF.Records holds at most %d", e.Records, e.Max)
}

// Is matches ErrRecordFormat.
func (e *CapacityError) Is(target error) bool { return target == ErrRecordFormat }
