package typed

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/profile"
)

// Errors of package typed. Every one is usable with errors.Is; the typed
// errors (*CapacityError, *KeyVersionError, *DataKeyError, *FallbackError)
// also with errors.As.
var (
	// ErrConfig is wrapped by every configuration error (Config.Validate,
	// Open); the message names the field.
	ErrConfig = errors.New("typed: invalid configuration")
	// ErrNoPassword: a password operation on an AP configured without a
	// password (profile.PasswordNone). Nothing was sent.
	ErrNoPassword = fmt.Errorf("%w: Password: the AP is configured without a password", ErrConfig)
	// ErrAuthentication: no envelope on the AP authenticates under the data
	// key: the data was copied from another card, AP or file, was tampered
	// with, or the key is wrong. Nothing is returned.
	ErrAuthentication = errors.New("typed: data does not authenticate under the data key (AES-GCM)")
	// ErrDataKeyRefused is matched by *DataKeyError: an envelope names a
	// data key this terminal does not accept (another name, or a retired
	// version). The card chose the header; the terminal's configuration
	// decides which keys open data.
	ErrDataKeyRefused = errors.New("typed: envelope under a data key this terminal does not accept")
	// ErrFallback is matched by *FallbackError: Config.RequireNewest is set
	// and the newest slot does not open, so the read refuses the older
	// data it would otherwise fall back to.
	ErrFallback = errors.New("typed: the newest slot does not open; refusing to fall back to older data")
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

	// ErrPasswordRequired: the card requires the password to be verified
	// (6982 under the read key): none was given, or the session lost it
	// (after a write under the update key), and a password is never
	// resent on its own. The same value as profile.ErrPasswordRequired.
	ErrPasswordRequired = profile.ErrPasswordRequired
	// ErrLastTry: the password has one try left and the caller did not
	// allow spending it (VerifyOptions.AllowLastTry, Config.AllowLastTry);
	// nothing was sent but the status query. The same value as
	// profile.ErrLastTry.
	ErrLastTry = profile.ErrLastTry
	// ErrCardSwapped: the card's CUID differs from the one the session
	// started with; the operation was aborted before writing anything.
	// The same value as profile.ErrCardSwapped.
	ErrCardSwapped = profile.ErrCardSwapped
	// ErrPasswordFormat: a password is empty or too long for one APDU
	// (nothing was sent), or the card refused a new password's length
	// (6A80, no try spent). The same value as profile.ErrPasswordFormat.
	ErrPasswordFormat = profile.ErrPasswordFormat
)

// configKeyErr is a configuration error about the data key: it matches
// ErrConfig and ErrKey, and names the package once.
func configKeyErr(format string, args ...any) error {
	return &configKeyError{msg: fmt.Sprintf(format, args...)}
}

type configKeyError struct{ msg string }

func (e *configKeyError) Error() string { return ErrConfig.Error() + ": " + e.msg }

func (e *configKeyError) Is(target error) bool { return target == ErrConfig || target == ErrKey }

// errMalformed is wrapped by every error about the card's data breaking
// the profile (envelope header, plaintext format, layout, FCP): it matches
// profile.ErrMalformed. A torn slot is not reported with it as long as the
// other slot is readable.
var errMalformed = fmt.Errorf("typed: %w", profile.ErrMalformed)

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
	KeyID   string // the data key's name
	Version uint32 // the version the key provider does not have
	Err     error  // the key provider's error
}

// Error names the key and version.
func (e *KeyVersionError) Error() string {
	return fmt.Sprintf("typed: data key %q version %d is not available: %v", e.KeyID, e.Version, e.Err)
}

// Unwrap returns the key provider's error.
func (e *KeyVersionError) Unwrap() error { return e.Err }

// Is matches ErrUnknownKeyVersion.
func (e *KeyVersionError) Is(target error) bool { return target == ErrUnknownKeyVersion }

// DataKeyProblem says why an envelope's data key is refused.
type DataKeyProblem int

const (
	// OtherKeyName: the header names a key other than Config.DataKey (a
	// card key, another operator key): only the configured data key is
	// ever asked of the key provider.
	OtherKeyName DataKeyProblem = iota + 1
	// RetiredVersion: the version is below Config.MinDataKeyVersion or not
	// in Config.DataKeyVersions (and, for Rotate, not in its From list).
	RetiredVersion
)

// String describes the problem.
func (p DataKeyProblem) String() string {
	switch p {
	case OtherKeyName:
		return "not the configured data key"
	case RetiredVersion:
		return "a version this terminal does not accept"
	}
	return fmt.Sprintf("DataKeyProblem(%d)", int(p))
}

// DataKeyError reports an envelope whose header names a data key this
// terminal does not accept. It names the key and version (never key
// bytes). The newest envelope is never skipped for an older one on this
// ground: the read fails.
type DataKeyError struct {
	KeyID   string // the key name in the envelope header (printable ASCII)
	Version uint32 // the key version in the header
	Format  byte   // the envelope format
	Problem DataKeyProblem
	// Accepted describes what the terminal accepts (the configured name,
	// or the accepted versions).
	Accepted string
}

// Error names the key, the version and what is accepted.
func (e *DataKeyError) Error() string {
	return fmt.Sprintf("typed: envelope (format %02X) under data key %q version %d: %s (accepted: %s)",
		e.Format, e.KeyID, e.Version, e.Problem, e.Accepted)
}

// Is matches ErrDataKeyRefused.
func (e *DataKeyError) Is(target error) bool { return target == ErrDataKeyRefused }

// Fallback describes a slot a read passed over for older data: the newer
// slot of a torn write, or a damaged or forged one. A read that returns
// data reports it (ReadReport.Fallback); with Config.RequireNewest it
// refuses instead (*FallbackError).
type Fallback struct {
	Slot int // the slot skipped, 0 or 1
	// Generation is the generation its header claims (unauthenticated);
	// 0 when the header itself is unreadable.
	Generation uint32
	// Err is why it was skipped: ErrAuthentication (tag does not verify),
	// profile.ErrMalformed (header or length broken).
	Err error
}

// String describes the fallback.
func (f Fallback) String() string {
	g := "unknown generation"
	if f.Generation != 0 {
		g = fmt.Sprintf("generation %d", f.Generation)
	}
	return fmt.Sprintf("slot %d (%s) skipped: %v", f.Slot, g, f.Err)
}

// FallbackError is the refusal of a read under Config.RequireNewest when
// the newest slot does not open.
type FallbackError struct {
	Fallback
	// Older is the generation of the authentic older envelope that was
	// not used.
	Older uint32
}

// Error names the skipped slot, its claimed generation and why.
func (e *FallbackError) Error() string {
	return fmt.Sprintf("typed: newest data unreadable, older generation %d refused: %s", e.Older, e.Fallback)
}

// Unwrap returns why the newer slot was skipped.
func (e *FallbackError) Unwrap() error { return e.Fallback.Err }

// Is matches ErrFallback.
func (e *FallbackError) Is(target error) bool { return target == ErrFallback }
