package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Card-key sets (docs/PROTOCOL.md §5.3): every card key of an AP (each
// role's enc and mac halves) belongs to one key set, whose version n is
// the version of all its master keys: key set n of the Type A AP is the
// masters "typea-<role>-enc" and "typea-<role>-mac" of version n. The
// card announces its set's version; the host takes every key of the AP
// at exactly that version, never one key from another version. The
// diversification label is the same for every set ("freespace card key",
// DiversificationLabel): the version lives in the master keys.

// ErrNoVersionList: the Provider cannot list the versions it holds (it
// does not implement VersionLister).
var ErrNoVersionList = errors.New("keys: the key provider cannot list key versions")

// VersionLister is a Provider that lists the versions it holds of a key
// name without touching key bytes. Store and Env implement it; a host
// uses it to check that a key set is complete before it authenticates,
// and to find the newest complete set to load.
type VersionLister interface {
	// KeyVersions returns the versions held under name, ascending (none:
	// an empty list, no error).
	KeyVersions(ctx context.Context, name string) ([]int, error)
}

// KeyVersions implements VersionLister.
func (s *Store) KeyVersions(ctx context.Context, name string) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Versions(name), nil
}

// KeyVersions implements VersionLister. A variable of name whose version
// is not canonical decimal is an *EnvNameError, as for Key.
func (e Env) KeyVersions(ctx context.Context, name string) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	env := e.environ()
	if _, err := envVersions(env, name); err != nil {
		return nil, err
	}
	prefix := EnvPrefix + envKeyName(name) + "_V"
	var out []int
	for k := range env {
		if rest, ok := strings.CutPrefix(k, prefix); ok && !strings.Contains(rest, "_") {
			if n, ok := parseEnvVersion(rest); ok {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// SetKeys returns the master key names of a key set: the Enc and Mac
// names of every card key, in order, each once.
func SetKeys(cardKeys []CardKey) []string {
	var names []string
	for _, k := range cardKeys {
		for _, n := range []string{k.Enc.Name, k.Mac.Name} {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// SetStatus is what a VersionLister holds of key set v: the master key
// names present and missing at exactly version v.
type SetStatus struct {
	Present, Missing []string
}

// Complete reports whether every master key of the set is present.
func (s SetStatus) Complete() bool { return len(s.Missing) == 0 && len(s.Present) > 0 }

// CheckSet lists which of names p holds at exactly version v. It needs a
// VersionLister (else ErrNoVersionList).
func CheckSet(ctx context.Context, p Provider, names []string, v int) (SetStatus, error) {
	vl, ok := p.(VersionLister)
	if !ok {
		return SetStatus{}, ErrNoVersionList
	}
	var st SetStatus
	for _, n := range names {
		vs, err := vl.KeyVersions(ctx, n)
		if err != nil {
			return SetStatus{}, err
		}
		if slices.Contains(vs, v) {
			st.Present = append(st.Present, n)
		} else {
			st.Missing = append(st.Missing, KeyRef{Name: n, Version: v}.String())
		}
	}
	return st, nil
}

// NewestCompleteSet returns the highest version at which p holds every
// one of names (0 when no version is complete). It needs a VersionLister
// (else ErrNoVersionList).
func NewestCompleteSet(ctx context.Context, p Provider, names []string) (int, error) {
	vl, ok := p.(VersionLister)
	if !ok {
		return 0, ErrNoVersionList
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("%w: a key set without key names", ErrInvalidKey)
	}
	var common []int
	for i, n := range names {
		vs, err := vl.KeyVersions(ctx, n)
		if err != nil {
			return 0, err
		}
		if i == 0 {
			common = slices.Clone(vs)
			continue
		}
		common = slices.DeleteFunc(common, func(v int) bool { return !slices.Contains(vs, v) })
	}
	if len(common) == 0 {
		return 0, nil
	}
	return slices.Max(common), nil
}
