package apsession

import (
	"fmt"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
)

// Profile defaults of the authenticated APs (docs/PROTOCOL.md §6.2, §7.1).
const (
	DefaultCUIDSFI     = 0x01 // EF.CUID
	DefaultPasswordRef = 0x81 // the AP's password object
)

// ProfileKey returns the profile's key for reference ref (01 read, 02
// update, 03 administrative) of the AP whose master keys are named
// "<prefix>-<role>-enc" and "<prefix>-<role>-mac", role = auth, update
// or admin. The version is the card's key-set version (§5.3), chosen at
// SELECT, so the names carry none.
func ProfileKey(prefix string, ref byte) CardKey {
	role := map[byte]string{0x01: "auth", 0x02: "update", 0x03: "admin"}[ref]
	return CardKey{Ref: ref, Enc: keys.KeyRef{Name: prefix + "-" + role + "-enc"}, Mac: keys.KeyRef{Name: prefix + "-" + role + "-mac"}}
}

// Defaults points at the fields the host configurations of the Type A and
// Type D APs share, to fill their defaults in one place.
type Defaults struct {
	// Pkg names the AP package ("typea"): the prefix of the profile's
	// master key names.
	Pkg string
	// ErrConfig is the package's configuration error, wrapped by every
	// error of Apply.
	ErrConfig error
	// Type gives the placeholder AID.
	Type profile.APType
	// AID is the Config's AID; empty gets profile.DefaultAID(Type).
	AID *profile.AID
	// Suite defaults to AES-128.
	Suite *secure.Suite
	// Keys must be set.
	Keys keys.Provider
	// CardKeys are the Config fields ReadKey, UpdateKey and AdminKey (keys
	// 01, 02 and 03); a zero one gets ProfileKey.
	CardKeys [3]*CardKey
	// CUIDSFI defaults to DefaultCUIDSFI, PasswordRef to
	// DefaultPasswordRef.
	CUIDSFI, PasswordRef *byte
	// KeySets is the Config's card-key set policy, checked.
	KeySets profile.KeySetPolicy
}

// cardKeyFields name Defaults.CardKeys in the Config of typea and typed.
var cardKeyFields = [3]string{"ReadKey", "UpdateKey", "AdminKey"}

// Apply fills the defaults and checks the AID and the key provider.
func (d Defaults) Apply() error {
	if len(*d.AID) == 0 {
		*d.AID = profile.DefaultAID(d.Type)
	}
	if err := d.AID.Validate(); err != nil {
		return fmt.Errorf("%w: AID: %w", d.ErrConfig, err)
	}
	if *d.Suite == nil {
		*d.Suite = secure.AES128
	}
	if d.Keys == nil {
		return fmt.Errorf("%w: Keys: no key provider", d.ErrConfig)
	}
	for i, k := range d.CardKeys {
		switch {
		case k.IsZero():
			*k = ProfileKey(d.Pkg, byte(i+1))
		case k.Ref == 0:
			// 00 is no key reference (ISO/IEC 7816-4 §11.5.4: P2 = 00
			// means "no information given").
			return fmt.Errorf("%w: %s: key reference 00", d.ErrConfig, cardKeyFields[i])
		case k.Enc.Name == "" || k.Mac.Name == "":
			return fmt.Errorf("%w: %s: master key names missing", d.ErrConfig, cardKeyFields[i])
		case k.Enc.Version != 0 || k.Mac.Version != 0:
			// One version for every key of the AP, the card's key set
			// (docs/PROTOCOL.md §5.3): a pinned version would mix sets.
			return fmt.Errorf("%w: %s: master key version %d/%d given; the version is the card's key set (KeySets)", d.ErrConfig, cardKeyFields[i], k.Enc.Version, k.Mac.Version)
		}
	}
	if err := d.KeySets.Validate(); err != nil {
		return fmt.Errorf("%w: KeySets: %w", d.ErrConfig, err)
	}
	if *d.CUIDSFI == 0 {
		*d.CUIDSFI = DefaultCUIDSFI
	}
	if *d.PasswordRef == 0 {
		*d.PasswordRef = DefaultPasswordRef
	}
	return nil
}
