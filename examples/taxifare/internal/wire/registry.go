package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mynacard/freespace/profile"
)

// MaxRegisteredUsers bounds a registry document.
const MaxRegisteredUsers = 1_000_000

// RegisteredUser is one user registered for the subsidy, with the rides the
// server already counts for them (on other terminals) in the registry's day
// and year. The user ID and the pinned CUID are not sent in clear: Key and
// Pin are keyed hashes under the registry's Salt (UserKey, PinKey), which a
// terminal recomputes from the card in front of it. A terminal thus checks
// a card it reads without receiving the list of user IDs with their CUIDs
// (a forger's shopping list). User IDs that are easy to guess can still be
// tried one by one against Key: the server re-checks every trip anyway.
type RegisteredUser struct {
	Key string `json:"key"` // UserKey(salt, user ID)
	// Pin, when set, pins the registration to one card: PinKey(salt, user
	// ID, CUID); a card carrying the same user ID with another CUID is
	// refused.
	Pin       string `json:"pin,omitempty"`
	RidesDay  int    `json:"rides_day"`
	RidesYear int    `json:"rides_year"`
}

// SaltBytes is the length of a registry's salt.
const SaltBytes = 32

// Registry is the answer to GET /v1/registry: every registered user (as
// keyed hashes), with ride counts that exclude the asking terminal's own
// trips (the terminal adds those from its own database, so nothing is
// counted twice).
type Registry struct {
	AsOf  time.Time        `json:"as_of"`
	Day   string           `json:"day"`  // YYYY-MM-DD the RidesDay counts are for
	Year  int              `json:"year"` // counting year the RidesYear counts are for
	Salt  []byte           `json:"salt"` // SaltBytes, fresh for every answer
	Users []RegisteredUser `json:"users"`
}

// UserKey is the registry key of userID under salt: HMAC-SHA-256 keyed
// with salt over "user", 0, userID, in lower-case hex.
func UserKey(salt []byte, userID string) string {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte("user\x00"))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

// PinKey is the pin of userID's registration to card c under salt:
// HMAC-SHA-256 keyed with salt over "pin", 0, userID, 0, the 16 bytes of
// the CUID, in lower-case hex.
func PinKey(salt []byte, userID string, c profile.CUID) string {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte("pin\x00"))
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write(c[:])
	return hex.EncodeToString(m.Sum(nil))
}

// validKey reports whether s is 64 lower-case hex digits.
func validKey(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Validate checks the registry's fields.
func (r *Registry) Validate() error {
	if _, err := time.Parse(time.DateOnly, r.Day); err != nil {
		return fmt.Errorf("%w: registry day %.12q", ErrInvalid, r.Day)
	}
	if r.Year < 2000 || r.Year > 9999 {
		return fmt.Errorf("%w: registry year %d", ErrInvalid, r.Year)
	}
	if len(r.Salt) != SaltBytes {
		return fmt.Errorf("%w: registry salt of %d bytes, want %d", ErrInvalid, len(r.Salt), SaltBytes)
	}
	if len(r.Users) > MaxRegisteredUsers {
		return fmt.Errorf("%w: %d users, at most %d", ErrInvalid, len(r.Users), MaxRegisteredUsers)
	}
	seen := make(map[string]bool, len(r.Users))
	for i, u := range r.Users {
		if !validKey(u.Key) {
			return fmt.Errorf("%w: registry user %d: bad key", ErrInvalid, i)
		}
		if seen[u.Key] {
			return fmt.Errorf("%w: registry user %d: listed twice", ErrInvalid, i)
		}
		seen[u.Key] = true
		if u.Pin != "" && !validKey(u.Pin) {
			return fmt.Errorf("%w: registry user %d: bad pin", ErrInvalid, i)
		}
		if u.RidesDay < 0 || u.RidesYear < 0 || u.RidesDay > u.RidesYear {
			return fmt.Errorf("%w: registry user %d: bad ride counts", ErrInvalid, i)
		}
	}
	return nil
}

// ParseRegistry reads and validates a Registry of at most limit bytes.
func ParseRegistry(r io.Reader, limit int64) (*Registry, error) {
	var reg Registry
	if err := decodeStrict(r, limit, &reg); err != nil {
		return nil, err
	}
	if err := reg.Validate(); err != nil {
		return nil, err
	}
	return &reg, nil
}

// Token is a terminal's bearer token: each terminal has its own, issued by
// the server (server.EnrollTerminal), which knows only its hash. It never
// prints: String, GoString and Format redact it.
type Token string

const redacted = "[REDACTED]"

// String returns a redacted placeholder.
func (Token) String() string { return redacted }

// GoString returns a redacted placeholder.
func (Token) GoString() string { return redacted }

// Format prints a redacted placeholder for every verb.
func (Token) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer with a redacted placeholder (slog's
// JSON handler would otherwise marshal the string itself).
func (Token) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler with a redacted
// placeholder, so encoding/json and other encoders never see the token.
func (Token) MarshalText() ([]byte, error) { return []byte(redacted), nil }
