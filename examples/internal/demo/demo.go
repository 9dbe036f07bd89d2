// Package demo holds what the examples share to run without a card or a
// key file: the demo operator's keys made in memory, and a password read
// once from the environment.
package demo

import (
	"crypto/rand"
	"fmt"
	"os"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
)

// TypeAMasters names the Type A master keys (docs/PROTOCOL.md §6.2).
var TypeAMasters = []string{
	"typea-auth-enc", "typea-auth-mac",
	"typea-update-enc", "typea-update-mac",
	"typea-admin-enc", "typea-admin-mac",
}

// OperatorKeys makes the demo operator's Type A master keys in memory,
// random for each run: the demo cards are loaded with keys diversified
// from them and the terminals authenticate the cards with them. Nothing is
// written to disk; the caller zeroes the store when done.
func OperatorKeys() (*keys.Store, error) {
	st := keys.NewStore()
	b := make([]byte, 16)
	defer clear(b)
	for _, name := range TypeAMasters {
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		k, err := keys.NewKey(keys.AES, b)
		if err != nil {
			return nil, err
		}
		if err := st.Add(keys.KeyRef{Name: name, Version: 1}, k); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// PasswordFromEnv reads the password in the environment variable name and
// removes the variable from the process environment, so that no child
// process (a door or lock command) inherits it. The kernel's copy of the
// process's initial environment (/proc/PID/environ on Linux, readable by
// the same user and root) is not changed by that: a password given this
// way stays there for the life of the process.
func PasswordFromEnv(name string) (profile.Password, error) {
	v, ok := os.LookupEnv(name)
	if err := os.Unsetenv(name); err != nil {
		return nil, err
	}
	if !ok || v == "" {
		return nil, fmt.Errorf("the environment variable %s is not set or empty", name)
	}
	// A Go string cannot be wiped; the copy returned can.
	return profile.Password(v), nil
}
