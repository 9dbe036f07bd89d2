// Package typed is the host side of the Type D card AP (binary AP) of the
// freespace open profile: mutual authentication and secure messaging for
// every command (package secure), READ / UPDATE BINARY in chunks sized for
// secure messaging in short APDUs (or extended length when reader and card
// support it), and data encrypted at rest in an AES-256-GCM envelope under
// the operator's data key (package keys), bound to the card, the AP and the
// file.
//
// The profile, byte by byte, is docs/PROTOCOL.md chapter 7: the plaintext
// (§7.2), the envelope (§7.3) and the two-slot layout that makes every
// write tearing-safe (§7.4): a write interrupted at any byte leaves the old
// or the new data readable, never garbage and never "no data".
//
// Open selects the AP and authenticates; AP.Read returns the Content,
// AP.Write replaces it (checking the capacity before any APDU), AP.Rotate
// re-encrypts it under a new data key version. Errors are typed:
// ErrAuthentication (GCM: copied, tampered or wrong key), *KeyVersionError,
// *CapacityError, ErrNoData, ErrMalformed, ErrUnreadableSlots,
// ErrCardSwapped.
package typed
