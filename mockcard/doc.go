// Package mockcard is freespace's built-in smart card: a stateful, strict
// ISO/IEC 7816-4 card that runs in-process and implements apdu.Transport, so
// every host-side package (typec, typea, typed, cardap) can be tested end to
// end without hardware, and that package vpcd can serve to a real pcscd.
//
// It feels like net/http/httptest:
//
//	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U1"}))
//	resp, err := card.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x0C, ...})
//
// # File system
//
// The card has an MF (3F00) holding applications (DFs, one per card AP)
// selected by AID, each with elementary files selected by file identifier:
// transparent EFs and linear variable record EFs. Only the basic logical
// channel exists. Every DF carries its own PIN objects, key objects,
// lifecycle state and access conditions. Security state (verified PINs,
// authenticated keys, the secure messaging session, a pending challenge) is
// kept for the selected AP only: it is cleared by selecting another AP (or
// the MF), by Reset and by removal.
//
// # Commands (CLA 00, or 0C under secure messaging; chaining bit 10 when enabled)
//
//	SELECT            00 A4 04 00|0C  Lc AID [Le]   by DF name; 00: FCI (6F 84 [85 CUID] [A5 [C1 key set] [C2 "TEST"]]), 0C: none
//	                  00 A4 00 00|0C  [Lc 3F00]     the MF
//	                  00 A4 02 00|04|0C Lc FID [Le] EF in the current DF; 00/04: FCP (62 80 82 83)
//	READ BINARY       00 B0 P1 P2 Le   offset P1P2 (15 bits), or P1=1xxxxxxx: SFI in P1, offset P2
//	UPDATE BINARY     00 D6 P1 P2 Lc data
//	READ RECORD       00 B2 rec P2 Le  P2 = SFI<<3 | 100 (SFI 0 = current EF)
//	UPDATE RECORD     00 DC rec P2 Lc data   (replaces the record)
//	APPEND RECORD     00 E2 00 P2 Lc data    P2 = SFI<<3 | 000
//	VERIFY            00 20 00 ref [Lc PIN]  without data: status query, never spends a try
//	                  00 20 FF ref           resets the PIN's verified state
//	CHANGE REF. DATA  00 24 00 ref Lc old||new   (split at the length of the current PIN)
//	                  00 24 01 ref Lc new        (only while ref is verified)
//	RESET RETRY CTR   00 2C 03 ref               unblock (administrative key authenticated)
//	                  00 2C 02 ref Lc new        unblock and set a new PIN (idem)
//	GET CHALLENGE     00 84 00 00 08             single-use card nonce
//	MUTUAL AUTH.      00 82 00 ref Lc E||M Le    ISO/IEC 11770-2 mechanism 6 (package secure)
//	ACTIVATE FILE     00 44 00 00                seals the selected AP (personalization -> operational)
//	PUT DATA          0C DA 00 C3 Lc set         stages a new key set (SM, administrative key; rekey.go)
//	                  0C DA 00 C1 01 vv          commits it in one step and ends the session
//	GET RESPONSE      00 C0 00 00 Le             when a 61xx is pending
//
// # Status words
//
// 9000 success; 6282 end of file/record before Ne bytes (data returned);
// 61xx more data (GET RESPONSE mode); 63Cx wrong PIN or authentication, x
// tries left; 6700 wrong length (malformed APDU, Lc/Le out of bounds,
// extended length when switched off); 6881 logical channel; 6882 secure
// messaging bits other than 0C; 6883/6884 chaining; 6981 command
// incompatible with the file structure; 6982 access condition not
// satisfied (also CLA 0C without a session); 6983 PIN or key blocked; 6985
// conditions of use (no challenge, nothing to GET RESPONSE); 6986 no current EF; 6987/6988 secure messaging
// objects missing/incorrect (the session is dropped); 6A80 bad data (PIN
// format); 6A82 file or AP not found; 6A83 record not found; 6A84 not enough
// memory (size or record count bound); 6A86 bad P1-P2; 6A88 PIN or key
// reference not found; 6B00 offset beyond the end; 6Cxx wrong Le (exact
// length in xx); 6D00 unknown INS; 6E00 unknown CLA.
//
// # Access conditions and lifecycle
//
// Each EF has a Condition per operation (read, update, append) in each of
// the two lifecycle states of its AP: Personalization and Operational. A
// Condition is all-of: Never, a verified PIN, an authenticated key, secure
// messaging; the zero Condition is Always. ACTIVATE FILE moves an AP from
// Personalization to Operational (irreversibly) when the AP's seal
// condition is met.
//
// # JPKI AP and readers without extended length
//
// WithJPKI adds the JPKI AP of every My Number Card (certificates, PINs,
// RSA-2048 keys and the 80 2A signature command; test PKI committed under
// testdata/jpki, LoadJPKITestPKI). WithShortReader puts the card behind a
// reader without extended length (6700 or a transmit error).
//
// # Faults
//
// Tests schedule faults with Inject (RemoveBefore, RemoveAfter, Tear, ...)
// counted in APDUs from the moment they are scheduled, and count traffic
// with Stats. Card state is saved to and loaded from a versioned, checksummed
// JSON file (Save, Load) that holds secrets: it is written 0600 and refused
// when group- or world-readable.
//
// The card follows docs/PROTOCOL.md profile 2.1 exactly: package
// conformance runs the profile's card-behaviour table (Appendix A) against
// it in its tests, in-process and through pcscd. The full behaviour is in
// README.md in this directory.
package mockcard
