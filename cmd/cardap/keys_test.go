package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pkcs11test"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
)

// keyHexes returns the hex of every key of a key file (to check that none
// reaches output or the audit log).
func keyHexes(t *testing.T, path string) []string {
	t.Helper()
	st, err := keys.LoadFile(path)
	require.NoError(t, err)
	var out []string
	for _, ref := range st.Refs() {
		k, _ := st.Key(context.Background(), ref)
		out = append(out, strings.ToUpper(hex.EncodeToString(k.Bytes())))
	}
	return out
}

// TestKeysFileCeremonies: generate into a new key file, list, rotate a
// key set to n+1, import under two-person control; every operation is in
// the audit log, no key bytes in output or log; env: is refused.
func TestKeysFileCeremonies(t *testing.T) {
	dir := t.TempDir()
	kf, audit := filepath.Join(dir, "keys.json"), filepath.Join(dir, "audit.log")
	aud := []string{"--operator", "alice", "--audit", audit}
	run := func(args ...string) (int, string, string) {
		return runCardap(t, append(args, aud...)...)
	}

	code, out, errs := run("keys", "generate", "--keys", kf, "--name", "typea-auth-enc,typea-auth-mac", "--json")
	require.Equal(t, exitOK, code, errs)
	var gen struct {
		Backend   string       `json:"backend"`
		Generated []createdKey `json:"generated"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &gen))
	assert.Equal(t, []createdKey{{"typea-auth-enc", 1, "aes", ""}, {"typea-auth-mac", 1, "aes", ""}}, gen.Generated)
	fi, err := os.Stat(kf)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	code, _, errs = run("keys", "generate", "--keys", kf, "--name", "typed-data", "--len", "32")
	require.Equal(t, exitOK, code, errs)
	code, _, errs = run("keys", "generate", "--keys", kf, "--name", "typea-auth-enc", "--version", "1")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "already")

	code, out, errs = run("keys", "rotate", "--keys", kf, "--prefix", "typea-")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "rotated typea-auth-enc v2")
	assert.Contains(t, out, "rotated typea-auth-mac v2")

	code, out, errs = run("keys", "list", "--keys", kf, "--json")
	require.Equal(t, exitOK, code, errs)
	var list struct {
		Keys []keyInfo `json:"keys"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	var refs []string
	for _, k := range list.Keys {
		refs = append(refs, k.Name+" "+k.Alg)
		if k.Name == "typed-data" {
			assert.Equal(t, 32, k.Len)
		}
	}
	assert.Equal(t, []string{"typea-auth-enc aes", "typea-auth-enc aes", "typea-auth-mac aes", "typea-auth-mac aes", "typed-data aes"}, refs)

	// Import: two-person control.
	src := filepath.Join(dir, "src.json")
	require.NoError(t, keystest.WriteFile(src, 1))
	dst := filepath.Join(dir, "dst.json")
	code, _, errs = run("keys", "import", "--keys", dst, "--from", src)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "--witness")
	code, _, _ = run("keys", "import", "--keys", dst, "--from", src, "--witness", "alice")
	assert.Equal(t, exitUsage, code)
	code, out, errs = run("keys", "import", "--keys", dst, "--from", src, "--name", "typed-auth-enc,typed-auth-mac", "--witness", "bob")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "imported typed-auth-enc v1")
	back, err := keys.LoadFile(dst)
	require.NoError(t, err)
	assert.Equal(t, []keys.KeyRef{{Name: "typed-auth-enc", Version: 1}, {Name: "typed-auth-mac", Version: 1}}, back.Refs())

	code, _, _ = run("keys", "list", "--keys", "env:")
	assert.Equal(t, exitUsage, code)
	code, _, _ = runCardap(t, "keys", "list", "--keys", kf)
	assert.Equal(t, exitUsage, code, "the audit flags are required")

	recs := readAudit(t, audit)
	var ops []string
	for _, r := range recs {
		ops = append(ops, r.Operation+" "+r.Key+" "+r.Outcome+" "+r.Witness)
		assert.Equal(t, "alice", r.Operator)
	}
	assert.Contains(t, ops, "keys-generate typea-auth-enc v1 success ")
	assert.Contains(t, ops, "keys-rotate typea-auth-mac v2 success ")
	assert.Contains(t, ops, "keys-import typed-auth-enc v1 success bob")
	assert.Contains(t, ops, "keys-generate typea-auth-enc v1 failure ")
	assert.Contains(t, ops, "keys-list  success ")
	logText, _ := os.ReadFile(audit)
	for _, hx := range append(keyHexes(t, kf), keyHexes(t, src)...) {
		assert.NotContains(t, strings.ToUpper(string(logText)), hx)
		assert.NotContains(t, strings.ToUpper(out), hx)
	}
}

// TestKeysTokenCeremonies: the same ceremonies on SoftHSM2: import a key
// file under two-person control, generate inside, rotate a set, list
// (every master not extractable), the feed key pair generated inside and
// its public key exported; the imported masters then serve --keys
// pkcs11: (a Type A card read through the mock's transport is covered in
// keys/pkcs11's end-to-end test); a wrong PIN exits 5.
func TestKeysTokenCeremonies(t *testing.T) {
	tok := pkcs11test.Get(t)
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.log")
	aud := []string{"--operator", "alice", "--audit", audit}
	cardap := func(args ...string) (int, string, string) {
		return runCardap(t, append(args, aud...)...)
	}
	uri := tok.URI("")
	rnd := make([]byte, 4)
	_, _ = rand.Read(rnd)
	pre := "t" + hex.EncodeToString(rnd) + "-"
	src := filepath.Join(dir, "src.json")
	st := keys.NewStore()
	for _, n := range []string{"auth-enc", "auth-mac"} {
		k, err := keys.NewKey(keys.AES, []byte("0123456789abcdef"))
		require.NoError(t, err)
		require.NoError(t, st.Add(keys.KeyRef{Name: pre + n, Version: 1}, k))
	}
	require.NoError(t, st.WriteFile(src))

	code, out, errs := cardap("keys", "import", "--keys", uri, "--from", src, "--witness", "bob", "--json")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, `"imported"`)
	code, _, errs = cardap("keys", "generate", "--keys", uri, "--name", pre+"data", "--len", "32")
	require.Equal(t, exitOK, code, errs)
	code, out, errs = cardap("keys", "rotate", "--keys", uri, "--prefix", pre+"auth-")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "rotated "+pre+"auth-enc v2 (aes) in pkcs11:token="+tok.Label)

	code, out, errs = cardap("keys", "generate", "--keys", uri, "--name", pre+"feed", "--alg", "ed25519", "--json")
	require.Equal(t, exitOK, code, errs)
	var gen struct {
		Generated []createdKey `json:"generated"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &gen))
	require.Len(t, gen.Generated, 1)
	code, out, errs = cardap("keys", "export-public", "--key", tok.URI(pre+"feed"), "--json")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, gen.Generated[0].PublicKey)

	code, out, errs = cardap("keys", "list", "--keys", uri, "--json")
	require.Equal(t, exitOK, code, errs)
	var list struct {
		Keys []keyInfo `json:"keys"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	var mine []string
	for _, k := range list.Keys {
		if !strings.HasPrefix(k.Name, pre) {
			continue
		}
		mine = append(mine, k.Name+" "+k.Class)
		if k.Class != "public" {
			require.NotNil(t, k.Extractable)
			assert.False(t, *k.Extractable, k.Name)
		}
	}
	assert.Equal(t, []string{pre + "auth-enc secret", pre + "auth-enc secret", pre + "auth-mac secret", pre + "auth-mac secret",
		pre + "data secret", pre + "feed private", pre + "feed public"}, mine)

	// The token now serves --keys pkcs11: to the key-source code.
	p, err := openKeys(context.Background(), uri)
	require.NoError(t, err)
	c1, err := p.Diversify(context.Background(), keys.KeyRef{Name: pre + "auth-enc", Version: 1}, make([]byte, 16), []byte{0xF0, 0, 0, 0, 1})
	require.NoError(t, err)
	want, err := st.Diversify(context.Background(), keys.KeyRef{Name: pre + "auth-enc", Version: 1}, make([]byte, 16), []byte{0xF0, 0, 0, 0, 1})
	require.NoError(t, err)
	assert.Equal(t, want.Bytes(), c1.Bytes())
	_, err = p.Key(context.Background(), keys.KeyRef{Name: pre + "auth-enc", Version: 1})
	assert.Error(t, err, "no master key leaves the token")
	require.NoError(t, p.Close())

	// A wrong PIN: exit 5, code pin_refused, the PIN never printed.
	t.Setenv("CARDAP_TEST_WRONG_PIN", "not-"+tok.PIN)
	bad := strings.Replace(uri, "pin-source=env:"+pkcs11test.EnvPIN, "pin-source=env:CARDAP_TEST_WRONG_PIN", 1)
	code, out, _ = cardap("keys", "list", "--keys", bad, "--json")
	assert.Equal(t, exitPassword, code, out)
	assert.Contains(t, out, `"code":"pin_refused"`)
	assert.NotContains(t, out, tok.PIN)
	// No token with that label: exit 3.
	code, out, _ = cardap("keys", "list", "--keys", strings.Replace(uri, "token="+tok.Label, "token=absent", 1), "--json")
	assert.Equal(t, exitNoCard, code, out)
	assert.Contains(t, out, `"code":"no_token"`)
	// The PIN from standard input (pin-source=stdin).
	stdinURI := strings.Replace(uri, "pin-source=env:"+pkcs11test.EnvPIN, "pin-source=stdin", 1)
	var outb, errb bytes.Buffer
	ctx := context.WithValue(context.Background(), stdinKey{}, strings.NewReader(tok.PIN+"\n"))
	code = run(ctx, &cli{stdout: &outb, stderr: &errb}, append([]string{"keys", "list", "--keys", stdinURI, "--json"}, aud...))
	require.Equal(t, exitOK, code, errb.String())
	assert.Contains(t, outb.String(), pre+"auth-enc")
	// pin-value is refused: exit 2.
	code, _, _ = cardap("keys", "list", "--keys", uri+"&pin-value=1234")
	assert.Equal(t, exitUsage, code)

	logText, _ := os.ReadFile(audit)
	assert.NotContains(t, string(logText), tok.PIN)
	assert.NotContains(t, strings.ToUpper(string(logText)), strings.ToUpper("30313233343536373839616263646566"))
	n := 0
	for _, r := range readAudit(t, audit) {
		if r.Operation == "keys-import" {
			n++
			assert.Equal(t, "bob", r.Witness)
			assert.Equal(t, "pkcs11:token="+tok.Label, r.Backend)
		}
	}
	assert.Equal(t, 2, n)
}
