//go:build unix

package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/revocation"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another user")
	}
}

// `revocation publish --new-key FILE` creates the signing key exclusively,
// mode 0600, never following a symlink and never reusing a file: a file
// pre-created 0666 by another user in a shared folder, a planted symlink
// and an existing key are all refused, and none of them is changed.
func TestRevocationNewKeyIsCreatedExclusively(t *testing.T) {
	old := syscall.Umask(0) // the mode must not depend on the umask
	defer syscall.Umask(old)

	t.Run("new file", func(t *testing.T) {
		dir := privateDir(t)
		key := filepath.Join(dir, "feed.key")
		code, out, errs := runCardap(t, "revocation", "publish", "--new-key", key)
		require.Equal(t, exitOK, code, errs)
		assert.Contains(t, out, "public key ")
		fi, err := os.Lstat(key)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		st := fi.Sys().(*syscall.Stat_t)
		assert.Equal(t, uint32(os.Geteuid()), st.Uid)

		// An existing key is never silently replaced.
		before, _ := os.ReadFile(key)
		code, _, errs = runCardap(t, "revocation", "publish", "--new-key", key)
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, errs, "already exists")
		after, _ := os.ReadFile(key)
		assert.Equal(t, before, after)
	})

	t.Run("file pre-created 0666 by another user in a shared folder", func(t *testing.T) {
		needRoot(t)
		shared := filepath.Join(privateDir(t), "shared")
		require.NoError(t, os.Mkdir(shared, 0o755))
		require.NoError(t, os.Chmod(shared, 0o777|os.ModeSticky))
		key := filepath.Join(shared, "feed.key")
		require.NoError(t, os.WriteFile(key, nil, 0o666))
		require.NoError(t, os.Chmod(key, 0o666))
		require.NoError(t, os.Chown(key, 65534, 65534))
		code, out, errs := runCardap(t, "revocation", "publish", "--new-key", key)
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, errs, "already exists")
		assert.NotContains(t, out, "public key")
		data, err := os.ReadFile(key)
		require.NoError(t, err)
		assert.Empty(t, data, "the seed was not written into the other user's file")
	})

	t.Run("planted symlink", func(t *testing.T) {
		dir := privateDir(t)
		target := filepath.Join(dir, "victim")
		require.NoError(t, os.WriteFile(target, []byte("root's file\n"), 0o644))
		key := filepath.Join(dir, "feed.key")
		require.NoError(t, os.Symlink(target, key))
		code, _, errs := runCardap(t, "revocation", "publish", "--new-key", key)
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, errs, "already exists")
		data, err := os.ReadFile(target)
		require.NoError(t, err)
		assert.Equal(t, "root's file\n", string(data), "the symlink's target is untouched")

		// A dangling symlink is not followed either: nothing is created.
		dangling := filepath.Join(dir, "dangling.key")
		nowhere := filepath.Join(dir, "created-by-root")
		require.NoError(t, os.Symlink(nowhere, dangling))
		code, _, _ = runCardap(t, "revocation", "publish", "--new-key", dangling)
		assert.Equal(t, exitFailure, code)
		assert.NoFileExists(t, nowhere)
	})
}

// `--key` checks the signing seed's file as `--keys` does: a seed readable
// by others, a symlink or a FIFO is refused, and the CLI prints the fix.
func TestRevocationPublishKeyFileIsChecked(t *testing.T) {
	dir := t.TempDir()
	master := filepath.Join(dir, "master.csv")
	require.NoError(t, os.WriteFile(master, []byte(cliMaster()), 0o644))
	key := filepath.Join(dir, "feed.key")
	code, _, errs := runCardap(t, "revocation", "publish", "--new-key", key)
	require.Equal(t, exitOK, code, errs)

	require.NoError(t, os.Chmod(key, 0o644))
	code, _, errs = runCardap(t, "revocation", "publish", "--master", master, "--out", filepath.Join(dir, "feed"), "--key", key)
	assert.Equal(t, exitFailure, code, "an untrusted file exits 1 whichever flag named it")
	assert.Contains(t, errs, "accessible by group or others")
	assert.Contains(t, errs, "to fix it: chmod 600 "+key)
	assert.NoDirExists(t, filepath.Join(dir, "feed"))

	require.NoError(t, os.Chmod(key, 0o600))
	link := filepath.Join(dir, "link.key")
	require.NoError(t, os.Symlink(key, link))
	code, _, errs = runCardap(t, "revocation", "publish", "--master", master, "--out", filepath.Join(dir, "feed"), "--key", link)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "symbolic link")

	code, _, errs = runCardap(t, "revocation", "publish", "--master", master, "--out", filepath.Join(dir, "feed"), "--key", key)
	assert.Equal(t, exitOK, code, errs)
}

// `--pubkey VALUE` is inline hex only: a file planted in the working
// directory under the real key's hex no longer replaces the trust anchor.
// A key in a file takes --pubkey-file.
func TestRevocationPubkeyIsInlineOnly(t *testing.T) {
	dir := t.TempDir()
	master := filepath.Join(dir, "master.csv")
	require.NoError(t, os.WriteFile(master, []byte(cliMaster()), 0o644))
	key, feed := filepath.Join(dir, "feed.key"), filepath.Join(dir, "feed")
	code, out, errs := runCardap(t, "revocation", "publish", "--new-key", key, "--json")
	require.Equal(t, exitOK, code, errs)
	var kp map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &kp))
	pub := kp["public_key"]
	code, _, errs = runCardap(t, "revocation", "publish", "--master", master, "--out", feed, "--key", key)
	require.Equal(t, exitOK, code, errs)

	// The attacker's key, planted in the working directory under the
	// name of the real key's hex.
	evil, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	work := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(work, pub), []byte(hex.EncodeToString(evil)+"\n"), 0o644))
	t.Chdir(work)

	store := filepath.Join(dir, "store")
	code, out, errs = runCardap(t, "revocation", "sync", "--store", store, "--from", feed, "--pubkey", pub)
	require.Equal(t, exitOK, code, "the inline key is used, not the planted file: %s", errs)
	assert.Contains(t, out, "synced from sequence 0 to 1")

	// A file name given to --pubkey is not read.
	require.NoError(t, os.WriteFile(filepath.Join(work, "pub.hex"), []byte(pub+"\n"), 0o644))
	code, _, errs = runCardap(t, "revocation", "sync", "--store", store, "--from", feed, "--pubkey", "pub.hex")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "want 64 hex digits")

	// --pubkey-file reads it, checked: a world-writable file is refused.
	code, out, errs = runCardap(t, "revocation", "sync", "--store", store, "--from", feed, "--pubkey-file", filepath.Join(work, "pub.hex"))
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "up to date")
	require.NoError(t, os.Chmod(filepath.Join(work, "pub.hex"), 0o666))
	code, _, errs = runCardap(t, "revocation", "sync", "--store", store, "--from", feed, "--pubkey-file", filepath.Join(work, "pub.hex"))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "writable by others")
	assert.Contains(t, errs, "to fix it: chmod o-w")

	code, _, _ = runCardap(t, "revocation", "sync", "--store", store, "--from", feed, "--pubkey", pub, "--pubkey-file", filepath.Join(work, "pub.hex"))
	assert.Equal(t, exitUsage, code)
}

// --by and --why refuse control characters with a usage error; `status`
// and `check` escape control characters read from the journal, so a store
// holding forged lines (written before this check) prints safely.
func TestRevocationOperatorTextIsPlain(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	id := "ffeeddccbbaa99887766554433221100"
	for _, bad := range []string{"desk\n2026-11-28T00:00:00Z unstop cuid:ffeeddccbbaa99887766554433221100 by sup: ok", "desk\x1b[2J", "desk\u009b31m", "desk\r"} {
		for _, args := range [][]string{
			{"revocation", "stop", "--store", store, "--by", bad, id},
			{"revocation", "stop", "--store", store, "--by", "desk", "--why", bad, id},
			{"revocation", "unstop", "--store", store, "--by", bad, id},
		} {
			code, _, errs := runCardap(t, args...)
			assert.Equal(t, exitUsage, code, "%q", args)
			assert.Contains(t, errs, "control characters")
		}
	}
	_, err := os.Stat(store)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing written")

	// An old store whose journal holds forged text (a fake audit line and
	// terminal escapes) prints it escaped.
	s, err := revocation.Open(store, revocation.Options{RefreshInterval: -1})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	forgedBy := "desk\n2026-11-28T00:00:00Z unstop cuid:ffeeddccbbaa99887766554433221100 by sup"
	forgedWhy := "\x1b]0;owned\x07\x1b[2J"
	line := `{"op":"stop","key":"cuid:` + id + `","at":"2026-11-28T00:00:00Z","by":` + jsonString(t, forgedBy) + `,"why":` + jsonString(t, forgedWhy) + `,"reason":"lost"}`
	require.NoError(t, os.WriteFile(filepath.Join(store, "local-stops.log"), []byte(journalLine(line)), 0o644))

	code, out, errs := runCardap(t, "revocation", "status", "--store", store, "--audit")
	assert.Equal(t, exitRevoked, code, errs) // never synced
	assertPrintable(t, out)
	assert.Contains(t, out, "NEVER SYNCED: checks fail closed")
	assert.Contains(t, out, `by desk\n2026-11-28T00:00:00Z unstop`)
	assert.Contains(t, out, `\x1b]0;owned\a\x1b[2J`)
	assert.NotContains(t, out, "\n2026-11-28T00:00:00Z unstop", "no forged audit line: %s", out)

	code, out, _ = runCardap(t, "revocation", "check", "--store", store, id)
	assert.Equal(t, exitRevoked, code)
	assertPrintable(t, out)
	assert.Contains(t, out, `by desk\n2026`)
}

// Read paths never create a store: check and status on a mistyped path
// fail instead of reading an empty store.
func TestRevocationReadPathsNeverCreateAStore(t *testing.T) {
	typo := filepath.Join(t.TempDir(), "stroe")
	for _, args := range [][]string{
		{"revocation", "check", "--store", typo, "00112233445566778899aabbccddeeff"},
		{"revocation", "status", "--store", typo},
	} {
		code, _, errs := runCardap(t, args...)
		assert.Equal(t, exitFailure, code, "%v", args)
		assert.Contains(t, errs, "no store at this path")
		assert.NoDirExists(t, typo)
	}
}

// privateDir is a temporary directory of mode 0700 whatever the umask.
func privateDir(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	return dir
}

func assertPrintable(t *testing.T, out string) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && unicode.IsControl(r) {
			t.Fatalf("output holds control character %U: %q", r, out)
		}
	}
}

func jsonString(t *testing.T, s string) string {
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return string(b)
}

// journalLine frames a JSON record as a local-stop journal line (CRC-32C
// of the JSON in hex, a space, the JSON, a newline), as an old version
// wrote it.
func journalLine(j string) string {
	return crc32c(j) + " " + j + "\n"
}

func crc32c(s string) string {
	return fmt.Sprintf("%08x", crc32.Checksum([]byte(s), crc32.MakeTable(crc32.Castagnoli)))
}

// The files a revocation command trusts without a signature (the master
// list publish signs, a list imported unsigned, the CRL issuer's
// certificate) are checked like every trusted file: a FIFO is refused at
// once instead of hanging the command, and a world-writable file is
// refused with the fix.
func TestRevocationTrustedInputsAreChecked(t *testing.T) {
	dir := privateDir(t)
	master := filepath.Join(dir, "master.csv")
	require.NoError(t, os.WriteFile(master, []byte(cliMaster()), 0o644))
	key := filepath.Join(dir, "feed.key")
	code, _, errs := runCardap(t, "revocation", "publish", "--new-key", key)
	require.Equal(t, exitOK, code, errs)
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	open := filepath.Join(dir, "open.csv")
	require.NoError(t, os.WriteFile(open, []byte(cliMaster()), 0o600))
	require.NoError(t, os.Chmod(open, 0o666))
	store := filepath.Join(dir, "store")
	for _, bad := range []struct{ path, problem string }{{fifo, "not a regular file"}, {open, "writable by others"}} {
		for _, args := range [][]string{
			{"revocation", "publish", "--master", bad.path, "--out", filepath.Join(dir, "feed"), "--key", key},
			{"revocation", "sync", "--store", store, "--import", bad.path},
			{"revocation", "sync", "--store", store, "--import", master, "--format", "crl", "--crl-issuer", bad.path},
		} {
			code, out, _ := runCardap(t, append(args, "--json")...)
			assert.Equal(t, exitFailure, code, "%q", args)
			e := assertJSONError(t, out, "untrusted_file", exitFailure, args)
			assert.Contains(t, e["error"], bad.problem, "%q", args)
		}
	}
	assert.NoDirExists(t, filepath.Join(dir, "feed"))

	// A CRL issuer certificate is read bounded, whatever the file's size.
	big := filepath.Join(dir, "big.pem")
	require.NoError(t, os.WriteFile(big, make([]byte, maxCertFile+1), 0o600))
	code, out, _ := runCardap(t, "revocation", "sync", "--store", store, "--import", master, "--format", "crl", "--crl-issuer", big, "--json")
	assert.Equal(t, exitFailure, code)
	e := assertJSONError(t, out, "failure", exitFailure)
	assert.Contains(t, e["error"], "larger than")
}
