package typec

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// ErrConfig is wrapped by every configuration error (Config.Validate,
// Open, Read); the message names the field.
var ErrConfig = errors.New("typec: invalid configuration")

// The card's conditions are profile's sentinels, wrapped with this
// package's prefix: errors.Is(err, profile.ErrNotPresent) (the card does
// not carry the Type C AP with the configured AID: SELECT by DF name
// answered 6A82, docs/PROTOCOL.md §2.4), profile.ErrNotPersonalized (the
// AP is there but its Identity EF is erased: every byte read is 00 or FF,
// or the EF is empty) and profile.ErrMalformed (the card's data does not
// follow the profile: an Identity object that does not parse, a CUID of
// the wrong length, an Identity that runs past the end of its EF, a
// response with more data than asked for; Identity errors also match
// profile.ErrInvalidIdentity, CUID errors profile.ErrInvalidCUID).
var (
	errNotPresent      = fmt.Errorf("typec: %w", profile.ErrNotPresent)
	errNotPersonalized = fmt.Errorf("typec: %w", profile.ErrNotPersonalized)
	errMalformed       = fmt.Errorf("typec: %w", profile.ErrMalformed)
)

// StatusError is a status word other than the ones the profile expects,
// answered to one step of a read. It unwraps to the apdu.StatusWord (or the
// *apdu.TriesError of StatusWord.Err), so errors.Is(err,
// apdu.ErrSecurityStatusNotSatisfied) works.
type StatusError struct {
	Op string          // the step, e.g. "READ BINARY EF.Identity by SFI 2"
	SW apdu.StatusWord // the card's answer
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("typec: %s: card answered %v", e.Op, e.SW.Err())
}

// Unwrap returns the status word as an error (see apdu.StatusWord.Err).
func (e *StatusError) Unwrap() error { return e.SW.Err() }

// malformed wraps errMalformed and, when cause is not nil, cause.
func malformed(cause error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if cause != nil {
		return fmt.Errorf("%w: %s: %w", errMalformed, msg, cause)
	}
	return fmt.Errorf("%w: %s", errMalformed, msg)
}
