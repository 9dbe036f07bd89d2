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

// withDefaults fills in the defaults and validates the result.
func (c Config) withDefaults() (Config, error) {
	if len(c.AID) == 0 {
		c.AID = profile.DefaultAID(profile.TypeC)
	} else {
		c.AID = append(profile.AID(nil), c.AID...)
	}
	if err := c.AID.Validate(); err != nil {
		return Config{}, fmt.Errorf("typec: config: %w", err)
	}
	if c.CUIDFID == 0 {
		c.CUIDFID = profile.FIDCUID
	}
	if c.IdentityFID == 0 {
		c.IdentityFID = profile.FIDIdentity
	}
	for _, fid := range []uint16{c.CUIDFID, c.IdentityFID} {
		// 7816-4 §7.2.2: 3F00 is the MF, FFFF is reserved, 3FFF names the
		// current DF in paths.
		if fid == 0x3F00 || fid == 0x3FFF || fid == 0xFFFF {
			return Config{}, fmt.Errorf("typec: config: file identifier %04X is reserved (ISO/IEC 7816-4 §7.2.2)", fid)
		}
	}
	if c.CUIDFID == c.IdentityFID {
		return Config{}, fmt.Errorf("typec: config: EF.CUID and EF.Identity share file identifier %04X", c.CUIDFID)
	}
	if c.CUIDSFI == 0 {
		c.CUIDSFI = profile.SFICUID
	}
	if c.IdentitySFI == 0 {
		c.IdentitySFI = profile.SFIIdentity
	}
	for _, sfi := range []byte{c.CUIDSFI, c.IdentitySFI} {
		if sfi > maxSFI {
			return Config{}, fmt.Errorf("typec: config: short EF identifier %d, want 1 to %d (ISO/IEC 7816-4 §7.2.2)", sfi, maxSFI)
		}
	}
	if c.CUIDSFI == c.IdentitySFI {
		return Config{}, fmt.Errorf("typec: config: EF.CUID and EF.Identity share short EF identifier %d", c.CUIDSFI)
	}
	return c, nil
}
