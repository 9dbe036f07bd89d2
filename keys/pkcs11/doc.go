// Package pkcs11 keeps the operator's master keys in a PKCS#11 token (an
// HSM, or SoftHSM2 for tests) and diversifies them there: a Provider is a
// keys.Provider and keys.LabelDiversifier whose master keys are
// non-extractable token objects. The NIST SP 800-108 counter-mode KDF of
// docs/PROTOCOL.md §5.1 runs with the token as its PRF: each CMAC block is
// a C_Sign with CKM_AES_CMAC (AES masters of 16, 24 or 32 bytes) or
// CKM_DES3_CMAC (two-key 3DES masters, CKK_DES2) on the master key object,
// so only the card keys reach the host. Provider.Key always fails with
// ErrNotExtractable.
//
// # Objects on the token
//
// A master key named N in version V (keys.KeyRef{Name: N, Version: V}) is
// the secret key object (CKO_SECRET_KEY) with
//
//	CKA_LABEL = N                     e.g. "typea-auth-enc"
//	CKA_ID    = V as 4 bytes, big-endian   (version 1: 00 00 00 01)
//	CKA_KEY_TYPE = CKK_AES or CKK_DES2
//	CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN = true
//	CKA_EXTRACTABLE, CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP,
//	CKA_DERIVE, CKA_VERIFY = false
//
// Version 0 in a KeyRef means the highest version on the token (rotation
// adds version n+1: cards of key set n are served by asking for version
// n). The provider refuses a master object that is extractable or not
// sensitive (ErrUnsafeObject), and two objects with one label and ID.
// Generate and Import create objects with exactly this template.
//
// The revocation feed's Ed25519 signing key is a key pair (CKK_EC_EDWARDS,
// CKA_EC_PARAMS id-Ed25519) with a CKA_LABEL of the operator's choice
// (cardap uses "feed-signing") and the same version CKA_ID; Signer returns
// a crypto.Signer that signs with CKM_EDDSA inside the token.
//
// # Sessions, login and recovery
//
// A Provider holds a pool of at most Config.Sessions sessions, shared by
// concurrent taps. It logs in once with the user PIN (Config.PIN; ReadPIN
// reads it from an environment variable, standard input or a file, as a
// pkcs11: URI's pin-source says). When the token goes away (the module
// reports CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, a closed or invalid
// session, a logged-out user), the pool is dropped and the operation is
// retried once after logging in again; while the token stays away
// operations fail with ErrTokenAbsent, and the first one after it is back
// logs in again. A refused or locked PIN is never tried again by the same
// Provider, and a token that reports its PIN at the final try
// (CKF_USER_PIN_FINAL_TRY) is not logged in to (ErrPINFinalTry, no try
// spent) unless Config.AllowFinalTry.
//
// The names and versions of the master keys on the token (KeyVersions, a
// keys.VersionLister that hosts ask on every tap, and Version 0) come from
// an index read with one token search and reused for Config.IndexTTL
// (default 5 s): a search costs about 1 ms on SoftHSM2, more than a
// diversification. Versions another process adds show within IndexTTL;
// this Provider's own Generate and Import refresh the index at once.
//
// A PKCS#11 module is initialized once per process and shared by every
// Provider on it, and so is the login (PKCS#11 logs in an application,
// not a session): while one Provider of the process is logged in to a
// token, another one's C_Login answers CKR_USER_ALREADY_LOGGED_IN without
// checking its PIN; the token logs the process out when its last session
// closes. Close closes the Provider's own sessions and wipes its copy of
// the PIN, but leaves the module initialized (C_Finalize would
// close every other user's sessions too).
//
// # Errors
//
// Every error is an *Error that matches one sentinel: ErrTokenAbsent,
// ErrPINIncorrect, ErrPINLocked, ErrPINFinalTry, ErrObjectMissing (which also matches
// keys.ErrKeyNotFound), ErrMechanism, ErrUnsafeObject, ErrModule, ErrURI,
// ErrPINSource, ErrNoCgo. Errors carry the operation, token label, object
// name and CKR_ code, never a PIN or key bytes.
//
// # Builds
//
// The package needs cgo (the module is a shared library). Built without
// cgo, Open returns ErrNoCgo, so programs still compile everywhere.
package pkcs11
