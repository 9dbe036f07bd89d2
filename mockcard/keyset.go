package mockcard

import (
	"fmt"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
)

// Card-key sets (docs/PROTOCOL.md §5.3): the keys of an AP are one set
// with one version, which the AP announces in the FCI of SELECT (P2 = 00)
// as A5 L { C1 01 vv }. An AP with KeySet 0 announces none (a card of
// profile 2.0; hosts read it as their default, version 1). A staged set
// (PUT DATA C3, rekey.go) waits in a shadow until PUT DATA C1 commits it.

// stagedSet is a key set loaded by PUT DATA C3 and not yet committed:
// its version and, per key reference, the new K_enc and K_mac.
type stagedSet struct {
	version int
	keys    map[byte]stagedKey
}

type stagedKey struct{ enc, mac []byte }

// wipe zeroes the staged keys.
func (s *stagedSet) wipe() {
	if s == nil {
		return
	}
	for _, k := range s.keys {
		clear(k.enc)
		clear(k.mac)
	}
}

// checkKeySet validates an APSpec's KeySet.
func checkKeySet(v int) error {
	if v < 0 || v > profile.MaxKeySet {
		return fmt.Errorf("KeySet %d out of 0..%d", v, profile.MaxKeySet)
	}
	return nil
}

// version returns the key set of APKeys: KeySet, 1 when zero.
func (k APKeys) version() int {
	if k.KeySet == 0 {
		return profile.DefaultKeySet
	}
	return k.KeySet
}

// announced returns the version the AP announces in its FCI: 0 when
// Silent.
func (k APKeys) announced() int {
	if k.Silent {
		return 0
	}
	return k.version()
}

// masterRef names a master key of APKeys' key set.
func (k APKeys) masterRef(prefix, role, half string) keys.KeyRef {
	return keys.KeyRef{Name: prefix + "-" + role + "-" + half, Version: k.version()}
}

// KeySet returns the key-set version the AP aid announces (0: none) and
// the version of a staged, uncommitted set (0: none), for tests.
func (c *Card) KeySet(aid profile.AID) (active, staged int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.findApp(aid)
	if a == nil {
		return 0, 0, fmt.Errorf("%w: AP %s", ErrNotFound, aid)
	}
	if a.staged != nil {
		staged = a.staged.version
	}
	return a.keySet, staged, nil
}

// stagedState is a staged set in the state file.
type stagedState struct {
	Version int              `json:"version"`
	Keys    []stagedKeyState `json:"keys"`
}

type stagedKeyState struct {
	Ref byte   `json:"ref"`
	Enc []byte `json:"enc"`
	Mac []byte `json:"mac"`
}

// stagedSnapshot returns the AP's staged set for the state file (nil:
// none); c.mu is held.
func (a *app) stagedSnapshot() *stagedState {
	if a.staged == nil {
		return nil
	}
	st := &stagedState{Version: a.staged.version}
	for _, k := range a.keys {
		if s, ok := a.staged.keys[k.ref]; ok {
			st.Keys = append(st.Keys, stagedKeyState{Ref: k.ref, Enc: append([]byte(nil), s.enc...), Mac: append([]byte(nil), s.mac...)})
		}
	}
	return st
}

// restoreStaged is an option that puts a staged set from a state file
// back into the AP aid after it was added; nil st does nothing.
func restoreStaged(aid []byte, st *stagedState) Option {
	return func(s *settings) {
		if st == nil {
			return
		}
		s.post = append(s.post, func(c *Card) error {
			a := c.findApp(aid)
			if a == nil {
				return fmt.Errorf("%w: AP %X vanished", ErrStateFile, aid)
			}
			set := &stagedSet{version: st.Version, keys: map[byte]stagedKey{}}
			for _, k := range st.Keys {
				set.keys[k.Ref] = stagedKey{enc: append([]byte(nil), k.Enc...), mac: append([]byte(nil), k.Mac...)}
			}
			if err := a.checkStaged(set); err != nil {
				return fmt.Errorf("%w: staged key set: %v", ErrStateFile, err)
			}
			a.staged = set
			return nil
		})
	}
}
