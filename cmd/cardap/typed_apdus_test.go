package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
)

// personalizedD returns a card whose Type D AP (no password) holds user
// U-CLI and a small data record, a key file for it and its card source.
func personalizedD(t *testing.T) (*mockcard.Card, string, *mockSource) {
	t.Helper()
	kf := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, keystest.WriteFile(kf, 1))
	card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: keystest.Store(1)}, Unsealed: true}))
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	data := filepath.Join(t.TempDir(), "data.bin")
	require.NoError(t, os.WriteFile(data, []byte("evacuee record"), 0o600))
	code, _, errOut := runCLI(t, src, "personalize", "--type", "d", "--keys", kf, "--user-id", "U-CLI", "--data-file", data, "--no-audit")
	require.Equal(t, exitOK, code, errOut)
	return card, kf, src
}

// TestTypedWriteCapacityFirst: issue 11 §3.2, docs/PROTOCOL.md §7.4 step
// 2. With the size known (--capacity), data that cannot fit one slot is
// refused before any APDU, with the capacity error (exit 1, code
// "capacity"), whether the identity is replaced or kept from the card
// (the data alone is too large).
func TestTypedWriteCapacityFirst(t *testing.T) {
	card, kf, src := personalizedD(t)
	big := filepath.Join(t.TempDir(), "big.bin")
	require.NoError(t, os.WriteFile(big, make([]byte, 2000), 0o600)) // > 2048 - 58 with any identity
	for _, args := range [][]string{
		{"typed", "write", "--keys", kf, "--capacity", "4096", "--data-file", big, "--no-audit", "--json"},
		{"typed", "write", "--keys", kf, "--capacity", "4096", "--data-file", big, "--user-id", "U-2", "--no-audit", "--json"},
		{"personalize", "--type", "d", "--keys", kf, "--capacity", "4096", "--data-file", big, "--user-id", "U-2", "--no-audit", "--json"},
	} {
		card.ResetStats()
		code, out, errOut := runCLI(t, src, args...)
		require.Equal(t, exitFailure, code, "%q: %s%s", args, out, errOut)
		var je jsonError
		require.NoError(t, json.Unmarshal([]byte(out), &je), out)
		assert.Equal(t, "capacity", je.Code, "%q", args)
		assert.Zero(t, card.Stats().APDUs, "%q: refused before any APDU", args)
	}
	// Without --capacity the card's FCP gives the size: refused after
	// the read, before anything is written.
	code, out, _ := runCLI(t, src, "typed", "write", "--keys", kf, "--data-file", big, "--no-audit", "--json")
	require.Equal(t, exitFailure, code)
	assert.Contains(t, out, `"code":"capacity"`)
	// A size that fits passes the early check.
	small := filepath.Join(t.TempDir(), "small.bin")
	require.NoError(t, os.WriteFile(small, make([]byte, 1900), 0o600))
	code, _, errOut := runCLI(t, src, "typed", "write", "--keys", kf, "--capacity", "4096", "--data-file", small, "--no-audit")
	require.Equal(t, exitOK, code, errOut)
}

// TestTypedWriteAPDUs: issue 11 §3.3. typed write reads the slots once
// (typed.AP.Update): SELECT AP, GET CHALLENGE, MUTUAL AUTHENTICATE, SELECT
// EF, the heads of both slots (the small envelope fits a head), the key
// switch (SELECT AP, GET CHALLENGE, MUTUAL AUTHENTICATE), SELECT EF and one
// UPDATE BINARY: 11 APDUs, where reading and writing separately took 14.
func TestTypedWriteAPDUs(t *testing.T) {
	_, kf, src := personalizedD(t)
	data := filepath.Join(t.TempDir(), "data.bin")
	require.NoError(t, os.WriteFile(data, []byte("updated record"), 0o600))
	code, out, errOut := runCLI(t, src, "typed", "write", "--keys", kf, "--data-file", data, "--no-audit", "--json")
	require.Equal(t, exitOK, code, errOut)
	var j identityJSON
	require.NoError(t, json.Unmarshal([]byte(out), &j))
	assert.Equal(t, 11, j.APDUs)
	assert.Equal(t, "U-CLI", j.UserID, "the identity is kept")
	code, out, errOut = runCLI(t, src, "typed", "read", "--keys", kf, "--json")
	require.Equal(t, exitOK, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &j))
	assert.Equal(t, []byte("updated record"), j.Data)
	assert.Equal(t, "U-CLI", j.UserID)
}
