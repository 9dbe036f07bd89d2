package keys

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// EnvPrefix starts the name of every key variable.
const EnvPrefix = "FREESPACE_KEY_"

// Env is a Provider reading keys from environment variables named
//
//	FREESPACE_KEY_<NAME>_V<n> = <alg>:<hex>     e.g.  FREESPACE_KEY_TYPEA_ENC_V2=aes:0011…
//
// where <NAME> is KeyRef.Name upper-cased with '-' and '.' turned into '_'
// and <alg> is "aes" or "3des". Version 0 finds the highest <n> present.
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

// Key implements Provider.
func (e Env) Key(ctx context.Context, ref KeyRef) (Key, error) {
	if err := ctx.Err(); err != nil {
		return Key{}, err
	}
	env := e.environ()
	v := ref.Version
	if v == 0 {
		prefix := EnvPrefix + envKeyName(ref.Name) + "_V"
		for k := range env {
			if n, err := strconv.Atoi(strings.TrimPrefix(k, prefix)); err == nil && strings.HasPrefix(k, prefix) && n > v {
				v = n
			}
		}
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
