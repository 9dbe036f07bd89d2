package keys

import (
	"errors"
	"fmt"
	"strings"
)

// Algorithm is the block cipher a key belongs to.
type Algorithm uint8

// The algorithms of the security core's suites.
const (
	// AES keys are 16, 24 or 32 bytes.
	AES Algorithm = iota + 1
	// TDES keys are 16 bytes (two-key triple DES, K1 K2 K1).
	TDES
)

// String returns "aes" or "3des".
func (a Algorithm) String() string {
	switch a {
	case AES:
		return "aes"
	case TDES:
		return "3des"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// ParseAlgorithm parses "aes" or "3des" (also "tdes"), case-insensitively.
// The error quotes a short unknown name only: a longer one may be a key
// written into the wrong field, and is described by its length.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.ToLower(s) {
	case "aes":
		return AES, nil
	case "3des", "tdes":
		return TDES, nil
	}
	if len(s) > maxQuotedAlgorithm {
		return 0, fmt.Errorf("%w: unknown algorithm of %d characters, not shown (want aes or 3des)", ErrInvalidKey, len(s))
	}
	return 0, fmt.Errorf("%w: unknown algorithm %q (want aes or 3des)", ErrInvalidKey, s)
}

// maxQuotedAlgorithm is the longest unknown algorithm name an error
// quotes; the shortest key in hex has 32 characters.
const maxQuotedAlgorithm = 10

// Errors of the key layer. None of them carries key bytes.
var (
	// ErrKeyNotFound: no key with the requested name (and version).
	ErrKeyNotFound = errors.New("keys: key not found")
	// ErrInvalidKey: a key has the wrong length for its algorithm, bad hex,
	// or an unknown algorithm.
	ErrInvalidKey = errors.New("keys: invalid key")
	// ErrInsecureFile: a key file is not safe to trust (LoadFile): a
	// symbolic link, not a regular file, owned by another user than root
	// or the running user, accessible by group or others, or in a
	// directory another user owns or may write. The error also wraps the
	// *securefile.Error with the facts and a Remedy.
	ErrInsecureFile = errors.New("keys: key file not safe to trust")
	// ErrInvalidInput: diversification data (CUID, AID) is malformed.
	ErrInvalidInput = errors.New("keys: invalid diversification input")
	// ErrInvalidEnvName is matched by *EnvNameError: a key variable's
	// version is not in canonical decimal.
	ErrInvalidEnvName = errors.New("keys: invalid key variable name")
)

// EnvNameError reports a key variable (see Env) whose version is not
// written in canonical decimal ≥ 1 (FREESPACE_KEY_X_V03, _V+3, _V0, _V).
// It names the variable, never its value.
type EnvNameError struct {
	// Variable is the environment variable name that was refused.
	Variable string
}

// Error names the variable and the rule.
func (e *EnvNameError) Error() string {
	return fmt.Sprintf("keys: variable %s: version must be a decimal number ≥ 1 without leading zeros (e.g. _V3, not _V03)", e.Variable)
}

// Is matches ErrInvalidEnvName.
func (e *EnvNameError) Is(target error) bool { return target == ErrInvalidEnvName }

// Key is secret key material of one algorithm. Its bytes never appear in
// String, GoString or any fmt verb, and because they sit behind a pointer
// they do not appear either when a Key is an unexported field of a struct
// printed with %v (fmt cannot call methods there and prints the pointer).
// The zero Key is empty.
type Key struct {
	s *keyState
}

type keyState struct {
	alg Algorithm
	b   []byte
}

func newKeyState(alg Algorithm, b []byte) Key { return Key{s: &keyState{alg: alg, b: b}} }

// NewKey returns a Key holding a copy of b after checking its length for
// alg (AES: 16, 24, 32; TDES: 16).
func NewKey(alg Algorithm, b []byte) (Key, error) {
	switch alg {
	case AES:
		if len(b) != 16 && len(b) != 24 && len(b) != 32 {
			return Key{}, fmt.Errorf("%w: AES key of %d bytes (want 16, 24 or 32)", ErrInvalidKey, len(b))
		}
	case TDES:
		if len(b) != 16 {
			return Key{}, fmt.Errorf("%w: 3DES key of %d bytes (want 16)", ErrInvalidKey, len(b))
		}
	default:
		return Key{}, fmt.Errorf("%w: unknown algorithm", ErrInvalidKey)
	}
	return newKeyState(alg, append([]byte(nil), b...)), nil
}

// Algorithm returns the key's algorithm (0 for the zero Key).
func (k Key) Algorithm() Algorithm {
	if k.s == nil {
		return 0
	}
	return k.s.alg
}

// Len returns the key length in bytes.
func (k Key) Len() int { return len(k.Bytes()) }

// Bytes returns the secret bytes themselves (not a copy), for handing to
// the cipher layer (package secure). Never log them.
func (k Key) Bytes() []byte {
	if k.s == nil {
		return nil
	}
	return k.s.b
}

// Zero overwrites the key bytes. Copies of the Key share the bytes and are
// zeroed too.
func (k Key) Zero() { clear(k.Bytes()) }

// String implements fmt.Stringer without revealing the key.
func (k Key) String() string {
	return fmt.Sprintf("keys.Key{%s, %d bytes, redacted}", k.Algorithm(), k.Len())
}

// GoString implements fmt.GoStringer without revealing the key.
func (k Key) GoString() string { return k.String() }

// Format implements fmt.Formatter: every verb prints String.
func (k Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// KeyRef names a key: Name and Version. Version 0 means the latest
// (highest) version. Card keys are not looked up that way: the version of
// every master key of a card's AP is the card's key-set version
// (docs/PROTOCOL.md §5.3), announced by the card, accepted by the
// terminal's policy, and the same for all of them, so a host never
// combines one key's latest version with another's older one. A CardKey
// therefore names its masters without a version, and rotation adds
// version n+1 of all of them at once (a new key set).
type KeyRef struct {
	// Name is the key's name in the provider (for example
	// "typea-auth-enc").
	Name string
	// Version is the key's version, 1 and up; 0 means the latest.
	Version int
}

// String returns "name" or "name v3".
func (r KeyRef) String() string {
	if r.Version == 0 {
		return r.Name + " (latest)"
	}
	return fmt.Sprintf("%s v%d", r.Name, r.Version)
}
