package pkcs11

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/keys"
)

// Sentinel errors of the PKCS#11 provider, matched with errors.Is. Every
// error the package returns is an *Error wrapping one of them (or a
// keys error for bad diversification input). None carries a PIN or key
// bytes.
var (
	// ErrNoCgo: the program was built without cgo, so no PKCS#11 module
	// can be loaded.
	ErrNoCgo = errors.New("pkcs11: built without cgo, PKCS#11 unavailable")
	// ErrModule: the PKCS#11 module (shared library) could not be loaded,
	// is not safe to load, or failed to initialize.
	ErrModule = errors.New("pkcs11: module not usable")
	// ErrTokenAbsent: no slot holds a token with the configured label, or
	// the token went away during an operation and has not come back.
	ErrTokenAbsent = errors.New("pkcs11: token not present")
	// ErrPINIncorrect: the token refused the user PIN (it counted a try).
	ErrPINIncorrect = errors.New("pkcs11: PIN incorrect")
	// ErrPINLocked: the user PIN is locked (too many wrong PINs) or
	// expired.
	ErrPINLocked = errors.New("pkcs11: PIN locked")
	// ErrPINFinalTry: the token reports that one wrong PIN more locks it
	// (CKF_USER_PIN_FINAL_TRY); the provider does not log in unless
	// Config.AllowFinalTry.
	ErrPINFinalTry = errors.New("pkcs11: PIN at its final try")
	// ErrObjectMissing: no object with the label and ID (key name and
	// version) is on the token. It also matches keys.ErrKeyNotFound.
	ErrObjectMissing = errors.New("pkcs11: object not found")
	// ErrMechanism: the token lacks a mechanism the operation needs
	// (CKM_AES_CMAC, CKM_DES3_CMAC, CKM_EDDSA, a key generation).
	ErrMechanism = errors.New("pkcs11: mechanism not supported by the token")
	// ErrNotExtractable: master keys never leave the token; Key refuses.
	ErrNotExtractable = errors.New("pkcs11: master key is not extractable")
	// ErrUnsafeObject: a master key object on the token is extractable or
	// not sensitive, or has a key type the profile has no use for; the
	// provider refuses to use it.
	ErrUnsafeObject = errors.New("pkcs11: key object not usable as a master key")
	// ErrObjectExists: generate or import would shadow an existing object
	// with the same label and ID.
	ErrObjectExists = errors.New("pkcs11: object already exists")
	// ErrURI: a pkcs11: URI (RFC 7512) or PIN source is malformed or
	// carries something refused (a PIN value in the URI).
	ErrURI = errors.New("pkcs11: invalid URI")
	// ErrPINSource: the PIN could not be read from its source (unset
	// variable, unsafe file, empty input).
	ErrPINSource = errors.New("pkcs11: PIN unavailable")
	// ErrToken: any other failure the token reported (the CKR_ code is in
	// the *Error).
	ErrToken = errors.New("pkcs11: token operation failed")
	// ErrClosed: the provider was closed.
	ErrClosed = errors.New("pkcs11: provider closed")
)

// Error is an error of the PKCS#11 provider: the operation, the token and
// object it concerned, the module's return value when there was one, and
// the sentinel that classifies it. It never holds a PIN or key bytes.
type Error struct {
	// Op is the operation: "open", "login", "diversify", "sign",
	// "generate", "import", "list", "find".
	Op string
	// Token is the token label, when known.
	Token string
	// Object names the key (label and version), when the error concerns
	// one.
	Object string
	// RV is the PKCS#11 return value (CKR_*), 0 when the error did not
	// come from the module.
	RV uint
	// Kind is the sentinel (ErrTokenAbsent, ErrPINIncorrect, ...).
	Kind error
	// Detail is a short fact (no secrets), may be empty.
	Detail string
}

// Error states the facts: operation, token, object, class, detail, CKR.
func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Op != "" {
		s += ": " + e.Op
	}
	if e.Token != "" {
		s += fmt.Sprintf(" token %q", e.Token)
	}
	if e.Object != "" {
		s += " object " + e.Object
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.RV != 0 {
		s += fmt.Sprintf(" (%s)", rvName(e.RV))
	}
	return s
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

// Is also matches keys.ErrKeyNotFound for a missing object, so callers of
// keys.Provider handle both providers alike.
func (e *Error) Is(target error) bool {
	return target == keys.ErrKeyNotFound && e.Kind == ErrObjectMissing
}

// rvName names the CKR_ values the provider classifies, hex otherwise.
func rvName(rv uint) string {
	if n, ok := map[uint]string{
		0x05: "CKR_GENERAL_ERROR", 0x06: "CKR_FUNCTION_FAILED", 0x30: "CKR_DEVICE_ERROR",
		0x31: "CKR_DEVICE_MEMORY", 0x32: "CKR_DEVICE_REMOVED", 0x60: "CKR_KEY_HANDLE_INVALID",
		0x70: "CKR_MECHANISM_INVALID", 0x82: "CKR_OBJECT_HANDLE_INVALID", 0xA0: "CKR_PIN_INCORRECT",
		0xA2: "CKR_PIN_LEN_RANGE", 0xA3: "CKR_PIN_EXPIRED", 0xA4: "CKR_PIN_LOCKED",
		0xB0: "CKR_SESSION_CLOSED", 0xB3: "CKR_SESSION_HANDLE_INVALID", 0xE0: "CKR_TOKEN_NOT_PRESENT",
		0xE1: "CKR_TOKEN_NOT_RECOGNIZED", 0x101: "CKR_USER_NOT_LOGGED_IN", 0x190: "CKR_CRYPTOKI_NOT_INITIALIZED",
		0x68: "CKR_KEY_FUNCTION_NOT_PERMITTED", 0x63: "CKR_KEY_TYPE_INCONSISTENT",
	}[rv]; ok {
		return n
	}
	return fmt.Sprintf("CKR 0x%X", rv)
}
