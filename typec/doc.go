// Package typec is the host side of the Type C card AP (common card AP) of
// the freespace open profile: it selects the AP by AID, reads the
// card-unique identifier (CUID) and the Identity object without any
// authentication, and parses and validates them into typed values.
//
// The profile, byte by byte, is docs/PROTOCOL.md chapter 2 (Type C) and
// chapter 1 (AIDs, CUID, Identity object). J-LIS's own Type C specification
// is not public: the AID, the file identifiers and the short EF identifiers
// are configurable (Config), and the default AID is the project's
// placeholder profile.DefaultAID(profile.TypeC), never J-LIS's.
//
// Two ways to use it:
//
//   - Read runs one whole read (SELECT AP, CUID, Identity) inside one
//     transaction (apdu.WithTransaction) with the fewest APDUs: three for
//     an Identity object of up to 256 bytes, each EF read by its short EF
//     identifier (ISO/IEC 7816-4 §11.3.3) without a SELECT EF. A card
//     that refuses the short EF identifier gets SELECT EF and READ BINARY
//     instead (see Read); Config.SelectByFID asks for that from the start.
//   - Open returns an *AP handle whose methods (CUID, ReadIdentity) each
//     run in a transaction of their own.
//
// Errors are typed: profile.ErrNotPresent (the card has no such AP),
// profile.ErrNotPersonalized (the Identity EF is erased),
// profile.ErrMalformed (the card's data breaks the profile; identity
// errors also match profile.ErrInvalidIdentity), ErrConfig (a bad
// Config, before anything is sent), and
// transport errors such as apdu.ErrCardRemoved pass through unchanged for
// errors.Is. Any other status word is returned as a *StatusError that
// unwraps to the apdu.StatusWord.
package typec
