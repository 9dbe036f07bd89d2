package typec

import (
	"fmt"

	"github.com/mynacard/freespace/profile"
)

// Config says where the Type C AP and its files are and how to address
// them. The zero Config is the profile's default (docs/PROTOCOL.md §2.1).
type Config struct {
	// AID of the AP. Nil means profile.DefaultAID(profile.TypeC), the
	// project's placeholder F0 46 52 45 45 53 50 41 43 45 43; an operator
	// sets the AID J-LIS assigned to its AP.
	AID profile.AID
	// CUIDFID is the file identifier of EF.CUID; 0 means profile.FIDCUID
	// (0001). It is used by SELECT EF when the card does not take the
	// short EF identifier (see SelectByFID).
	CUIDFID uint16
	// IdentityFID is the file identifier of EF.Identity; 0 means
	// profile.FIDIdentity (0002).
	IdentityFID uint16
	// CUIDSFI is the short EF identifier of EF.CUID (ISO/IEC 7816-4
	// §7.2.2), 1 to 30; 0 means profile.SFICUID (1).
	CUIDSFI byte
	// IdentitySFI is the short EF identifier of EF.Identity, 1 to 30; 0
	// means profile.SFIIdentity (2).
	IdentitySFI byte
	// SelectByFID makes every read select its EF by file identifier
	// (SELECT EF, then READ BINARY of the current EF: five APDUs for a
	// whole read instead of three), never by short EF identifier. It is
	// for cards that answer a READ BINARY with P1 = 100xxxxx neither with
	// the EF nor with one of the refusals Read falls back on
	// (docs/PROTOCOL.md §2.3), e.g. with data of another EF.
	SelectByFID bool
}

// maxSFI is the largest short EF identifier (ISO/IEC 7816-4 §7.2.2: five
// bits, 00000 and 11111 excluded).
const maxSFI = 30

// Validate checks c as Open and Read do, before anything is sent: the
// AID is valid, the file identifiers are not reserved, the short EF
// identifiers are 1 to 30, and the two EFs differ. Every error wraps
// ErrConfig and names the field.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults fills in the defaults and validates the result.
func (c Config) withDefaults() (Config, error) {
	if len(c.AID) == 0 {
		c.AID = profile.DefaultAID(profile.TypeC)
	} else {
		c.AID = append(profile.AID(nil), c.AID...)
	}
	if err := c.AID.Validate(); err != nil {
		return Config{}, fmt.Errorf("%w: AID: %w", ErrConfig, err)
	}
	if c.CUIDFID == 0 {
		c.CUIDFID = profile.FIDCUID
	}
	if c.IdentityFID == 0 {
		c.IdentityFID = profile.FIDIdentity
	}
	for _, f := range []struct {
		name string
		fid  uint16
	}{{"CUIDFID", c.CUIDFID}, {"IdentityFID", c.IdentityFID}} {
		// 7816-4 §7.2.2: 3F00 is the MF, FFFF is reserved, 3FFF names the
		// current DF in paths.
		if f.fid == 0x3F00 || f.fid == 0x3FFF || f.fid == 0xFFFF {
			return Config{}, fmt.Errorf("%w: %s: file identifier %04X is reserved (ISO/IEC 7816-4 §7.2.2)", ErrConfig, f.name, f.fid)
		}
	}
	if c.CUIDFID == c.IdentityFID {
		return Config{}, fmt.Errorf("%w: IdentityFID: %04X is also CUIDFID", ErrConfig, c.CUIDFID)
	}
	if c.CUIDSFI == 0 {
		c.CUIDSFI = profile.SFICUID
	}
	if c.IdentitySFI == 0 {
		c.IdentitySFI = profile.SFIIdentity
	}
	for _, f := range []struct {
		name string
		sfi  byte
	}{{"CUIDSFI", c.CUIDSFI}, {"IdentitySFI", c.IdentitySFI}} {
		if f.sfi > maxSFI {
			return Config{}, fmt.Errorf("%w: %s: %d, want 1 to %d (ISO/IEC 7816-4 §7.2.2)", ErrConfig, f.name, f.sfi, maxSFI)
		}
	}
	if c.CUIDSFI == c.IdentitySFI {
		return Config{}, fmt.Errorf("%w: IdentitySFI: %d is also CUIDSFI", ErrConfig, c.CUIDSFI)
	}
	return c, nil
}
