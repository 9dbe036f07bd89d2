package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
)

// typeCWarning is logged at start and with every decision of a gate run
// with --allow-type-c.
const typeCWarning = "gate: --allow-type-c: Type C cards prove nothing (their ID is readable by anyone, and a copy on a blank card or a phone opens this gate as the original does)"

// passwordFromEnv reads the password in the environment variable name and
// removes the variable from the process environment, so that no child
// process (the door command) inherits it. The kernel's copy of the
// process's initial environment (/proc/PID/environ on Linux, readable by
// the same user and root) is not changed by that: a password given this
// way stays there for the life of the process.
func passwordFromEnv(name string) (profile.Password, error) {
	v, ok := os.LookupEnv(name)
	if err := os.Unsetenv(name); err != nil {
		return nil, err
	}
	if !ok || v == "" {
		return nil, fmt.Errorf("the environment variable %s is not set or empty", name)
	}
	// A Go string cannot be wiped; the copy the gate keeps can.
	return profile.Password(v), nil
}

// passwordFunc is the gate's cardap.PasswordFunc: a copy of the password
// given with --password-env (the client wipes what it is given).
func (g *gate) passwordFunc(context.Context, cardap.PasswordRequest) (profile.Password, error) {
	if g.password == nil {
		return nil, errors.New("no password configured")
	}
	return append(profile.Password(nil), g.password...), nil
}

// typeAMasters names the Type A master keys (docs/PROTOCOL.md §6.2).
var typeAMasters = []string{
	"typea-auth-enc", "typea-auth-mac",
	"typea-update-enc", "typea-update-mac",
	"typea-admin-enc", "typea-admin-mac",
}

// demoKeys makes the demo operator's Type A master keys in memory, random
// for each run: the demo cards are made with them and the gate
// authenticates the cards with them. Nothing is written to disk.
func demoKeys() (*keys.Store, error) {
	st := keys.NewStore()
	b := make([]byte, 16)
	defer clear(b)
	for _, name := range typeAMasters {
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
