// Package config reads the PC-login mapping file: which card user IDs log in
// as which local accounts (optionally pinned to one card by its CUID), where
// the revocation store lives, and what to run to lock the screen.
//
// The file is JSON:
//
//	{
//	  "accounts": [
//	    {"user_id": "U-0001", "account": "alice", "cuid": "00112233445566778899aabbccddeeff"},
//	    {"user_id": "U-0002", "account": "bob"}
//	  ],
//	  "revocation_dir": "/var/lib/freespace/revocation",
//	  "revocation_max_age": "48h",
//	  "lock_command": ["loginctl", "lock-sessions"],
//	  "poll_interval": "500ms"
//	}
//
// Because pclogin decides logins (as root, under PAM), Load opens the file
// with package securefile: a regular file, not a symbolic link, owned by
// root or the running user, not writable by others, in a directory owned by
// root or the running user that others cannot write either (a user who can
// replace the file can map their card to root).
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/securefile"
)

// Bounds of a mapping file.
const (
	MaxFileBytes    = 4 << 20
	MaxAccountLen   = 32
	MaxLockArgs     = 32
	MaxLockArgLen   = 4096
	MinPollInterval = 10 * time.Millisecond
	MaxPollInterval = time.Minute
)

// ErrInvalid is wrapped by every error about the content of a mapping file.
var ErrInvalid = errors.New("config: invalid mapping file")

// ErrInsecure is matched by Load's refusal of a file that is not safe to
// trust; the error is a *securefile.Error (errors.As) carrying the path,
// owner, mode and what is wrong.
var ErrInsecure = securefile.ErrInsecure

// Mapping maps one card user ID to a local account.
type Mapping struct {
	UserID  string        `json:"user_id"`
	Account string        `json:"account"`
	CUID    *profile.CUID `json:"cuid,omitempty"` // when set, only this card logs in
}

// Config is a parsed mapping file.
type Config struct {
	Accounts []Mapping `json:"accounts"`
	// RevocationDir is the directory of the project's revocation store;
	// empty: no revocation check.
	RevocationDir string `json:"revocation_dir,omitempty"`
	// RevocationMaxAge is the oldest list accepted (0: the store's default).
	RevocationMaxAge time.Duration `json:"-"`
	// LockCommand is run (argv, no shell) when the card leaves the reader
	// in watch mode.
	LockCommand  []string      `json:"lock_command,omitempty"`
	PollInterval time.Duration `json:"-"`

	byUser map[string]int
}

type fileForm struct {
	Config
	RevocationMaxAge string `json:"revocation_max_age,omitempty"`
	PollInterval     string `json:"poll_interval,omitempty"`
}

// validAccount reports whether s is a portable account name: 1..32 of
// a-z A-Z 0-9 _ . - not starting with - (POSIX portable file name set).
func validAccount(s string) bool {
	if len(s) == 0 || len(s) > MaxAccountLen || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func parseDuration(name, s string, def, lo, hi time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < lo || d > hi {
		return 0, fmt.Errorf("%w: %s %.20q, want a duration from %s to %s", ErrInvalid, name, s, lo, hi)
	}
	return d, nil
}

// Parse reads a mapping file's content.
func Parse(b []byte) (*Config, error) {
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalid, len(b), MaxFileBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f fileForm
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	c := f.Config
	var err error
	if c.RevocationMaxAge, err = parseDuration("revocation_max_age", f.RevocationMaxAge, 0, time.Minute, 366*24*time.Hour); err != nil {
		return nil, err
	}
	if c.PollInterval, err = parseDuration("poll_interval", f.PollInterval, 500*time.Millisecond, MinPollInterval, MaxPollInterval); err != nil {
		return nil, err
	}
	if c.RevocationDir != "" && !filepath.IsAbs(c.RevocationDir) {
		return nil, fmt.Errorf("%w: revocation_dir must be an absolute path", ErrInvalid)
	}
	if len(c.LockCommand) > MaxLockArgs {
		return nil, fmt.Errorf("%w: lock_command has %d arguments, at most %d", ErrInvalid, len(c.LockCommand), MaxLockArgs)
	}
	for i, a := range c.LockCommand {
		if len(a) > MaxLockArgLen || bytes.IndexByte([]byte(a), 0) >= 0 {
			return nil, fmt.Errorf("%w: lock_command argument %d", ErrInvalid, i)
		}
	}
	if len(c.LockCommand) > 0 && !filepath.IsAbs(c.LockCommand[0]) {
		return nil, fmt.Errorf("%w: lock_command must start with an absolute path (PAM and session managers run with no PATH)", ErrInvalid)
	}
	c.byUser = make(map[string]int, len(c.Accounts))
	for i, m := range c.Accounts {
		if err := (profile.Identity{UserID: m.UserID}).Validate(); err != nil {
			return nil, fmt.Errorf("%w: account %d: bad user_id", ErrInvalid, i)
		}
		if !validAccount(m.Account) {
			return nil, fmt.Errorf("%w: account %d: bad account name", ErrInvalid, i)
		}
		if m.CUID != nil && m.CUID.IsZero() {
			return nil, fmt.Errorf("%w: account %d: zero cuid", ErrInvalid, i)
		}
		if _, dup := c.byUser[m.UserID]; dup {
			return nil, fmt.Errorf("%w: account %d: user_id %s mapped twice", ErrInvalid, i, m.UserID)
		}
		c.byUser[m.UserID] = i
	}
	return &c, nil
}

// Load reads the mapping file at path after checking it with
// securefile.Open (see the package doc); a refusal is a *securefile.Error
// matching ErrInsecure.
func Load(path string) (*Config, error) {
	f, err := securefile.Open(path, securefile.Policy{})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(b)
}

// Lookup returns the mapping of a card user ID.
func (c *Config) Lookup(userID string) (Mapping, bool) {
	i, ok := c.byUser[userID]
	if !ok {
		return Mapping{}, false
	}
	return c.Accounts[i], true
}
