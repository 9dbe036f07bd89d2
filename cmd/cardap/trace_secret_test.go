package main

import (
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestTraceMasksPasswords: --trace logs every APDU, but never a password:
// not when it is sent in plain (a Type A AP verifying before mutual
// authentication), not in CHANGE REFERENCE DATA, and not in any error.
func TestTraceMasksPasswords(t *testing.T) {
	const pw, newPW = "Kx7#pass", "Zq9!word"
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.json")
	require.NoError(t, keystest.WriteFile(kf, 1))
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U-TRACE"},
		Keys: mockcard.APKeys{Masters: keystest.Store(1)}, Password: &mockcard.APPassword{Value: profile.Password(pw), BeforeAuth: true}}))
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	leaks := func(s string) []string {
		var found []string
		for _, p := range []string{pw, newPW} {
			for _, form := range []string{p, hex.EncodeToString([]byte(p)), strings.ToUpper(hex.EncodeToString([]byte(p)))} {
				if strings.Contains(s, form) {
					found = append(found, form)
				}
			}
		}
		return found
	}
	t.Setenv("FS_PW", pw)
	t.Setenv("FS_NEW", newPW)
	t.Setenv("FS_BAD", "Wr0ng#pw")
	for _, args := range [][]string{
		{"typea", "read", "--keys", kf, "--password-mode", "before-auth", "--password-env", "FS_PW", "--trace"},
		{"typea", "read", "--keys", kf, "--password-env", "FS_BAD", "--trace"},
		{"password", "change", "--type", "a", "--keys", kf, "--password-mode", "before-auth", "--old-env", "FS_PW", "--new-env", "FS_NEW", "--trace"},
		{"typea", "read", "--keys", kf, "--password-mode", "before-auth", "--password-env", "FS_NEW", "--trace", "--json"},
	} {
		code, out, errOut := runCLI(t, src, args...)
		if strings.Contains(strings.Join(args, " "), "FS_BAD") {
			assert.Equal(t, exitPassword, code, "%q: wrong password", args)
			assert.Contains(t, errOut, "wrong", "%q", args)
		} else {
			require.Equal(t, exitOK, code, "%q: %s", args, errOut)
		}
		assert.Contains(t, errOut, "msg=apdu", "%q: traced", args)
		assert.Empty(t, leaks(out+errOut), "%q: password in the output:\n%s\n%s", args, out, errOut)
	}
}
