package profile

import (
	"fmt"
	"log/slog"
)

// Password is a card AP password: the one password type of the SDK, used
// by typea, typed, personalize, cardap and mockcard alike. It never
// prints: String, GoString, every fmt verb, slog and the JSON and text
// encoders give "[redacted]". Call Zero when done with it.
type Password []byte

// String returns "[redacted]".
func (Password) String() string { return "[redacted]" }

// GoString returns "Password([redacted])".
func (Password) GoString() string { return "Password([redacted])" }

// Format prints "[redacted]" for every verb.
func (Password) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[redacted]")) }

// LogValue implements slog.LogValuer with "[redacted]".
func (Password) LogValue() slog.Value {
	// Without it slog's text handler prints a []byte as a raw string and
	// its JSON handler as base64.
	return slog.StringValue("[redacted]")
}

// MarshalText implements encoding.TextMarshaler with "[redacted]", so
// encoders that honour it never see the bytes.
func (Password) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// MarshalJSON implements json.Marshaler with "[redacted]".
func (Password) MarshalJSON() ([]byte, error) {
	// encoding/json would otherwise write the bytes as base64.
	return []byte(`"[redacted]"`), nil
}

// Zero overwrites the password's bytes with zeros.
func (p Password) Zero() { clear(p) }

// PasswordMode says whether an AP has a password and when the host
// verifies it relative to mutual authentication (docs/PROTOCOL.md §3.3,
// §6.4). The zero value is PasswordNone, so a configuration sends a
// password only when it says when to.
type PasswordMode uint8

// Password modes.
const (
	// PasswordNone (the zero value): the AP has no password; password
	// operations are refused before anything is sent. An AP that does
	// need one refuses reads (6982), reported as a password required.
	PasswordNone PasswordMode = iota
	// PasswordAfterAuth: VERIFY goes under secure messaging after mutual
	// authentication, so the password crosses the interface encrypted
	// and only to the authenticated card. The mode to choose for an AP
	// with a password.
	PasswordAfterAuth
	// PasswordBeforeAuth: VERIFY in plain before mutual authentication.
	// Weaker: the password goes, readable on the interface, to a card
	// that has not proven itself yet (a clone, an emulator or a relay
	// sees it). typea accepts it only with Config.AllowPasswordBeforeAuth;
	// typed not at all.
	PasswordBeforeAuth
)

// String names the mode as ParsePasswordMode reads it: "none",
// "after-auth" or "before-auth".
func (m PasswordMode) String() string {
	switch m {
	case PasswordAfterAuth:
		return "after-auth"
	case PasswordBeforeAuth:
		return "before-auth"
	case PasswordNone:
		return "none"
	}
	return fmt.Sprintf("PasswordMode(%d)", uint8(m))
}

// Valid reports whether m is one of the defined modes.
func (m PasswordMode) Valid() bool { return m <= PasswordBeforeAuth }

// ParsePasswordMode parses "none", "after-auth" or "before-auth". Any
// other text is an error wrapping ErrInvalidPasswordMode.
func ParsePasswordMode(s string) (PasswordMode, error) {
	for _, m := range []PasswordMode{PasswordNone, PasswordAfterAuth, PasswordBeforeAuth} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w %q (want none, after-auth or before-auth)", ErrInvalidPasswordMode, s)
}

// PasswordStatus is the state of an AP's password as the card tells it
// to VERIFY without data, which spends no try (ISO/IEC 7816-4 §11.5.6;
// docs/PROTOCOL.md §6.4). typea and typed return it from PasswordStatus.
type PasswordStatus struct {
	// Verified: the password is verified in the current session (9000).
	// The card then does not say how many tries are left.
	Verified bool
	// Remaining is the number of tries left before the password blocks
	// (63Cx); -1 when Verified. 0 when Blocked.
	Remaining int
	// Blocked: no tries are left (63C0, 6983 or 6984); only the
	// operator's administrative key unblocks the password.
	Blocked bool
}

// String describes the status: "verified", "blocked", "1 try left" or
// "n tries left".
func (s PasswordStatus) String() string {
	switch {
	case s.Verified:
		return "verified"
	case s.Blocked:
		return "blocked"
	}
	return TriesLeft(s.Remaining)
}

// TriesLeft says "1 try left" or "n tries left", for the errors and
// messages of every package that reports a retry counter.
func TriesLeft(n int) string {
	if n == 1 {
		return "1 try left"
	}
	return fmt.Sprintf("%d tries left", n)
}

// PasswordError is a password the card refused (VERIFY, CHANGE REFERENCE
// DATA) or a blocked password: the tries left and whether it is blocked.
// typea and typed both return it. It unwraps to the card's answer (an
// *apdu.TriesError for 63Cx, 6983 or 6984), so errors.Is(err,
// apdu.ErrVerificationFailed) and errors.Is(err, apdu.ErrBlocked) work.
type PasswordError struct {
	// Remaining is the number of tries left (0 when Blocked).
	Remaining int
	// Blocked: no tries are left; only the operator's administrative key
	// unblocks the password.
	Blocked bool
	// Err is the card's answer.
	Err error
}

// Error says how many tries are left, never anything about the password.
// Like the card-condition sentinels it has no package prefix: the
// operation that returns it adds its own ("typea: verify password: ...").
func (e *PasswordError) Error() string {
	if e.Blocked {
		return "password blocked"
	}
	return "wrong password, " + TriesLeft(e.Remaining)
}

// Unwrap returns the card's answer.
func (e *PasswordError) Unwrap() error { return e.Err }
