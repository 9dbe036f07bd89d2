// Package typea is the host side of the Type A card AP (record AP) of the
// freespace open profile: SELECT with the card-unique identifier (CUID) in
// the FCI, mutual authentication (ISO/IEC 11770-2 mechanism 6, package
// secure) with keys diversified per card from the operator's master keys
// (package keys), secure messaging for everything after it, the optional
// password, and the records of EF.Records: the Identity in record 1 and one
// attribute per later record.
//
// The profile, byte by byte, is docs/PROTOCOL.md chapter 6. J-LIS's own
// Type A specification is not public: the AID, key references, password
// reference, SFIs and cipher suite are configurable (Config), and the
// default AID is the project's placeholder, never J-LIS's.
//
// Three ways to use it, the same as package typed:
//
//   - Read runs the whole transaction of a gate or kiosk in one PC/SC
//     transaction: SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE and a
//     protected READ RECORD 1, 4 APDUs without a password.
//   - Open selects the AP, authenticates with the read key and verifies
//     the password, and returns an *AP whose methods (ReadIdentity,
//     ReadAll, WriteIdentity, ...) each run in a transaction of their own.
//   - OpenUnauthenticated only selects, for personalization and password
//     administration: the caller authenticates the key it needs
//     (Authenticate with Config.ReadKey, UpdateKey or AdminKey) and uses
//     PasswordStatus, Verify, ChangePassword, UnblockPassword, Seal.
//
// Config is checked before anything is sent (Config.Validate); every
// configuration error wraps ErrConfig and names the field. The card's
// conditions are profile's: errors.Is(err, profile.ErrNotPresent) for a
// card without the AP, profile.ErrNotPersonalized for an AP without an
// identity, profile.ErrMalformed for data that breaks the profile.
//
// Passwords: VERIFY without data asks the remaining tries without spending
// one; Verify refuses to send the password when one try is left unless the
// caller allows it (ErrLastTry); a wrong password is a *profile.PasswordError that
// unwraps to *apdu.TriesError; a password is never kept and never resent
// on its own. A card swapped between two operations is detected through
// the CUID (ErrCardSwapped) before anything is sent to it but a SELECT.
//
// Card-key sets (docs/PROTOCOL.md §5.3, §5.4): the card announces the
// version of its key set in the FCI of the SELECT (A5 { C1 01 vv }), and
// every key of Config (ReadKey, UpdateKey, AdminKey, both halves) is taken
// at exactly that version. Config.KeySets decides which versions the
// terminal accepts (a card that announces none is read as
// KeySets.Default, 1): a retired, unaccepted, unknown or incomplete set is
// a *profile.KeySetError after the SELECT and before any MUTUAL
// AUTHENTICATE, and no other version is ever tried. AP.KeySet reports the
// version; AP.Rekey loads a new set in place, tearing-safe.
//
// Config.Password (a profile.PasswordMode) says whether the AP has a
// password: the zero value profile.PasswordNone sends none. For an AP with
// a password choose profile.PasswordAfterAuth: the password goes under
// secure messaging after mutual authentication, encrypted, and only to a
// card that proved it holds the operator's keys.
// profile.PasswordBeforeAuth, for cards personalized that way, sends it in
// plain to a card that has not proven itself (a clone or an emulator
// learns it): it is weaker, and a configuration error
// (ErrPasswordBeforeAuth, before anything is sent) unless
// Config.AllowPasswordBeforeAuth is set.
package typea
