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
// What a read guarantees. The envelope header is written by the card, so
// the terminal's Config, never the header, decides which key opens data:
// only Config.DataKey, only in the versions reads accept
// (MinDataKeyVersion, DataKeyVersions); any other name or version is a
// *DataKeyError before the key provider is asked anything. Envelopes are
// sealed in format 02, whose per-card data key is derived under its own
// label (keys.DataKeyLabel), so no card key can ever equal a data key;
// format 01 envelopes of profile 1.0 are still read and are re-sealed as
// 02 by the next Write or Rotate. A read that returns the older slot
// because the newer one does not open (a torn write, or a damaged or
// forged slot) reports it in ReadReport.Fallback, and Config.RequireNewest
// refuses it (*FallbackError). A card can still present an older, wholly
// authentic image of its EF; only a terminal remembering generations per
// card (cardap.GenerationMemory) catches that.
//
// Open selects the AP, authenticates with the read key and verifies the
// password when one is given; OpenUnauthenticated only selects, for
// personalization and password administration (Authenticate,
// PasswordStatus, Verify, ChangePassword, UnblockPassword: the same verbs
// and shapes as package typea). AP.Read returns the Content with
// its ReadReport, AP.Write replaces it (checking the capacity before any
// APDU when it is known; CheckCapacity does so for a caller), AP.Update
// changes it with one read of the slots (Read then Write reads them
// twice), AP.Rotate re-encrypts it under a new data key version, reading a
// retired version only when RotateOptions.From lists it. Errors are typed:
// ErrAuthentication (GCM: copied, tampered or wrong key),
// *DataKeyError, *KeyVersionError, *FallbackError, *CapacityError,
// ErrNoData, profile.ErrMalformed, profile.ErrNotPresent,
// ErrUnreadableSlots, ErrCardSwapped. Config is checked before anything is
// sent (Config.Validate); every configuration error wraps ErrConfig and
// names the field.
//
// Card keys and data keys have versions of their own. The card keys (read,
// update, administrative) are one key set whose version the card announces
// in its FCI (docs/PROTOCOL.md §5.3): every one of them is taken at that
// version, which Config.KeySets must accept, else a *profile.KeySetError
// before any MUTUAL AUTHENTICATE; AP.Rekey loads a new set in place
// (§5.4) and leaves the envelopes as they are. The data key's versions
// (DataKeyVersion, MinDataKeyVersion, Rotate) are independent of them.
package typed
