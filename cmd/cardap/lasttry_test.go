package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// TestLastTryWording: issue 11 §3.6. At the last try the CLI says "1 try
// left" (never "1 tries") and names the flag that spends it,
// --allow-last-try, as the remedy, never the Go option AllowLastTry; the
// try is not spent.
func TestLastTryWording(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U-1"},
		Keys: mockcard.APKeys{Masters: st}, Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
	a, err := typea.OpenUnauthenticated(ctx, card, typea.Config{Keys: st, Password: profile.PasswordAfterAuth})
	require.NoError(t, err)
	require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
	for range 2 {
		require.Error(t, a.Verify(ctx, profile.Password("0000"), typea.VerifyOptions{}))
	}
	kf := t.TempDir() + "/keys.json"
	require.NoError(t, keystest.WriteFile(kf, 1))
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	t.Setenv("FS_PW", "1234")
	t.Setenv("FS_NEW", "5678")

	code, out, errOut := runCLI(t, src, "password", "status", "--type", "a", "--keys", kf)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "1 try left")

	for _, args := range [][]string{
		{"typea", "read", "--keys", kf, "--password-env", "FS_PW"},
		{"password", "change", "--type", "a", "--keys", kf, "--old-env", "FS_PW", "--new-env", "FS_NEW"},
	} {
		code, out, errOut = runCLI(t, src, args...)
		assert.Equal(t, exitPassword, code, "%q", args)
		assert.Contains(t, errOut, "1 try left", "%q", args)
		assert.Contains(t, errOut, "cardap: to fix it: ", "%q", args)
		assert.Contains(t, errOut, "--allow-last-try", "%q", args)
		assert.NotContains(t, out+errOut, "AllowLastTry", "%q", args)
		assert.NotContains(t, out+errOut, "1 tries", "%q", args)

		code, out, _ = runCLI(t, src, append(args, "--json")...)
		assert.Equal(t, exitPassword, code)
		var je jsonError
		require.NoError(t, json.Unmarshal([]byte(out), &je), out)
		assert.Equal(t, "password_last_try", je.Code)
		assert.Contains(t, je.Remedy, "--allow-last-try")
	}
	left, err := card.PINTriesLeft(profile.DefaultAID(profile.TypeA), 0x81)
	require.NoError(t, err)
	assert.Equal(t, 1, left, "no try spent")
	code, _, errOut = runCLI(t, src, "typea", "read", "--keys", kf, "--password-env", "FS_PW", "--allow-last-try")
	require.Equal(t, exitOK, code, errOut)
}
