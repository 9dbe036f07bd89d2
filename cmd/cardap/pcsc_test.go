package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
)

// TestCommandsThroughPCSC serves the mock card with `cardap mock serve` to
// a vpcd slot of a real pcscd and runs readers, probe and typec read on it
// through PC/SC; then pulls the card (stops serving), checks the no-card
// exit code, and serves the saved card again.
func TestCommandsThroughPCSC(t *testing.T) {
	slot := pcsctest.Acquire(t)
	state := filepath.Join(t.TempDir(), "card.json")
	stop := startServe(t, "--vpcd", slot.Addr, "--state", state, "--user-id", "PCSC-CLI")
	pcsctest.WaitPresent(t, slot)

	code, out, stderr := runCLI(t, nil, "readers", "--json")
	require.Equal(t, exitOK, code, stderr)
	var rs struct{ Readers []readerInfo }
	require.NoError(t, json.Unmarshal([]byte(out), &rs))
	var found bool
	for _, r := range rs.Readers {
		if r.Name == slot.ReaderName {
			found = true
			assert.True(t, r.Present)
			assert.NotEmpty(t, r.ATR)
		}
	}
	assert.True(t, found, "slot %s listed in %s", slot, out)

	code, out, stderr = runCLI(t, nil, "probe", "--reader", slot.ReaderName)
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `Type C \(common card AP\)\s+\S+\s+present`, out)
	// The mock carries only the pre-installed APs it implements
	// (profile 2.1 §1.1).
	jpki := "absent"
	if mockcard.PreinstalledAPs()[0].Implemented() {
		jpki = "present"
	}
	assert.Regexp(t, `JPKI\s+D392F000260100000001\s+`+jpki, out)
	assert.Regexp(t, `Type A \(record AP\)\s+\S+\s+absent`, out)

	code, out, stderr = runCLI(t, nil, "typec", "read", "--reader", slot.ReaderName, "--json")
	require.Equal(t, exitOK, code, stderr)
	var first typecJSON
	require.NoError(t, json.Unmarshal([]byte(out), &first))
	assert.Equal(t, "PCSC-CLI", first.UserID)
	assert.Equal(t, slot.ReaderName, first.Reader)

	// The card leaves the reader.
	code, stderr = stop()
	require.Equal(t, exitOK, code, stderr)
	pcsctest.WaitAbsent(t, slot)
	code, _, stderr = runCLI(t, nil, "typec", "read", "--reader", slot.ReaderName)
	assert.Equal(t, exitNoCard, code, stderr)

	// And comes back: the same card, from its state file.
	startServe(t, "--vpcd", slot.Addr, "--state", state)
	pcsctest.WaitPresent(t, slot)
	code, out, stderr = runCLI(t, nil, "typec", "read", "--reader", slot.ReaderName, "--json")
	require.Equal(t, exitOK, code, stderr)
	var again typecJSON
	require.NoError(t, json.Unmarshal([]byte(out), &again))
	assert.Equal(t, first.CUID, again.CUID)
	assert.Equal(t, "PCSC-CLI", again.UserID)
}

// TestRekeyThroughPCSC serves a mock card with Type A and D APs of key
// set 1 through pcscd, rekeys both to set 2 with cardap rekey over
// PC/SC, and reads the Type A AP with a key file that holds set 2 only.
func TestRekeyThroughPCSC(t *testing.T) {
	slot := pcsctest.Acquire(t)
	dir := t.TempDir()
	set1, both, only2 := filepath.Join(dir, "set1.json"), filepath.Join(dir, "both.json"), filepath.Join(dir, "set2.json")
	require.NoError(t, keystest.WriteFileKeySets(set1, 1, 1))
	require.NoError(t, keystest.WriteFileKeySets(both, 1, 2))
	require.NoError(t, writeOnlySet(both, only2, 2))
	startServe(t, "--vpcd", slot.Addr, "--state", filepath.Join(dir, "card.json"), "--user-id", "PCSC-REKEY", "--keys", set1)
	pcsctest.WaitPresent(t, slot)

	for _, typ := range []string{"a", "d"} {
		code, out, stderr := runCLI(t, nil, "rekey", "--reader", slot.ReaderName, "--type", typ, "--to", "2", "--keys", both, "--no-audit", "--json")
		require.Equal(t, exitOK, code, stderr)
		var j rekeyJSON
		require.NoError(t, json.Unmarshal([]byte(out), &j))
		assert.Equal(t, 1, j.From)
		assert.Equal(t, 2, j.To)
		assert.Equal(t, 8, j.APDUs)
	}
	t.Setenv("FS_PW", demoPassword)
	code, out, stderr := runCLI(t, nil, "typea", "read", "--reader", slot.ReaderName, "--keys", only2, "--password-env", "FS_PW", "--json")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "PCSC-REKEY")
	code, _, stderr = runCLI(t, nil, "typea", "read", "--reader", slot.ReaderName, "--keys", set1, "--password-env", "FS_PW")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "card-key set 2")
}

// writeOnlySet copies the entries of version v of key file src to dst
// (mode 0600).
func writeOnlySet(src, dst string, v int) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var file struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return err
	}
	var keep []map[string]any
	for _, k := range file.Keys {
		if k["version"] == float64(v) || k["name"] == "typed-data" {
			keep = append(keep, k)
		}
	}
	file.Keys = keep
	out, err := json.Marshal(file)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, out, 0o600)
}

// TestConformanceThroughPCSC: `cardap conformance` passes every
// requirement, destructive ones included, on the demo card of `cardap
// mock serve` (Types A, C and D, sealed, with a password) through vpcd and
// a real pcscd.
func TestConformanceThroughPCSC(t *testing.T) {
	slot := pcsctest.Acquire(t)
	kf := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, keystest.WriteFile(kf, 1))
	startServe(t, "--vpcd", slot.Addr, "--keys", kf)
	pcsctest.WaitPresent(t, slot)
	for _, typ := range []string{"a", "c", "d"} {
		t.Setenv("FS_CONF_PW", demoPassword)
		code, out, stderr := runCLI(t, nil, "conformance", "--type", typ, "--reader", slot.ReaderName, "--keys", kf,
			"--password-env", "FS_CONF_PW", "--destructive", "--json")
		require.Equal(t, exitOK, code, "type %s: %s\n%s", typ, out, stderr)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var sum conformanceSummary
		require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &sum))
		assert.Zero(t, sum.Summary.Fail, typ)
		assert.Greater(t, sum.Summary.Pass, 20, typ)
		assert.True(t, sum.Summary.TestCard, typ)
	}
}

// TestSuitesThroughPCSC: the cipher suites other than the default reach a
// card through pcscd end to end: `cardap mock serve --keys env: --suite S`
// serves Type A and D APs with S-keys to a vpcd slot, and typea read,
// typed write and typed read with the same --suite go through PC/SC.
func TestSuitesThroughPCSC(t *testing.T) {
	slot := pcsctest.Acquire(t)
	for _, suite := range []string{"3des", "aes192", "aes256"} {
		t.Run(suite, func(t *testing.T) {
			setSuiteKeys(t, suite)
			stop := startServe(t, "--vpcd", slot.Addr, "--keys", "env:", "--suite", suite, "--user-id", "PCSC-"+suite)
			pcsctest.WaitPresent(t, slot)
			t.Setenv("FS_SUITE_PW", demoPassword)
			code, out, stderr := runCLI(t, nil, "typea", "read", "--reader", slot.ReaderName, "--keys", "env:", "--suite", suite, "--password-env", "FS_SUITE_PW")
			require.Equal(t, exitOK, code, stderr)
			assert.Contains(t, out, "PCSC-"+suite)
			data := filepath.Join(t.TempDir(), "data.bin")
			require.NoError(t, os.WriteFile(data, []byte("through pcscd "+suite), 0o600))
			code, _, stderr = runCLI(t, nil, "typed", "write", "--reader", slot.ReaderName, "--keys", "env:", "--suite", suite, "--password-env", "FS_SUITE_PW", "--data-file", data, "--no-audit")
			require.Equal(t, exitOK, code, stderr)
			code, out, stderr = runCLI(t, nil, "typed", "read", "--reader", slot.ReaderName, "--keys", "env:", "--suite", suite, "--password-env", "FS_SUITE_PW", "--json")
			require.Equal(t, exitOK, code, stderr)
			var j identityJSON
			require.NoError(t, json.Unmarshal([]byte(out), &j))
			assert.Equal(t, []byte("through pcscd "+suite), j.Data)
			code, stderr = stop()
			require.Equal(t, exitOK, code, stderr)
			pcsctest.WaitAbsent(t, slot)
		})
	}
}

// TestReadersDiagnoseThroughPCSC: `cardap readers --diagnose` on mock
// cards served through a real pcscd, one behind a reader with extended
// length and one without (mock serve --short-reader): protocol T=1 as
// pcscd negotiated it, extended length observed, the APs that answer.
func TestReadersDiagnoseThroughPCSC(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{{nil, "supported"}, {[]string{"--short-reader"}, "unsupported"}} {
		slot := pcsctest.Acquire(t)
		stop := startServe(t, append([]string{"--vpcd", slot.Addr, "--user-id", "DIAG"}, tc.args...)...)
		pcsctest.WaitPresent(t, slot)
		code, out, stderr := runCLI(t, nil, "readers", "--diagnose", "--reader", slot.ReaderName, "--json")
		require.Equal(t, exitOK, code, stderr)
		var got struct {
			Readers []struct {
				Protocol string `json:"protocol"`
				Extended string `json:"extended_length"`
				APs      []struct {
					Name    string `json:"name"`
					Present bool   `json:"present"`
				} `json:"aps"`
			} `json:"readers"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Len(t, got.Readers, 1)
		r := got.Readers[0]
		assert.Equal(t, "T=1", r.Protocol)
		assert.Equal(t, tc.want, r.Extended, "%v", tc.args)
		present := map[string]bool{}
		for _, a := range r.APs {
			present[a.Name] = a.Present
		}
		assert.True(t, present["JPKI"])
		assert.True(t, present["Type C (common card AP)"])
		assert.False(t, present["Type A (record AP)"])
		code, stderr = stop()
		require.Equal(t, exitOK, code, stderr)
		pcsctest.WaitAbsent(t, slot)
	}
}
