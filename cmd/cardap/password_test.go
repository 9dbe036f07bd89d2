package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typed"
)

// TestPasswordCommandTypeD changes and unblocks the password of a Type D
// AP through the CLI and checks the card against each new value.
func TestPasswordCommandTypeD(t *testing.T) {
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	t.Setenv("FS_PW", "Kx7#pass")
	withAudit(t)
	code, _, errOut := runCLI(t, src, "personalize", "--type", "d", "--keys", kf, "--user-id", "U-D", "--password-env", "FS_PW")
	require.Equal(t, exitOK, code, errOut)

	code, out, errOut := runWithStdin(t, src, "Kx7#pass\n1357\n", "password", "change", "--type", "d", "--keys", kf, "--stdin")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "password changed (Type D")
	openWith := func(pw string) error {
		_, err := typed.Open(context.Background(), card, typed.Config{Keys: keystest.Store(1), Password: profile.PasswordAfterAuth}, profile.Password(pw))
		return err
	}
	require.NoError(t, openWith("1357"))

	// A wrong current password spends a try and changes nothing.
	code, _, errOut = runWithStdin(t, src, "0000\n2468\n", "password", "change", "--type", "d", "--keys", kf, "--stdin")
	assert.Equal(t, exitPassword, code)
	assert.Contains(t, errOut, "wrong password, 2 tries left")
	left, err := card.PINTriesLeft(profile.DefaultAID(profile.TypeD), 0x81)
	require.NoError(t, err)
	assert.Equal(t, 2, left)

	code, out, errOut = runWithStdin(t, src, "8642\n", "password", "unblock", "--type", "d", "--keys", kf, "--stdin")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "unblocked and set")
	require.NoError(t, openWith("8642"))
	left, err = card.PINTriesLeft(profile.DefaultAID(profile.TypeD), 0x81)
	require.NoError(t, err)
	assert.Equal(t, 3, left)
}
