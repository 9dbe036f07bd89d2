package main

import (
	"context"
	"os"
	"strings"

	"github.com/mynacard/freespace/keys"
)

// keySourceUsage is the help text of --keys, the one key-source flag of
// every command that needs the operator's keys.
const keySourceUsage = "operator keys `SPEC`: a key file (JSON key store, mode 0600, owned by you or root), " +
	"env: (FREESPACE_KEY_<NAME>_V<n> variables), env:PREFIX (PREFIX<NAME>_V<n>) " +
	"or pkcs11:token=LABEL?module-path=/path/module.so&pin-source=env:VAR (master keys in a PKCS#11 token); see 'cardap help keys'"

// openedKeys is an opened key source: a keys.Provider, and Close, which
// wipes the keys a file store holds in memory (or releases a token).
type openedKeys interface {
	keys.Provider
	keys.LabelDiversifier
	Close() error
}

// keySource is a parsed --keys SPEC.
type keySource struct {
	// scheme is "file", "env" or "pkcs11".
	scheme string
	// path is the key file (scheme file).
	path string
	// prefix is the variables' prefix (scheme env), keys.EnvPrefix by
	// default.
	prefix string
	// uri is the whole SPEC (scheme pkcs11).
	uri string
}

// parseKeySource parses SPEC: "env:" or "env:PREFIX", "pkcs11:..." (a
// PKCS#11 URI, RFC 7512), else a file path ("./env:x" names a file called
// env:x).
func parseKeySource(spec string) (keySource, error) {
	switch {
	case spec == "":
		return keySource{}, usageError("--keys SPEC is required (the operator's master keys: a key file, env: or env:PREFIX)")
	case strings.HasPrefix(spec, "env:"):
		prefix := strings.TrimPrefix(spec, "env:")
		if prefix == "" {
			prefix = keys.EnvPrefix
		}
		for _, r := range prefix {
			if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
				return keySource{}, usageErrorf("--keys %s: an environment prefix holds only A-Z, 0-9 and _", spec)
			}
		}
		return keySource{scheme: "env", prefix: prefix}, nil
	case strings.HasPrefix(spec, "pkcs11:"):
		return keySource{scheme: "pkcs11", uri: spec}, nil
	}
	return keySource{scheme: "file", path: spec}, nil
}

// open opens the key source.
func (ks keySource) open(ctx context.Context) (openedKeys, error) {
	switch ks.scheme {
	case "file":
		st, err := keys.LoadFile(ks.path)
		if err != nil {
			return nil, err
		}
		return fileKeys{st}, nil
	case "env":
		return envKeys{keys.Env{Environ: prefixedEnviron(ks.prefix)}}, nil
	case "pkcs11":
		return openPKCS11Keys(ctx, ks.uri)
	}
	return nil, usageErrorf("--keys: unknown key source %q", ks.scheme)
}

// prefixedEnviron returns the environment as keys.Env reads it, with the
// variables of prefix renamed to keys.EnvPrefix (and only those).
func prefixedEnviron(prefix string) func() []string {
	return func() []string {
		var out []string
		for _, kv := range os.Environ() {
			if rest, ok := strings.CutPrefix(kv, prefix); ok {
				out = append(out, keys.EnvPrefix+rest)
			}
		}
		return out
	}
}

// fileKeys is a key file's store.
type fileKeys struct{ *keys.Store }

// Close wipes the keys.
func (f fileKeys) Close() error {
	f.Zero()
	return nil
}

// envKeys reads the keys from the environment at each use.
type envKeys struct{ keys.Env }

// Close does nothing: the environment holds the keys.
func (envKeys) Close() error { return nil }

// openKeys parses and opens --keys SPEC.
func openKeys(ctx context.Context, spec string) (openedKeys, error) {
	ks, err := parseKeySource(spec)
	if err != nil {
		return nil, err
	}
	return ks.open(ctx)
}
