package main

import (
	"encoding/json"
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
