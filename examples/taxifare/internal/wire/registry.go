package wire

import (
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
// and year.
type RegisteredUser struct {
	UserID string `json:"user_id"`
	// CUID, when set, pins the registration to one card: another card
	// carrying the same user ID is refused.
	CUID      *profile.CUID `json:"cuid,omitempty"`
	RidesDay  int           `json:"rides_day"`
	RidesYear int           `json:"rides_year"`
}

// Registry is the answer to GET /v1/registry?terminal=ID: every registered
// user, with ride counts that exclude the asking terminal's own trips (the
// terminal adds those from its own database, so nothing is counted twice).
type Registry struct {
	AsOf  time.Time        `json:"as_of"`
	Day   string           `json:"day"`  // YYYY-MM-DD the RidesDay counts are for
	Year  int              `json:"year"` // counting year the RidesYear counts are for
	Users []RegisteredUser `json:"users"`
}

// Validate checks the registry's fields.
func (r *Registry) Validate() error {
	if _, err := time.Parse(time.DateOnly, r.Day); err != nil {
		return fmt.Errorf("%w: registry day %.12q", ErrInvalid, r.Day)
	}
	if r.Year < 2000 || r.Year > 9999 {
		return fmt.Errorf("%w: registry year %d", ErrInvalid, r.Year)
	}
	if len(r.Users) > MaxRegisteredUsers {
		return fmt.Errorf("%w: %d users, at most %d", ErrInvalid, len(r.Users), MaxRegisteredUsers)
	}
	seen := make(map[string]bool, len(r.Users))
	for i, u := range r.Users {
		if err := (profile.Identity{UserID: u.UserID}).Validate(); err != nil {
			return fmt.Errorf("%w: registry user %d: bad user ID", ErrInvalid, i)
		}
		if seen[u.UserID] {
			return fmt.Errorf("%w: registry user %d: listed twice", ErrInvalid, i)
		}
		seen[u.UserID] = true
		if u.CUID != nil && u.CUID.IsZero() {
			return fmt.Errorf("%w: registry user %d: zero CUID", ErrInvalid, i)
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

// Token is a bearer token shared by the terminals and the server. It never
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
