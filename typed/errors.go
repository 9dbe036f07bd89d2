package typed

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/internal/apsession"
)

// Errors of package typed. Every one is usable with errors.Is; the typed
// errors (*CapacityError, *KeyVersionError) also with errors.As.
var (
	// ErrMalformed: the card's data breaks the profile (envelope header,
	// plaintext format, layout). A torn slot is not reported with it as
	// long as the other slot is readable.
	ErrMalformed = errors.New("typed: malformed data")
	// ErrAuthentication: no envelope on the AP authenticates under the data
	// key: the data was copied from another card, AP or file, was tampered
	// with, or the key is wrong. Nothing is returned.
	ErrAuthentication = errors.New("typed: data does not authenticate (AES-GCM): copied from another card or file, tampered, or wrong data key")
	// ErrUnknownKeyVersion is matched by *KeyVersionError.
	ErrUnknownKeyVersion = errors.New("typed: unknown data key version")
	// ErrNoData: the AP has never been written (both slots blank).
	ErrNoData = errors.New("typed: the AP holds no data")
	// ErrCapacity is matched by *CapacityError.
	ErrCapacity = errors.New("typed: data exceeds the AP's capacity")
	// ErrKey: a data key has the wrong length or a key ID is invalid.
	ErrKey = errors.New("typed: invalid data key")
	// ErrUnreadableSlots: a write found envelopes but none it can open and
	// refuses to overwrite them (see WriteOptions.OverwriteUnreadable).
	ErrUnreadableSlots = errors.New("typed: existing data cannot be read; refusing to overwrite it")
	// ErrGenerationExhausted: the generation counter reached 2^32-1.
	ErrGenerationExhausted = errors.New("typed: generation counter exhausted")

	// ErrPasswordRequired: the operation needs the read key with the
	// password verified, and the session lost it (after a write under the
	// update key); open the AP again with the password.
	ErrPasswordRequired = apsession.ErrPasswordRequired
	// ErrLastTry: the password has one try left and the caller did not
	// allow spending it; nothing was sent but the status query.
	ErrLastTry = apsession.ErrLastTry
	// ErrCardSwapped: the card's CUID differs from the one the session
	// started with; the operation was aborted before writing anything.
	ErrCardSwapped = apsession.ErrCardSwapped
	// ErrNotPresent: the card has no AP with the configured AID.
	ErrNotPresent = apsession.ErrNotPresent
)

// CapacityError reports data that does not fit one slot of the AP. It is
// returned before anything is written.
type CapacityError struct {
	Need int // bytes the envelope needs (plaintext + Overhead)
	Have int // bytes one slot holds
}

// Error gives both sizes and the largest plaintext that fits.
func (e *CapacityError) Error() string {
	return fmt.Sprintf("typed: data exceeds the AP's capacity: envelope of %d bytes, a slot holds %d (at most %d bytes of plaintext)",
		e.Need, e.Have, max(0, e.Have-Overhead))
}

// Is matches ErrCapacity.
func (e *CapacityError) Is(target error) bool { return target == ErrCapacity }

// KeyVersionError reports an envelope under a data key version the key
// provider does not have. The newest envelope is never silently skipped
// for an older one on this ground.
type KeyVersionError struct {
	KeyID   string
	Version uint32
	Err     error // the key provider's error
}

// Error names the key and version.
func (e *KeyVersionError) Error() string {
	return fmt.Sprintf("typed: data key %q version %d is not available: %v", e.KeyID, e.Version, e.Err)
}

// Unwrap returns the key provider's error.
func (e *KeyVersionError) Unwrap() error { return e.Err }

// Is matches ErrUnknownKeyVersion.
func (e *KeyVersionError) Is(target error) bool { return target == ErrUnknownKeyVersion }
