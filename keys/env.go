package keys

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
)

// EnvPrefix starts the name of every key variable.
const EnvPrefix = "FREESPACE_KEY_"

// Env is a Provider reading keys from environment variables named
//
//	FREESPACE_KEY_<NAME>_V<n> = <alg>:<hex>     e.g.  FREESPACE_KEY_TYPEA_ENC_V2=aes:0011…
//
// where <NAME> is KeyRef.Name upper-cased with '-' and '.' turned into '_',
// <n> is the version in canonical decimal (no leading zero: _V3, never
// _V03, which is an *EnvNameError) and <alg> is "aes" or "3des". Version 0
// finds the highest <n> present.
type Env struct {
	// Environ lists the environment; nil means os.Environ.
	Environ func() []string
}

// EnvName returns the variable name of ref (Version ≥ 1).
func EnvName(ref KeyRef) string {
	return fmt.Sprintf("%s%s_V%d", EnvPrefix, envKeyName(ref.Name), ref.Version)
}

func envKeyName(name string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
}

func (e Env) environ() map[string]string {
	f := e.Environ
	if f == nil {
		f = os.Environ
	}
	m := map[string]string{}
	for _, kv := range f() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			m[k] = v
		}
	}
	return m
}

// Key implements Provider. Every variable of ref.Name must spell its
// version in canonical decimal (1, 2, … 10: no leading zero, no sign);
// one that does not (_V03, _V+3, _V0) is refused with an *EnvNameError,
// whichever version is asked for, so a version is never silently taken
// for another, skipped, or present under two spellings.
func (e Env) Key(ctx context.Context, ref KeyRef) (Key, error) {
	if err := ctx.Err(); err != nil {
		return Key{}, err
	}
	env := e.environ()
	latest, err := envVersions(env, ref.Name)
	if err != nil {
		return Key{}, err
	}
	v := ref.Version
	if v == 0 {
		v = latest
	}
	if v == 0 {
		return Key{}, fmt.Errorf("%w: %s (no %s%s_V<n> variable)", ErrKeyNotFound, ref, EnvPrefix, envKeyName(ref.Name))
	}
	name := EnvName(KeyRef{Name: ref.Name, Version: v})
	val, ok := env[name]
	if !ok {
		return Key{}, fmt.Errorf("%w: %s (no variable %s)", ErrKeyNotFound, ref, name)
	}
	algS, hx, ok := strings.Cut(val, ":")
	if !ok {
		return Key{}, fmt.Errorf("%w: %s must hold <alg>:<hex>", ErrInvalidKey, name)
	}
	alg, err := ParseAlgorithm(algS)
	if err != nil {
		return Key{}, fmt.Errorf("%w (variable %s)", err, name)
	}
	b, err := hex.DecodeString(hx)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %s is not hex", ErrInvalidKey, name)
	}
	defer clear(b)
	k, err := NewKey(alg, b)
	if err != nil {
		return Key{}, fmt.Errorf("%w (variable %s)", err, name)
	}
	return k, nil
}

// Diversify implements Provider.
func (e Env) Diversify(ctx context.Context, ref KeyRef, cuid, aid []byte) (Key, error) {
	m, err := e.Key(ctx, ref)
	if err != nil {
		return Key{}, err
	}
	defer m.Zero()
	return Diversify(m, cuid, aid)
}

// envVersions checks the version of every variable of name in env and
// returns the highest (0: none). A variable is name's when the rest of its
// name after FREESPACE_KEY_<NAME>_V has no '_' (a longer name's variable
// always does: …_<MORE>_V<n>).
func envVersions(env map[string]string, name string) (int, error) {
	prefix := EnvPrefix + envKeyName(name) + "_V"
	vars := make([]string, 0, len(env))
	for k := range env {
		if rest, ok := strings.CutPrefix(k, prefix); ok && !strings.Contains(rest, "_") {
			vars = append(vars, k)
		}
	}
	slices.Sort(vars) // the first bad variable in a stable order
	latest := 0
	for _, k := range vars {
		n, ok := parseEnvVersion(k[len(prefix):])
		if !ok {
			return 0, &EnvNameError{Variable: k}
		}
		latest = max(latest, n)
	}
	return latest, nil
}

// maxEnvVersionDigits bounds a version's digits (no overflow of int).
const maxEnvVersionDigits = 9

// parseEnvVersion parses a version in canonical decimal: 1 to 9 ASCII
// digits, the first not 0.
func parseEnvVersion(s string) (int, bool) {
	if s == "" || len(s) > maxEnvVersionDigits || s[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// DiversifyLabel implements LabelDiversifier.
func (e Env) DiversifyLabel(ctx context.Context, ref KeyRef, label string, cuid, aid []byte) (Key, error) {
	m, err := e.Key(ctx, ref)
	if err != nil {
		return Key{}, err
	}
	defer m.Zero()
	return DiversifyLabel(m, label, cuid, aid)
}
