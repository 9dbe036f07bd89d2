package profile

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// APType is one of the standard card AP types.
type APType byte

// The standard card AP types.
const (
	TypeA APType = 'A' // record AP: ID and attributes, optional password, mutual authentication
	TypeC APType = 'C' // common card AP: ID only, read without authentication
	TypeD APType = 'D' // binary AP: larger data, optional password, mutual authentication, encrypted
	// JPKI is not a free-space AP: the public JPKI AP every My Number
	// Card carries (user authentication by an RSA signature; package
	// jpki, docs/PROTOCOL.md chapter 10). cardap reports it in
	// Identity.AP when its JPKI option identified the card.
	JPKI APType = 'J'
)

// String returns "A", "C", "D" or "JPKI" (or "?xx" for an unknown value).
func (t APType) String() string {
	switch t {
	case TypeA, TypeC, TypeD:
		return string(rune(t))
	case JPKI:
		return "JPKI"
	}
	return fmt.Sprintf("?%02x", byte(t))
}

// AID is an application identifier (ISO/IEC 7816-4 §12.2.3, 5 to 16 bytes).
type AID []byte

// ErrInvalidAID is returned for an AID that is not 5 to 16 bytes of hex.
var ErrInvalidAID = errors.New("profile: invalid AID")

// ParseAID parses hex (spaces and colons allowed) into an AID of 5-16 bytes.
func ParseAID(s string) (AID, error) {
	clean := strings.NewReplacer(" ", "", ":", "").Replace(s)
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not hex", ErrInvalidAID, s)
	}
	a := AID(b)
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// Validate checks the length bounds of ISO/IEC 7816-4 §12.2.3.
func (a AID) Validate() error {
	if len(a) < 5 || len(a) > 16 {
		return fmt.Errorf("%w: %d bytes, want 5 to 16", ErrInvalidAID, len(a))
	}
	return nil
}

// Format prints the AID's bytes: %x as lower-case hex digits and %X as
// upper-case ones (not the hex of String's hex), %s, %v and %q as String,
// %#v as Go syntax.
func (a AID) Format(f fmt.State, verb rune) { formatBytes(f, verb, a, a.String(), []byte(a)) }

// String returns the AID in upper-case hex.
func (a AID) String() string { return strings.ToUpper(hex.EncodeToString(a)) }

// Equal reports whether a and b are the same AID.
func (a AID) Equal(b AID) bool { return string(a) == string(b) }

// Placeholder AIDs of the freespace profile: F0 (proprietary, ISO/IEC
// 7816-5) followed by "FREESPACE" in ASCII and the AP type letter. They are
// NOT J-LIS's AIDs, which are not public; an operator configures the AIDs
// that J-LIS assigned to its APs.
const (
	placeholderPrefix = "\xF0FREESPACE"
)

// DefaultAID returns a fresh copy of the placeholder AID of AP type t:
//
//	Type A: F0 46 52 45 45 53 50 41 43 45 41
//	Type C: F0 46 52 45 45 53 50 41 43 45 43
//	Type D: F0 46 52 45 45 53 50 41 43 45 44
func DefaultAID(t APType) AID {
	return AID(placeholderPrefix + string(rune(t)))
}

// File identifiers of the profile (ISO/IEC 7816-4 §7.2.2), inside each AP's DF.
const (
	// FIDCUID is the transparent EF holding the 16-byte card-unique
	// identifier. Readable without any security condition in every AP type.
	FIDCUID uint16 = 0x0001
	// FIDIdentity is Type C's transparent EF holding the Identity object.
	FIDIdentity uint16 = 0x0002
	// FIDRecords is Type A's linear variable record EF: record 1 is the
	// Identity object, later records hold attributes.
	FIDRecords uint16 = 0x0003
	// FIDData is Type D's transparent EF holding the encrypted data.
	FIDData uint16 = 0x0004
)

// Short EF identifiers of the profile (ISO/IEC 7816-4 §7.2.2: five bits,
// 1 to 30), one per EF of the file identifiers above, with the same number.
// READ BINARY / READ RECORD name an EF by its SFI in P1 or P2 without a
// SELECT EF first (§11.3.3, §11.4.3), one APDU less per file.
const (
	// SFICUID is the short EF identifier of EF.CUID (FIDCUID).
	SFICUID byte = 1
	// SFIIdentity is the short EF identifier of Type C's EF.Identity
	// (FIDIdentity).
	SFIIdentity byte = 2
	// SFIRecords is the short EF identifier of Type A's EF.Records
	// (FIDRecords).
	SFIRecords byte = 3
	// SFIData is the short EF identifier of Type D's EF.Data (FIDData).
	SFIData byte = 4
)
