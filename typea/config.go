package typea

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
)

// PasswordMode says whether the AP has a password and when it is verified
// relative to mutual authentication.
type PasswordMode uint8

// Password modes (docs/PROTOCOL.md §6.4).
const (
	// PasswordAfterAuth (the default): VERIFY goes under secure messaging
	// after mutual authentication, so the password crosses the interface
	// encrypted and only to the authenticated card.
	PasswordAfterAuth PasswordMode = iota
	// PasswordBeforeAuth: VERIFY in plain before mutual authentication.
	// Weaker: the password goes, readable on the interface, to a card
	// that has not proven itself yet (a clone, an emulator, a relay sees
	// it). Refused unless Config.AllowPasswordBeforeAuth is set.
	PasswordBeforeAuth
	// PasswordNone: the AP has no password ("no password" mode).
	PasswordNone
)

// String names the mode.
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

// ParsePasswordMode parses "after-auth", "before-auth" or "none".
func ParsePasswordMode(s string) (PasswordMode, error) {
	for _, m := range []PasswordMode{PasswordAfterAuth, PasswordBeforeAuth, PasswordNone} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("typea: unknown password mode %q (want after-auth, before-auth or none)", s)
}

// CardKey names a key of the AP (reference on the card, master keys).
type CardKey = apsession.CardKey

// Password is a card AP password; it never prints.
type Password = apsession.Password

// PasswordStatus is the answer to VERIFY without data.
type PasswordStatus = apsession.PasswordStatus

// Default key references and password reference of the profile
// (docs/PROTOCOL.md §6.2).
const (
	KeyRefAuth   = 0x01 // read key: mutual authentication before reading
	KeyRefUpdate = 0x02 // update key: UPDATE / APPEND RECORD, operational
	KeyRefAdmin  = 0x03 // administrative key: RESET RETRY COUNTER
	PasswordRef  = 0x81 // the password object
	SFICUID      = 0x01 // short EF identifier of EF.CUID
	SFIRecords   = 0x03 // short EF identifier of EF.Records
)

// DefaultKey returns the profile's default key for a key reference: master
// keys named "typea-<role>-enc" and "typea-<role>-mac" (version 0: the
// latest), role = auth, update or admin.
func DefaultKey(ref byte) CardKey { return apsession.ProfileKey("typea", ref) }

// Config configures the host side of a Type A AP. The zero Config plus a
// key provider is the profile's default.
type Config struct {
	// AID of the AP; nil: profile.DefaultAID(profile.TypeA) (placeholder).
	AID profile.AID
	// Suite of mutual authentication and secure messaging; nil: AES-128.
	Suite secure.Suite
	// Keys gives the operator's master keys.
	Keys keys.Provider
	// AuthKey, UpdateKey and AdminKey; zero values: DefaultKey(01/02/03).
	AuthKey, UpdateKey, AdminKey CardKey
	// Password mode (default PasswordAfterAuth) and reference (0: 81).
	Password    PasswordMode
	PasswordRef byte
	// AllowPasswordBeforeAuth accepts Password = PasswordBeforeAuth, for
	// cards personalized that way. Without it that mode is a configuration
	// error (ErrPasswordBeforeAuth) before anything is sent: it sends the
	// holder's password in plain to a card that has not yet proven itself,
	// so a cloned or emulated card learns the password. Prefer
	// PasswordAfterAuth (the default).
	AllowPasswordBeforeAuth bool
	// RecordsSFI is the SFI of EF.Records (0: 03); CUIDSFI of EF.CUID (0: 01).
	RecordsSFI, CUIDSFI byte
	// MaxRecords bounds EF.Records (0: MaxRecords).
	MaxRecords int
	// ExtendedLength: reader and card accept extended-length APDUs.
	ExtendedLength bool
	// Rand supplies nonces and key halves (nil: crypto/rand).
	Rand   io.Reader
	Logger *slog.Logger
}

// Validate checks c as Select and Read do, before anything is sent: a
// key provider is set, the AID, SFIs and password mode are valid, and
// PasswordBeforeAuth comes with AllowPasswordBeforeAuth.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c Config) withDefaults() (Config, error) {
	err := apsession.Defaults{Pkg: "typea", Type: profile.TypeA, AID: &c.AID, Suite: &c.Suite, Keys: c.Keys,
		CardKeys: [3]*CardKey{&c.AuthKey, &c.UpdateKey, &c.AdminKey}, CUIDSFI: &c.CUIDSFI, PasswordRef: &c.PasswordRef}.Apply()
	if err != nil {
		return c, err
	}
	if c.Password > PasswordNone {
		return c, fmt.Errorf("typea: config: %v", c.Password)
	}
	if c.Password == PasswordBeforeAuth && !c.AllowPasswordBeforeAuth {
		return c, ErrPasswordBeforeAuth
	}
	if c.RecordsSFI == 0 {
		c.RecordsSFI = SFIRecords
	}
	if c.RecordsSFI > 30 || c.CUIDSFI > 30 {
		return c, fmt.Errorf("typea: config: SFI must be 1 to 30")
	}
	if c.MaxRecords == 0 {
		c.MaxRecords = MaxRecords
	}
	return c, nil
}

func (c Config) session() apsession.Config {
	return apsession.Config{AID: c.AID, Suite: c.Suite, Keys: c.Keys, CUIDSFI: c.CUIDSFI,
		ExtendedLength: c.ExtendedLength, Rand: c.Rand, Logger: c.Logger}
}
