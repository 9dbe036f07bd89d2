package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// sealedSet1Card is a card with sealed Type A and D APs of key set 1,
// and a key file holding card-key sets 1..sets.
func sealedSet1Card(t *testing.T, sets int) (*mockcard.Card, string) {
	t.Helper()
	ctx := context.Background()
	kf := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, keystest.WriteFileKeySets(kf, 1, sets))
	st := keystest.Store(1)
	card := mockcard.MustNew(
		mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st}, Unsealed: true}),
		mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}, Unsealed: true}),
	)
	req := personalize.Request{Identity: profile.Identity{UserID: "U-REKEY"}}
	_, err := personalize.TypeA(ctx, card, typea.Config{Keys: st}, req)
	require.NoError(t, err)
	_, err = personalize.TypeD(ctx, card, typed.Config{Keys: st}, req)
	require.NoError(t, err)
	return card, kf
}

// TestRekeyCommand: cardap rekey moves Type A and D APs to key set 2,
// reports it (text and one JSON line), records it in the audit log, and
// run again reports already-done; the reads then go under set 2.
func TestRekeyCommand(t *testing.T) {
	card, kf := sealedSet1Card(t, 2)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	audit := withAudit(t)

	code, out, errOut := runCLI(t, src, "rekey", "--type", "a", "--to", "2", "--keys", kf)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "key set 1 -> 2 (8 APDUs)")
	code, out, errOut = runCLI(t, src, "rekey", "--type", "d", "--to", "2", "--keys", kf, "--json")
	require.Equal(t, exitOK, code, errOut)
	var j rekeyJSON
	require.NoError(t, json.Unmarshal([]byte(out), &j))
	assert.Equal(t, rekeyJSON{Reader: "Mock 0", Type: "D", CUID: j.CUID, From: 1, To: 2, APDUs: 8}, j)
	assert.False(t, j.CUID.IsZero())
	code, out, errOut = runCLI(t, src, "rekey", "--type", "d", "--to", "2", "--keys", kf, "--json")
	require.Equal(t, exitOK, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &j))
	assert.True(t, j.AlreadyDone)

	for _, aid := range []profile.AID{profile.DefaultAID(profile.TypeA), profile.DefaultAID(profile.TypeD)} {
		v, staged, err := card.KeySet(aid)
		require.NoError(t, err)
		assert.Equal(t, []int{2, 0}, []int{v, staged})
	}
	code, out, errOut = runCLI(t, src, "typea", "read", "--keys", kf, "--password-mode", "none")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "U-REKEY")

	recs := readAudit(t, audit)
	require.Len(t, recs, 3)
	for i, want := range []string{outcomeSuccess, outcomeSuccess, outcomeAlreadyDone} {
		assert.Equal(t, "rekey", recs[i].Operation)
		assert.Equal(t, want, recs[i].Outcome)
		assert.NotEmpty(t, recs[i].CUID)
	}
}

// TestRekeyCommandErrors: usage errors exit 2 before the card is
// touched; a set the key file lacks and a version not newer than the
// card's exit 1 with their codes and remedies.
func TestRekeyCommandErrors(t *testing.T) {
	card, kf := sealedSet1Card(t, 2)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	withAudit(t)
	card.ResetStats()
	for _, args := range [][]string{
		{"rekey", "--type", "a", "--keys", kf},
		{"rekey", "--type", "a", "--to", "256", "--keys", kf},
		{"rekey", "--type", "c", "--to", "2", "--keys", kf},
		{"rekey", "--type", "a", "--to", "2"},
	} {
		code, _, errOut := runCLI(t, src, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errOut)
	}
	assert.Zero(t, card.Stats().APDUs)

	code, out, _ := runCLI(t, src, "rekey", "--type", "a", "--to", "3", "--keys", kf, "--json")
	assert.Equal(t, exitFailure, code)
	var je jsonError
	require.NoError(t, json.Unmarshal([]byte(out), &je))
	assert.Equal(t, "key_set_refused", je.Code, "the key file lacks set 3")
	assert.Contains(t, je.Error, "card-key set 3")
	assert.Contains(t, je.Remedy, "key set 3")

	code, _, errOut := runCLI(t, src, "rekey", "--type", "a", "--to", "2", "--keys", kf)
	require.Equal(t, exitOK, code, errOut)
	code, out, _ = runCLI(t, src, "rekey", "--type", "a", "--to", "1", "--keys", kf, "--json")
	assert.Equal(t, exitFailure, code)
	require.NoError(t, json.Unmarshal([]byte(out), &je))
	assert.Equal(t, "key_set_not_newer", je.Code)
	assert.NotEmpty(t, je.Remedy)
}

// TestKeySetErrorClasses: a refused key set is key_set_refused, with a
// rekey remedy when it is retired or unaccepted and the keys to add when
// the key source lacks them.
func TestKeySetErrorClasses(t *testing.T) {
	aid := profile.DefaultAID(profile.TypeA)
	for _, tc := range []struct {
		err    error
		code   string
		remedy string
	}{
		{&profile.KeySetError{AID: aid, Version: 1, Reason: profile.KeySetRetired}, "key_set_refused", "cardap rekey"},
		{&profile.KeySetError{AID: aid, Version: 4, Reason: profile.KeySetNotAccepted}, "key_set_refused", "cardap rekey"},
		{&profile.KeySetError{AID: aid, Version: 2, Reason: profile.KeySetIncomplete, Missing: []string{"typea-auth-mac v2"}, Err: keys.ErrKeyNotFound},
			"key_set_refused", "add typea-auth-mac v2"},
	} {
		je := newJSONError(fmt.Errorf("typea: read: %w", tc.err))
		assert.Equal(t, tc.code, je.Code)
		assert.Equal(t, exitFailure, je.Exit)
		assert.Contains(t, je.Remedy, tc.remedy)
	}
}

// TestPersonalizeKeySet: personalize leaves the AP with the newest key
// set of --keys (rekeying a card loaded with set 1), or the one
// --key-set names, and says so.
func TestPersonalizeKeySet(t *testing.T) {
	card, _ := freshABCD(t)
	kf := filepath.Join(t.TempDir(), "keys2.json")
	require.NoError(t, keystest.WriteFileKeySets(kf, 1, 2))
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	withAudit(t)
	code, out, errOut := runCLI(t, src, "personalize", "--type", "a", "--keys", kf, "--user-id", "U-KS")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "rekeyed to key set 2, personalized and sealed")
	code, out, errOut = runCLI(t, src, "personalize", "--type", "d", "--keys", kf, "--user-id", "U-KS", "--key-set", "1", "--json")
	require.Equal(t, exitOK, code, errOut)
	var j struct {
		KeySet  int  `json:"key_set"`
		Rekeyed bool `json:"rekeyed"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &j))
	assert.Equal(t, 1, j.KeySet)
	assert.False(t, j.Rekeyed)
	code, _, _ = runCLI(t, src, "personalize", "--type", "c", "--user-id", "U-KS", "--key-set", "2")
	assert.Equal(t, exitUsage, code)
}

// TestReadRetiredKeySet: typea read and typed read with --min-key-set 2
// refuse a card of set 1 (key_set_refused, the reason and the rekey
// remedy, nothing but the SELECT sent) and read it once rekeyed,
// reporting key_set.
func TestReadRetiredKeySet(t *testing.T) {
	card, kf := sealedSet1Card(t, 2)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	withAudit(t)
	reads := map[string][]string{
		"a": {"typea", "read", "--keys", kf, "--password-mode", "none", "--min-key-set", "2", "--json"},
		"d": {"typed", "read", "--keys", kf, "--min-key-set", "2", "--json"},
	}
	for typ, args := range reads {
		card.ResetStats()
		code, out, _ := runCLI(t, src, args...)
		assert.Equal(t, exitFailure, code, typ)
		var je jsonError
		require.NoError(t, json.Unmarshal([]byte(out), &je), out)
		assert.Equal(t, "key_set_refused", je.Code, typ)
		assert.Contains(t, je.Error, "card-key set 1")
		assert.Contains(t, je.Error, "retired")
		assert.Contains(t, je.Remedy, "cardap rekey")
		assert.Equal(t, 1, card.Stats().APDUs, "%s: only the SELECT", typ)

		code, _, errOut := runCLI(t, src, "rekey", "--type", typ, "--to", "2", "--keys", kf)
		require.Equal(t, exitOK, code, errOut)
		code, out, errOut = runCLI(t, src, args...)
		require.Equal(t, exitOK, code, errOut)
		var j identityJSON
		require.NoError(t, json.Unmarshal([]byte(out), &j))
		assert.Equal(t, 2, j.KeySet, typ)
		assert.Equal(t, "U-REKEY", j.UserID)
	}
	code, _, errOut := runCLI(t, src, "typea", "read", "--keys", kf, "--password-mode", "none", "--min-key-set", "300")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "key set: minimum version 300")
}
