// Package profile holds the parts of the freespace open profile that the
// host side (typea, typec, typed, cardap) and the card side (mockcard) share:
// the AP types, the default placeholder AIDs and file identifiers, the
// card-unique identifier (CUID) and the Identity data object; the one
// password vocabulary (Password, PasswordMode, PasswordStatus); and the
// canonical errors for conditions of a card (ErrNotPresent,
// ErrNotPersonalized, ErrMalformed) that the AP packages wrap.
//
// The profile is documented byte for byte in docs/PROTOCOL.md, chapter 1.
// J-LIS's real AIDs and formats are not public: every value here is a
// configurable default, and the AIDs are placeholders in the proprietary
// range (first nibble F, ISO/IEC 7816-5 §8.2), never J-LIS's.
package profile
