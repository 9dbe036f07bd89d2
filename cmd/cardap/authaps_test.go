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

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// runWithStdin is runCLI with stdin.
func runWithStdin(t *testing.T, src cardSource, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx := context.WithValue(withSource(context.Background(), src), stdinKey{}, strings.NewReader(stdin))
	defer asSeparateProcess()()
	code := run(ctx, &cli{stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

func freshABCD(t *testing.T) (*mockcard.Card, string) {
	t.Helper()
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.json")
	require.NoError(t, keystest.WriteFile(kf, 1))
	st := keystest.Store(1)
	pw := &mockcard.APPassword{Value: profile.Password("0000")}
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
	withAudit(t)

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

	// Wrong password: the password exit code, the tries left in the
	// message and in the JSON error.
	t.Setenv("FS_BAD", "Wrong#Pw")
	code, _, errOut = runCLI(t, src, "typea", "read", "--keys", kf, "--password-env", "FS_BAD")
	assert.Equal(t, exitPassword, code)
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
	res, err := typea.Read(context.Background(), card, typea.Config{Password: profile.PasswordAfterAuth, Keys: keystest.Store(1)}, profile.Password("8642"))
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
	// A missing --keys is a usage error (exit 2) in every command that
	// needs it, as any other missing required flag.
	for _, args := range [][]string{
		{"typea", "read", "--password-mode", "none"},
		{"typed", "read"},
		{"typed", "write", "--user-id", "U"},
		{"password", "status", "--type", "a"},
		{"password", "unblock", "--type", "d"},
		{"personalize", "--type", "a", "--user-id", "U"},
		{"personalize", "--type", "d", "--user-id", "U"},
	} {
		code, out, errOut := runCLI(t, src, args...)
		assert.Equal(t, exitUsage, code, "%q", args)
		assert.Contains(t, errOut, "--keys", "%q", args)
		assert.Empty(t, out, "%q", args)
		code, out, _ = runCLI(t, src, append(args, "--json")...)
		assert.Equal(t, exitUsage, code, "%q --json", args)
		assert.JSONEq(t, `{"error":"--keys SPEC is required (the operator's master keys: a key file, env: or env:PREFIX)","code":"usage","exit":2}`, out, "%q --json", args)
	}
	var code int
	var errOut string
	// A key file readable by others is refused.
	require.NoError(t, os.Chmod(kf, 0o644))
	code, _, errOut = runCLI(t, src, "typea", "read", "--keys", kf, "--password-mode", "none")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "mode 0644")
	assert.Contains(t, errOut, "to fix it: chmod 600 "+kf, "the remedy beside the error")
	// A key file that is a symbolic link is refused (no remedy to print).
	link := filepath.Join(filepath.Dir(kf), "link.json")
	require.NoError(t, os.Chmod(kf, 0o600))
	require.NoError(t, os.Symlink(kf, link))
	code, _, errOut = runCLI(t, src, "typea", "read", "--keys", link, "--password-mode", "none")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "symbolic link")
}

func TestMockServeCardCarriesAllTypes(t *testing.T) {
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.json")
	require.NoError(t, keystest.WriteFile(kf, 1))
	state := filepath.Join(dir, "card.json")
	card, origin, err := mockCard(context.Background(), state, "DEMO-7", kf, nil, &mockcard.JPKI{})
	require.NoError(t, err)
	assert.Contains(t, origin, "Type A, C and D")
	assert.Contains(t, origin, "JPKI AP")
	loaded, origin, err := mockCard(context.Background(), state, "ignored", "", nil, nil)
	require.NoError(t, err)
	assert.Contains(t, origin, "loaded from")
	for _, c := range []*mockcard.Card{card, loaded} {
		// The JPKI AP (with its certificate) is saved and loaded too.
		cert, err := c.ReadEF(mockcard.JPKIAID(), mockcard.JPKIFIDAuthCert)
		require.NoError(t, err)
		assert.Equal(t, mockcard.MustLoadJPKITestPKI().CardAuth.DER, cert)
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

// TestReadCommandsQuoteCardText: an attribute value is any UTF-8 the card
// holds, control characters included. The text output of every read
// command quotes it, so a hostile card cannot send escape sequences to
// the operator's terminal; the JSON output keeps the value exact.
func TestReadCommandsQuoteCardText(t *testing.T) {
	const hostile = "\x1b]0;pwned\x07\x1b[2J"
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.json")
	require.NoError(t, keystest.WriteFile(kf, 1))
	st := keystest.Store(1)
	id := profile.Identity{UserID: "U-ESC", Attributes: []profile.Attribute{{Name: "note", Value: hostile}}}
	card := mockcard.MustNew(
		mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st}}),
		mockcard.WithTypeC(id),
	)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	for _, args := range [][]string{
		{"typea", "read", "--keys", kf, "--password-mode", "none", "--all"},
		{"typec", "read"},
	} {
		code, out, errOut := runCLI(t, src, args...)
		require.Equal(t, exitOK, code, "%q: %s", args, errOut)
		assert.Contains(t, out, "U-ESC", "%q", args)
		assert.NotContains(t, out, "\x1b", "%q: raw escape in the output", args)
		assert.NotContains(t, out, "\x07", "%q", args)
		assert.Contains(t, out, `"\x1b]0;pwned\a\x1b[2J"`, "%q", args)

		code, out, errOut = runCLI(t, src, append(args, "--json")...)
		require.Equal(t, exitOK, code, "%q: %s", args, errOut)
		var got struct {
			Attributes []profile.Attribute `json:"attributes"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Len(t, got.Attributes, 1)
		assert.Equal(t, hostile, got.Attributes[0].Value)
	}
}

// TestUsageErrorsAsJSON: with --json, a usage error found after the flags
// were parsed (a missing or conflicting flag, a bad identity, a missing
// secret) is one JSON object on stdout with exit 2, like every other
// error, not text on stderr with nothing on stdout. Checked before the
// card is touched: no APDU reaches it.
func TestUsageErrorsAsJSON(t *testing.T) {
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	t.Setenv("FS_PW", "Kx7#pass")
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"typea", "read", "--keys", kf}, "the AP has a password"},
		{[]string{"typea", "read", "--keys", kf, "--stdin"}, "no line left"},
		{[]string{"typed", "write", "--keys", kf}, "needs --data-file"},
		{[]string{"typed", "write", "--keys", kf, "--password-env", "FS_PW", "--user-id", "has space"}, "printable ASCII"},
		{[]string{"typed", "write", "--keys", kf, "--user-id", "U", "--expires", "2030-01-01"}, "not YYYYMMDD"},
		{[]string{"typed", "write", "--keys", kf, "--user-id", "U", "--attr", "a=1", "--attr", "a=2"}, `attribute "a" twice`},
		{[]string{"typed", "write", "--keys", kf, "--data-file", filepath.Join(t.TempDir(), "missing")}, "no such file"},
		{[]string{"password", "status", "--type", "c", "--keys", kf}, "--type must be a or d"},
		{[]string{"password", "change", "--type", "a", "--keys", kf}, "change needs the current and the new password"},
		{[]string{"personalize", "--type", "x", "--user-id", "U"}, "--type must be a, c or d"},
		{[]string{"personalize", "--type", "c", "--user-id", ""}, "user ID"},
		{[]string{"personalize", "--type", "c", "--user-id", "U", "--data-file", "x"}, "--data-file is for Type D"},
		{[]string{"personalize", "--type", "c", "--user-id", "U", "--password-env", "FS_PW"}, "Type C AP has no password"},
	} {
		before := card.Stats().APDUs
		code, out, errOut := runCLI(t, src, append(tt.args, "--json")...)
		assert.Equal(t, exitUsage, code, "%q", tt.args)
		var got struct {
			Error string `json:"error"`
			Exit  int    `json:"exit"`
		}
		if assert.NoError(t, json.Unmarshal([]byte(out), &got), "%q: stdout %q, stderr %q", tt.args, out, errOut) {
			assert.Contains(t, got.Error, tt.msg, "%q", tt.args)
			assert.Equal(t, exitUsage, got.Exit, "%q", tt.args)
		}
		assert.Equal(t, before, card.Stats().APDUs, "%q: the card was used before the usage error", tt.args)

		code, out, errOut = runCLI(t, src, tt.args...)
		assert.Equal(t, exitUsage, code, "%q", tt.args)
		assert.Empty(t, out, "%q", tt.args)
		assert.Contains(t, errOut, "cardap: ", "%q", tt.args)
		assert.Contains(t, errOut, tt.msg, "%q", tt.args)
	}
}
