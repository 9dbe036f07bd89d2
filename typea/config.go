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

// Default key references and password reference of the profile
// (docs/PROTOCOL.md §6.2), the same in typed.
const (
	KeyRefRead   = 0x01 // read key: mutual authentication before reading
	KeyRefUpdate = 0x02 // update key: UPDATE / APPEND RECORD once sealed
	KeyRefAdmin  = 0x03 // administrative key: RESET RETRY COUNTER, ACTIVATE FILE
	PasswordRef  = 0x81 // the password object
	SFICUID      = 0x01 // short EF identifier of EF.CUID
	SFIRecords   = 0x03 // short EF identifier of EF.Records
)

// DefaultKey returns the profile's default key for a key reference
// (KeyRefRead, KeyRefUpdate, KeyRefAdmin): master keys named
// "typea-<role>-enc" and "typea-<role>-mac", role = auth, update or
// admin, without a version: they are used at the card's key-set version
// (Config.KeySets, docs/PROTOCOL.md §5.3).
func DefaultKey(ref byte) keys.CardKey { return apsession.ProfileKey("typea", ref) }

// Config configures the host side of a Type A AP. The zero Config plus a
// key provider is the profile's default. Open and Read check it with
// Validate before anything is sent.
type Config struct {
	// AID of the AP; nil: profile.DefaultAID(profile.TypeA) (placeholder).
	AID profile.AID
	// Suite of mutual authentication and secure messaging; nil: AES-128.
	Suite secure.Suite
	// Keys gives the operator's master keys. Required.
	Keys keys.Provider
	// ReadKey is the key Open authenticates before reading; zero:
	// DefaultKey(KeyRefRead).
	ReadKey keys.CardKey
	// UpdateKey is the key writes need once the AP is sealed; zero:
	// DefaultKey(KeyRefUpdate).
	UpdateKey keys.CardKey
	// AdminKey is the administrative key (UnblockPassword, Seal, Rekey);
	// zero: DefaultKey(KeyRefAdmin).
	AdminKey keys.CardKey
	// KeySets chooses among card-key set versions (docs/PROTOCOL.md
	// §5.3): every key above is taken at the version the card announces
	// in its FCI (a card that announces none: KeySets.Default, 1 by
	// default), which must be one KeySets accepts and the key provider
	// holds whole; otherwise Open fails with a *profile.KeySetError
	// before any MUTUAL AUTHENTICATE. The zero value accepts every
	// version the provider holds.
	KeySets profile.KeySetPolicy
	// Password says whether the AP has a password and when it is
	// verified: the zero value profile.PasswordNone, or
	// profile.PasswordAfterAuth (encrypted, to the authenticated card
	// only) for an AP with a password.
	Password profile.PasswordMode
	// PasswordRef is the password's reference on the card (0: 81).
	PasswordRef byte
	// AllowPasswordBeforeAuth accepts Password = PasswordBeforeAuth, for
	// cards personalized that way. Without it that mode is a
	// configuration error before anything is sent: it sends the holder's
	// password in plain to a card that has not yet proven itself, so a
	// cloned or emulated card learns it.
	AllowPasswordBeforeAuth bool
	// AllowLastTry lets Open and Read send the password when one try is
	// left; without it they refuse with ErrLastTry (a mistake would block
	// the password). Verify and ChangePassword take VerifyOptions instead.
	AllowLastTry bool
	// RecordsSFI is the short EF identifier of EF.Records, 1 to 30 (0: 03).
	RecordsSFI byte
	// CUIDSFI is the short EF identifier of EF.CUID, read when the FCI
	// lacks the CUID, 1 to 30 (0: 01).
	CUIDSFI byte
	// MaxRecords bounds EF.Records (0: MaxRecords).
	MaxRecords int
	// ExtendedLength says the reader and card accept extended-length
	// APDUs.
	ExtendedLength bool
	// Rand supplies nonces and key halves (nil: crypto/rand).
	Rand io.Reader
	// Logger receives debug records of the exchanges (nil: discard).
	Logger *slog.Logger
}

// Validate checks c as Open and Read do, before anything is sent: a key
// provider is set, the AID, key references, SFIs and password mode are
// valid, and PasswordBeforeAuth comes with AllowPasswordBeforeAuth. Every
// error wraps ErrConfig and names the field.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c Config) withDefaults() (Config, error) {
	err := apsession.Defaults{Pkg: "typea", ErrConfig: ErrConfig, Type: profile.TypeA, AID: &c.AID, Suite: &c.Suite, Keys: c.Keys,
		CardKeys: [3]*keys.CardKey{&c.ReadKey, &c.UpdateKey, &c.AdminKey}, CUIDSFI: &c.CUIDSFI, PasswordRef: &c.PasswordRef, KeySets: c.KeySets}.Apply()
	if err != nil {
		return c, err
	}
	if !c.Password.Valid() {
		return c, fmt.Errorf("%w: Password: %v", ErrConfig, c.Password)
	}
	if c.Password == profile.PasswordBeforeAuth && !c.AllowPasswordBeforeAuth {
		return c, ErrPasswordBeforeAuth
	}
	if c.RecordsSFI == 0 {
		c.RecordsSFI = SFIRecords
	}
	// ISO/IEC 7816-4 §7.2.2: an SFI is five bits, 00000 and 11111 excluded.
	if c.RecordsSFI > 30 {
		return c, fmt.Errorf("%w: RecordsSFI: %d, want 1 to 30", ErrConfig, c.RecordsSFI)
	}
	if c.CUIDSFI > 30 {
		return c, fmt.Errorf("%w: CUIDSFI: %d, want 1 to 30", ErrConfig, c.CUIDSFI)
	}
	if c.MaxRecords < 0 || c.MaxRecords > 254 {
		// READ RECORD numbers records in P1, 01 to FE (ISO/IEC 7816-4 §11.4.3).
		return c, fmt.Errorf("%w: MaxRecords: %d, want 1 to 254", ErrConfig, c.MaxRecords)
	}
	if c.MaxRecords == 0 {
		c.MaxRecords = MaxRecords
	}
	return c, nil
}

func (c Config) session() apsession.Config {
	return apsession.Config{AID: c.AID, Suite: c.Suite, Keys: c.Keys, CUIDSFI: c.CUIDSFI,
		ExtendedLength: c.ExtendedLength, Rand: c.Rand, Logger: c.Logger,
		KeySets: c.KeySets, CardKeys: []keys.CardKey{c.ReadKey, c.UpdateKey, c.AdminKey}}
}
