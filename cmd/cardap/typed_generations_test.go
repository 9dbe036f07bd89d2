package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/profile"
)

// TestTypeDRollbackFlags: `cardap typed read` reports a fallback to the
// older slot on stderr, refuses it with --require-newest, and with
// --generations DIR refuses a card whose data went back to an older
// generation than this terminal read before.
func TestTypeDRollbackFlags(t *testing.T) {
	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	t.Setenv("FS_PW", "Kx7#pass")
	aid := profile.DefaultAID(profile.TypeD)
	code, _, errOut := runCLI(t, src, "personalize", "--no-audit", "--type", "d", "--keys", kf, "--user-id", "RIGHTS-1", "--password-env", "FS_PW")
	require.Equal(t, exitOK, code, errOut)
	old, err := card.ReadEF(aid, profile.FIDData) // generation 1
	require.NoError(t, err)
	code, _, errOut = runCLI(t, src, "typed", "write", "--no-audit", "--keys", kf, "--password-env", "FS_PW", "--user-id", "RIGHTS-2")
	require.Equal(t, exitOK, code, errOut)

	state := filepath.Join(t.TempDir(), "state")
	require.NoError(t, os.Mkdir(state, 0o700))
	code, out, errOut := runCLI(t, src, "typed", "read", "--keys", kf, "--password-env", "FS_PW", "--generations", state)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "RIGHTS-2")
	assert.Empty(t, errOut)

	// The card goes back to its first image: refused by this terminal.
	require.NoError(t, card.WriteEF(aid, profile.FIDData, old))
	code, _, errOut = runCLI(t, src, "typed", "read", "--keys", kf, "--password-env", "FS_PW", "--generations", state)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "generation 1")
	assert.Contains(t, errOut, "generation 2")

	// The newest slot damaged: a warning, or a refusal with --require-newest.
	code, _, errOut = runCLI(t, src, "typed", "write", "--no-audit", "--keys", kf, "--password-env", "FS_PW", "--user-id", "RIGHTS-3")
	require.Equal(t, exitOK, code, errOut)
	ef, err := card.ReadEF(aid, profile.FIDData)
	require.NoError(t, err)
	ef[len(ef)/2+50] ^= 1 // generation 2, in slot 1
	require.NoError(t, card.WriteEF(aid, profile.FIDData, ef))
	code, out, errOut = runCLI(t, src, "typed", "read", "--keys", kf, "--password-env", "FS_PW")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "RIGHTS-1")
	assert.Contains(t, errOut, "warning: read generation 1 from slot 0: slot 1 (generation 2) skipped")
	code, _, errOut = runCLI(t, src, "typed", "read", "--keys", kf, "--password-env", "FS_PW", "--require-newest")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "refused")

	// A state directory others may write is refused, with the remedy,
	// before the card is touched.
	open := filepath.Join(t.TempDir(), "open")
	require.NoError(t, os.Mkdir(open, 0o700))
	require.NoError(t, os.Chmod(open, 0o777))
	card.ResetStats()
	code, _, errOut = runCLI(t, src, "typed", "read", "--keys", kf, "--password-env", "FS_PW", "--generations", open)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "writable by others")
	assert.Contains(t, errOut, "to fix it: chmod o-w "+open)
	assert.Zero(t, card.Stats().APDUs)
}
