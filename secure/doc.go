// Package secure is the security core of freespace: the cipher suites, the
// ISO/IEC 11770-2 mechanism 6 mutual authentication used by the Type A and
// Type D card APs, and ISO/IEC 7816-4 secure messaging as profiled by
// ICAO Doc 9303 part 11 §9.8.
//
// The package sits directly on package apdu. The host side is
// MutualAuthenticate, which returns a *Session: an apdu.Transport decorator
// that protects every command and checks every response, so an apdu.Channel
// can be stacked over it unchanged. The card side (used by the mock card) is
// CardAuthenticator and *CardSession.
//
// Two families of cipher suites sit behind the Suite interface:
//
//   - TDES: two-key triple DES in CBC mode, ISO/IEC 9797-1 MAC algorithm 3
//     (the "retail MAC") with padding method 2, 8-byte SSC, IV zero;
//   - AES128, AES192, AES256: AES in CBC mode, AES-CMAC (NIST SP 800-38B,
//     RFC 4493) truncated to 8 bytes, 16-byte SSC, IV = E(KS_enc, SSC).
//
// The primitives under the suites (CMAC, the retail MAC, two-key triple
// DES, the NIST SP 800-108 KDF) are internal to the module; package keys
// derives card keys with them. secure itself never imports keys, so it
// takes raw key bytes and never keeps them longer than the session that
// uses them.
//
// Randomness (nonces, key halves) comes from an injected io.Reader,
// crypto/rand by default, so tests replay published worked examples byte for
// byte. Secret bytes never appear in errors or logs: every error names what
// failed, never with which key.
//
// The byte-level profile is chapters 3 and 4 of docs/PROTOCOL.md.
package secure
