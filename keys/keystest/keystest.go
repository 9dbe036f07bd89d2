// Package keystest makes deterministic operator keys for tests, examples
// and benchmarks: a keys.Store with every master key the profile's Type A
// and Type D defaults name, and the Type D data key, as the mock card
// (package mockcard) expects when configured with the same store.
//
// The keys are derived from fixed public labels, so anyone can compute
// them: they are for tests and mock cards only, NEVER for real cards. A
// card personalized with them is open to everyone who reads this package.
package keystest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/mynacard/freespace/keys"
)

// masterNames returns the names of the master keys the profile's defaults
// use (a function, so that no package variable can be changed).
func masterNames() []string {
	return []string{
		"typea-auth-enc", "typea-auth-mac", "typea-update-enc", "typea-update-mac", "typea-admin-enc", "typea-admin-mac",
		"typed-auth-enc", "typed-auth-mac", "typed-update-enc", "typed-update-mac", "typed-admin-enc", "typed-admin-mac",
	}
}

// derive returns n deterministic bytes for a name and version.
func derive(name string, version, n int) []byte {
	sum := sha256.Sum256([]byte(fmt.Sprintf("freespace test key %s v%d", name, version)))
	return sum[:n]
}

// Store returns a keys.Store with AES-128 master keys version 1 for every
// default Type A and Type D key, and the AES-256 data key "typed-data" in
// versions 1..dataVersions. The same arguments give the same keys, in
// every process. Test keys: never for real cards.
func Store(dataVersions int) *keys.Store {
	s := keys.NewStore()
	for _, n := range masterNames() {
		k, err := keys.NewKey(keys.AES, derive(n, 1, 16))
		if err != nil {
			panic(err) // cannot happen: a fixed, valid key length
		}
		if err := s.Add(keys.KeyRef{Name: n, Version: 1}, k); err != nil {
			panic(err)
		}
	}
	for v := 1; v <= dataVersions; v++ {
		AddDataKey(s, v)
	}
	return s
}

// AddDataKey adds version v of the test data key "typed-data" to s, for a
// test of data-key rotation. It panics if s already holds that version
// (a mistake in the test itself).
func AddDataKey(s *keys.Store, v int) {
	k, err := keys.NewKey(keys.AES, derive("typed-data", v, 32))
	if err != nil {
		panic(err)
	}
	if err := s.Add(keys.KeyRef{Name: "typed-data", Version: v}, k); err != nil {
		panic(err)
	}
}

// AddCardKeySet adds version v of every default Type A and Type D master
// key (AES-128) to s: card-key set v (docs/PROTOCOL.md §5.3), for tests
// of key-set versions and rekeying. Version 1 is what Store holds. It
// panics if s already holds one of them (a mistake in the test itself).
func AddCardKeySet(s *keys.Store, v int) {
	for _, n := range masterNames() {
		k, err := keys.NewKey(keys.AES, derive(n, v, 16))
		if err != nil {
			panic(err)
		}
		if slices.Contains(s.Versions(n), v) {
			panic(fmt.Sprintf("keystest: %s v%d already in the store", n, v))
		}
		if err := s.Add(keys.KeyRef{Name: n, Version: v}, k); err != nil {
			panic(err)
		}
	}
}

// WriteFile writes the keys of Store(dataVersions) as a key file of
// package keys (mode 0600), for tests of command-line tools.
func WriteFile(path string, dataVersions int) error {
	return WriteFileKeySets(path, dataVersions, 1)
}

// WriteFileKeySets is WriteFile with card-key sets 1..keySets (see
// AddCardKeySet).
func WriteFileKeySets(path string, dataVersions, keySets int) error {
	type entry struct {
		Name    string `json:"name"`
		Version int    `json:"version"`
		Alg     string `json:"alg"`
		Key     string `json:"key"`
	}
	var out struct {
		Keys []entry `json:"keys"`
	}
	for v := 1; v <= keySets; v++ {
		for _, n := range masterNames() {
			out.Keys = append(out.Keys, entry{n, v, "aes", hex.EncodeToString(derive(n, v, 16))})
		}
	}
	for v := 1; v <= dataVersions; v++ {
		out.Keys = append(out.Keys, entry{"typed-data", v, "aes", hex.EncodeToString(derive("typed-data", v, 32))})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// StoreTDES returns a keys.Store with two-key 3DES master keys version 1
// for every default Type A and Type D key (for the 3DES suite) and version
// 1 of the data key. Test keys: never for real cards.
func StoreTDES() *keys.Store {
	s := keys.NewStore()
	for _, n := range masterNames() {
		k, err := keys.NewKey(keys.TDES, derive(n+" 3des", 1, 16))
		if err != nil {
			panic(err)
		}
		if err := s.Add(keys.KeyRef{Name: n, Version: 1}, k); err != nil {
			panic(err)
		}
	}
	AddDataKey(s, 1)
	return s
}
