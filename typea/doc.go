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
// Two ways to use it:
//
//   - Read runs the whole transaction of a gate or kiosk in one PC/SC
//     transaction: SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE and a
//     protected READ RECORD 1, 4 APDUs without a password.
//   - Select returns an *AP whose methods (Authenticate, PasswordStatus,
//     Verify, ReadIdentity, ReadAll, WriteIdentity, ChangePassword,
//     UnblockPassword, ...) each run in a transaction of their own.
//
// Passwords: VERIFY without data asks the remaining tries without spending
// one; Verify refuses to send the password when one try is left unless the
// caller allows it (ErrLastTry); a wrong password is a *PasswordError that
// unwraps to *apdu.TriesError; a password is never kept and never resent
// on its own. A card swapped between two operations is detected through
// the CUID (ErrCardSwapped) before anything is sent to it but a SELECT.
//
// The password goes under secure messaging after mutual authentication by
// default (PasswordAfterAuth): encrypted, and only to a card that proved
// it holds the operator's keys. PasswordBeforeAuth, for cards personalized
// that way, sends it in plain to a card that has not proven itself (a
// clone or an emulator learns it): it is weaker, and a configuration error
// (ErrPasswordBeforeAuth, before anything is sent) unless
// Config.AllowPasswordBeforeAuth is set.
package typea
