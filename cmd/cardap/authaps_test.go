package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testkeys"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// runWithStdin is runCLI with stdin.
func runWithStdin(t *testing.T, src cardSource, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx := context.WithValue(withSource(context.Background(), src), stdinKey{}, strings.NewReader(stdin))
	code := run(ctx, &cli{stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

func freshABCD(t *testing.T) (*mockcard.Card, string) {
	t.Helper()
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.json")
	require.NoError(t, testkeys.WriteFile(kf, 1))
	st := testkeys.Store(1)
	pw := &mockcard.APPassword{Value: mockcard.Secret("0000")}
	card := mockcard.MustNew(
		mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st}, Password: pw, Unsealed: true}),
		mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "UNSET"}, Unsealed: true}),
		mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}, Password: pw, Unsealed: true}),
	)
	return card, kf
}

func TestPersonalizeAndReadCommands(t *testing.T) {
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	t.Setenv("FS_PW", "Kx7#pass")

	code, out, errOut := runCLI(t, src, "personalize", "--type", "a", "--keys", kf, "--user-id", "U-CLI", "--attr", "role=staff", "--password-env", "FS_PW")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "personalized and sealed")
	code, out, _ = runCLI(t, src, "personalize", "--type", "a", "--keys", kf, "--user-id", "U-CLI", "--attr", "role=staff", "--password-env", "FS_PW")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "already sealed")

	code, out, errOut = runCLI(t, src, "typea", "read", "--keys", kf, "--password-env", "FS_PW", "--all")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "U-CLI")
	assert.Contains(t, out, "staff")
	assert.NotContains(t, out+errOut, "Kx7#pass")

	code, out, errOut = runCLI(t, src, "typea", "read", "--keys", kf, "--password-env", "FS_PW", "--json")
	require.Equal(t, exitOK, code, errOut)
	var j identityJSON
	require.NoError(t, json.Unmarshal([]byte(out), &j))
	assert.Equal(t, "U-CLI", j.UserID)
	assert.Equal(t, 6, j.APDUs)

	// Wrong password: failure exit code, the tries left in the message.
	t.Setenv("FS_BAD", "Wrong#Pw")
	code, _, errOut = runCLI(t, src, "typea", "read", "--keys", kf, "--password-env", "FS_BAD")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "2 tries left")
	assert.NotContains(t, errOut, "Wrong#Pw")

	// Password status, change (stdin), unblock.
	code, out, errOut = runCLI(t, src, "password", "status", "--type", "a", "--keys", kf)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "2 tries left")
	code, out, errOut = runWithStdin(t, src, "Kx7#pass\n1357\n", "password", "change", "--type", "a", "--keys", kf, "--stdin")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "password changed")
	code, _, errOut = runWithStdin(t, src, "1357\n", "typea", "read", "--keys", kf, "--stdin")
	require.Equal(t, exitOK, code, errOut)
	code, out, errOut = runWithStdin(t, src, "8642\n", "password", "unblock", "--type", "a", "--keys", kf, "--stdin")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "unblocked and set")
	res, err := typea.Read(context.Background(), card, typea.Config{Keys: testkeys.Store(1)}, typea.Password("8642"), typea.VerifyOptions{})
	require.NoError(t, err)
	assert.Equal(t, "U-CLI", res.Identity.UserID)

	// Type C and Type D.
	code, _, errOut = runCLI(t, src, "personalize", "--type", "c", "--user-id", "U-CLI")
	require.Equal(t, exitOK, code, errOut)
	data := filepath.Join(t.TempDir(), "data.bin")
	require.NoError(t, os.WriteFile(data, []byte("evacuee record"), 0o600))
	code, _, errOut = runCLI(t, src, "personalize", "--type", "d", "--keys", kf, "--user-id", "U-CLI", "--data-file", data, "--password-env", "FS_PW")
	require.Equal(t, exitOK, code, errOut)
	code, out, errOut = runCLI(t, src, "typed", "read", "--keys", kf, "--password-env", "FS_PW", "--json")
	require.Equal(t, exitOK, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &j))
	assert.Equal(t, []byte("evacuee record"), j.Data)
	require.NoError(t, os.WriteFile(data, []byte("updated record"), 0o600))
	code, _, errOut = runCLI(t, src, "typed", "write", "--keys", kf, "--password-env", "FS_PW", "--data-file", data)
	require.Equal(t, exitOK, code, errOut)
	outFile := filepath.Join(t.TempDir(), "out.bin")
	code, out, errOut = runCLI(t, src, "typed", "read", "--keys", kf, "--password-env", "FS_PW", "--out", outFile)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "U-CLI")
	got, err := os.ReadFile(outFile)
	require.NoError(t, err)
	assert.Equal(t, "updated record", string(got))
	code, out, errOut = runCLI(t, src, "password", "status", "--type", "d", "--keys", kf, "--json")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, `"remaining":3`)
}

func TestAuthCommandsUsage(t *testing.T) {
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	for _, args := range [][]string{
		{"personalize", "--type", "x", "--user-id", "U"},
		{"personalize", "--type", "a", "--user-id", ""},
		{"typea"},
		{"typea", "read", "--keys", kf},
		{"typed", "write", "--keys", kf},
		{"password"},
		{"password", "change", "--keys", kf},
	} {
		code, _, _ := runCLI(t, src, args...)
		assert.Equal(t, exitUsage, code, "%q", args)
	}
	code, _, errOut := runCLI(t, src, "typea", "read", "--password-mode", "none")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "--keys")
	// A key file readable by others is refused.
	require.NoError(t, os.Chmod(kf, 0o644))
	code, _, errOut = runCLI(t, src, "typea", "read", "--keys", kf, "--password-mode", "none")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "mode")
}

func TestMockServeCardCarriesAllTypes(t *testing.T) {
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.json")
	require.NoError(t, testkeys.WriteFile(kf, 1))
	state := filepath.Join(dir, "card.json")
	card, origin, err := mockCard(context.Background(), state, "DEMO-7", kf)
	require.NoError(t, err)
	assert.Contains(t, origin, "Type A, C and D")
	loaded, origin, err := mockCard(context.Background(), state, "ignored", "")
	require.NoError(t, err)
	assert.Contains(t, origin, "loaded from")
	for _, c := range []*mockcard.Card{card, loaded} {
		src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: c}}}
		t.Setenv("FS_PW", demoPassword)
		for _, args := range [][]string{
			{"typea", "read", "--keys", kf, "--password-env", "FS_PW"},
			{"typec", "read"},
			{"typed", "read", "--keys", kf, "--password-env", "FS_PW"},
		} {
			code, out, errOut := runCLI(t, src, args...)
			require.Equal(t, exitOK, code, "%q: %s", args, errOut)
			assert.Contains(t, out, "DEMO-7", "%q", args)
		}
	}
}
