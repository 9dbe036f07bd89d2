package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/internal/testsupport/pkcs11test"
	"github.com/mynacard/freespace/keys/keystest"
)

// TestTokenKeysThroughPCSC: the operator imports its key file into the
// token (`cardap keys import`), the demo card is served to a vpcd slot of
// a real pcscd, and `cardap typea read --keys pkcs11:...` reads it with
// the card keys diversified inside SoftHSM2.
func TestTokenKeysThroughPCSC(t *testing.T) {
	tok := pkcs11test.Get(t)
	slot := pcsctest.Acquire(t)
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.json")
	require.NoError(t, keystest.WriteFile(kf, 1))
	uri := tok.URI("")
	code, _, errs := runCardap(t, "keys", "import", "--keys", uri, "--from", kf, "--operator", "alice", "--witness", "bob", "--no-audit")
	if code != exitOK {
		// Another test of this process imported the same keystest keys.
		require.Contains(t, errs, "already exists", errs)
	}
	startServe(t, "--vpcd", slot.Addr, "--state", filepath.Join(dir, "card.json"), "--user-id", "HSM-CLI", "--keys", kf)
	pcsctest.WaitPresent(t, slot)
	t.Setenv("FS_HSM_PW", demoPassword)
	code, out, errs := runCLI(t, nil, "typea", "read", "--reader", slot.ReaderName, "--keys", uri, "--password-env", "FS_HSM_PW", "--json")
	require.Equal(t, exitOK, code, errs)
	var got struct {
		UserID string `json:"user_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "HSM-CLI", got.UserID)
	assert.NotContains(t, out+errs, tok.PIN)
}
