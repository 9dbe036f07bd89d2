package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/jsonlog"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// withAudit points the audit log of the commands that keep one at a file
// of the test, by the environment defaults, and returns its path.
func withAudit(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	t.Setenv(envOperator, "OP-TEST")
	t.Setenv(envAudit, path)
	return path
}

// readAudit returns the records of an audit log.
func readAudit(t *testing.T, path string) []auditRecord {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []auditRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r auditRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

// TestAuditRecordsEveryOperation: personalize, password unblock and typed
// write each append a record (operator, time, host, reader, CUID, AP,
// operation, outcome) for success and for failure; no password, key or
// user ID is in the log.
func TestAuditRecordsEveryOperation(t *testing.T) {
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.jsonl")
	const pw, newPW, wrongPW = "Kx7#pass", "Nw5#unbk", "Wr0ng#pw"
	// Every secret must be a string no timestamp or hex CUID can contain:
	// the log is searched for each of them whole.
	t.Setenv("FS_PW", pw)
	t.Setenv("FS_NEW", newPW)
	t.Setenv("FS_WRONG", wrongPW)
	data := filepath.Join(dir, "data.bin")
	require.NoError(t, os.WriteFile(data, []byte("record"), 0o600))
	aud := []string{"--operator", "OP-7", "--audit", log}
	steps := []struct {
		args    []string
		code    int
		op, ap  string
		outcome string
	}{
		{[]string{"personalize", "--type", "a", "--keys", kf, "--user-id", "SECRET-USER", "--password-env", "FS_PW"}, exitOK, "personalize", "A", outcomeSuccess},
		{[]string{"personalize", "--type", "a", "--keys", kf, "--user-id", "SECRET-USER", "--password-env", "FS_PW"}, exitOK, "personalize", "A", outcomeAlreadySealed},
		{[]string{"personalize", "--type", "a", "--keys", kf, "--user-id", "OTHER-USER", "--password-env", "FS_PW"}, exitFailure, "personalize", "A", outcomeFailure},
		{[]string{"password", "unblock", "--type", "a", "--keys", kf, "--new-env", "FS_NEW"}, exitOK, "password-unblock", "A", outcomeSuccess},
		{[]string{"personalize", "--type", "d", "--keys", kf, "--user-id", "SECRET-USER", "--password-env", "FS_PW"}, exitOK, "personalize", "D", outcomeSuccess},
		{[]string{"typed", "write", "--keys", kf, "--password-env", "FS_WRONG", "--data-file", data}, exitPassword, "typed-write", "D", outcomeFailure},
		{[]string{"typed", "write", "--keys", kf, "--password-env", "FS_PW", "--data-file", data}, exitOK, "typed-write", "D", outcomeSuccess},
		{[]string{"personalize", "--type", "c", "--user-id", "SECRET-USER"}, exitOK, "personalize", "C", outcomeSuccess},
	}
	for i, st := range steps {
		code, _, errOut := runCLI(t, src, append(st.args, aud...)...)
		require.Equal(t, st.code, code, "%q: %s", st.args, errOut)
		recs := readAudit(t, log)
		require.Len(t, recs, i+1, "one record per operation, written before the command returned")
		r := recs[i]
		assert.Equal(t, "OP-7", r.Operator)
		assert.Equal(t, st.op, r.Operation)
		assert.Equal(t, st.ap, r.AP)
		assert.Equal(t, st.outcome, r.Outcome, "%q", st.args)
		assert.Equal(t, "Mock 0", r.Reader)
		if !(st.op == "typed-write" && st.outcome == outcomeFailure) {
			// A Type D AP that could not be opened (wrong password) has
			// not reported its CUID to the command.
			assert.Len(t, r.CUID, 32, "%q", st.args)
		}
		assert.NotEmpty(t, r.Time)
		if st.outcome == outcomeFailure {
			assert.NotEmpty(t, r.Error)
		}
	}
	raw, err := os.ReadFile(log)
	require.NoError(t, err)
	for _, secret := range []string{pw, newPW, wrongPW, "SECRET-USER", "OTHER-USER"} {
		assert.NotContains(t, string(raw), secret)
	}
	fi, err := os.Stat(log)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// TestAuditRequired: without an operator ID or an audit file the commands
// that change a card stop with a usage error before the card is touched,
// unless --no-audit says that no log is kept. An audit file that is a
// symlink or writable by others is refused, with its remedy.
func TestAuditRequired(t *testing.T) {
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	dir := t.TempDir()
	data := filepath.Join(dir, "data.bin")
	require.NoError(t, os.WriteFile(data, []byte("record"), 0o600))
	t.Setenv(envOperator, "")
	t.Setenv(envAudit, "")
	log := filepath.Join(dir, "audit.jsonl")
	cmds := [][]string{
		{"personalize", "--type", "c", "--user-id", "U-1"},
		{"password", "unblock", "--type", "a", "--keys", kf},
		{"typed", "write", "--keys", kf, "--data-file", data},
		{"rekey", "--type", "a", "--to", "2", "--keys", kf},
	}
	for _, args := range cmds {
		for _, extra := range [][]string{
			nil,
			{"--audit", log},
			{"--operator", "OP-1"},
			{"--operator", "OP\n1", "--audit", log},
			{"--operator", "OP-1", "--audit", log, "--no-audit"},
		} {
			before := card.Stats().APDUs
			code, _, errOut := runCLI(t, src, append(args, extra...)...)
			assert.Equal(t, exitUsage, code, "%q %q: %s", args, extra, errOut)
			assert.Equal(t, before, card.Stats().APDUs, "%q %q: the card was touched", args, extra)
		}
	}
	_, err := os.Stat(log)
	assert.ErrorIs(t, err, os.ErrNotExist, "no log created by a refused command")

	// Untrusted audit files.
	target := filepath.Join(dir, "elsewhere")
	require.NoError(t, os.WriteFile(target, nil, 0o600))
	link := filepath.Join(dir, "link.jsonl")
	require.NoError(t, os.Symlink(target, link))
	open := filepath.Join(dir, "open.jsonl")
	require.NoError(t, os.WriteFile(open, nil, 0o600))
	require.NoError(t, os.Chmod(open, 0o666))
	for _, bad := range []string{link, open} {
		before := card.Stats().APDUs
		code, _, errOut := runCLI(t, src, "personalize", "--type", "c", "--user-id", "U-1", "--operator", "OP-1", "--audit", bad)
		assert.Equal(t, exitFailure, code, errOut)
		assert.Contains(t, errOut, "audit log")
		if bad == open {
			assert.Contains(t, errOut, "to fix it: chmod", "the remedy is printed")
		}
		assert.Equal(t, before, card.Stats().APDUs, "the card was not touched")
	}

	// --no-audit runs without a log.
	code, _, errOut := runCLI(t, src, "personalize", "--type", "c", "--user-id", "U-1", "--no-audit")
	assert.Equal(t, exitOK, code, errOut)
}

// syncProbe is an audit log file that reports, at each fsync, whether
// the command has printed anything yet, and can fail the fsync.
type syncProbe struct {
	*os.File
	out         *bytes.Buffer
	fail        bool
	quietAtSync []bool
}

func (p *syncProbe) Sync() error {
	p.quietAtSync = append(p.quietAtSync, p.out.Len() == 0)
	if p.fail {
		return errors.New("injected fsync failure")
	}
	return p.File.Sync()
}

// TestAuditSyncedBeforeSuccess: the record is fsynced before the command
// prints its success; when it cannot be written, the command fails (the
// card has changed, but the operation is not reported as done) and
// prints no success.
func TestAuditSyncedBeforeSuccess(t *testing.T) {
	for _, failSync := range []bool{false, true} {
		dir := t.TempDir()
		card := mockcard.MustNew(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "UNSET"}, Unsealed: true}))
		src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
		var out, errb bytes.Buffer
		probe := &syncProbe{out: &out, fail: failSync}
		ctx := context.WithValue(withSource(context.Background(), src), auditWrapKey{}, func(f *os.File) jsonlog.File {
			probe.File = f
			return probe
		})
		code := run(ctx, &cli{stdout: &out, stderr: &errb}, []string{"personalize", "--type", "c", "--user-id", "U-1",
			"--operator", "OP-1", "--audit", filepath.Join(dir, "audit.jsonl")})
		require.Len(t, probe.quietAtSync, 1, "one record, fsynced once")
		assert.True(t, probe.quietAtSync[0], "fsynced before any output")
		if failSync {
			assert.Equal(t, exitFailure, code)
			assert.Empty(t, out.String(), "no success reported")
			assert.Contains(t, errb.String(), "audit log")
			assert.Contains(t, errb.String(), "injected fsync failure")
		} else {
			assert.Equal(t, exitOK, code, errb.String())
			assert.Contains(t, out.String(), "personalized and sealed")
		}
	}
}
