package typed_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/mynacard/freespace/typed"
)

// key256 returns 32 deterministic bytes for a test key name.
func key256(name string) []byte {
	s := sha256.Sum256([]byte("datakey test " + name))
	return s[:]
}

// aes256Store returns an operator store for the AES-256 suite: 32-byte
// masters for every Type D card key, "typed-data" v1..v3 and another
// operator key "other-data".
func aes256Store(t testing.TB) *keys.Store {
	st := keys.NewStore()
	add := func(name string, v int) {
		k, err := keys.NewKey(keys.AES, key256(fmt.Sprintf("%s v%d", name, v)))
		require.NoError(t, err)
		require.NoError(t, st.Add(keys.KeyRef{Name: name, Version: v}, k))
	}
	for _, role := range []string{"auth", "update", "admin"} {
		add("typed-"+role+"-enc", 1)
		add("typed-"+role+"-mac", 1)
	}
	for v := 1; v <= 3; v++ {
		add("typed-data", v)
	}
	add("other-data", 1)
	return st
}

// forge seals content under the per-card key the provider derives for
// name/version under label, with the given header format: what a card
// (or anyone holding that key) can write.
func forge(t testing.TB, p keys.Provider, name string, version uint32, format byte, label string, gen uint32, user string) []byte {
	t.Helper()
	ctx := context.Background()
	aid := profile.DefaultAID(profile.TypeD)
	k, err := keys.DiversifyFor(ctx, p, keys.KeyRef{Name: name, Version: int(version)}, label, fixedCUID[:], aid)
	require.NoError(t, err)
	defer k.Zero()
	pt, err := content(user, 20).MarshalBinary()
	require.NoError(t, err)
	env, err := typed.SealEnvelope(k.Bytes(), typed.Header{Format: format, KeyID: name, KeyVersion: version, Generation: gen},
		typed.Binding{CUID: fixedCUID, AID: aid, FID: profile.FIDData}, pt, newSeeded(9))
	require.NoError(t, err)
	return env
}

// putSlot writes env into slot 1 of the card's EF.Data (capacity 4096).
func putSlot(t testing.TB, card *mockcard.Card, slot int, env []byte) {
	t.Helper()
	aid := profile.DefaultAID(profile.TypeD)
	data, err := card.ReadEF(aid, profile.FIDData)
	require.NoError(t, err)
	copy(data[slot*2048:], env)
	require.NoError(t, card.WriteEF(aid, profile.FIDData, data))
}

// TestForgedDataKeyRefused is the attack of issue 10 §1: the card writes
// an envelope whose header names a key of its own choosing. Before the
// fix the terminal asked its key provider for whatever the header named:
// with the AES-256 suite a header naming "typed-auth-enc" (format 01)
// made the terminal derive exactly the card's own read key, so the card
// could forge "operator-encrypted" data; any other configured key and any
// older data key version were accepted too. Each is now refused with a
// *DataKeyError naming the key and version, never falling back to the
// older, genuine slot and never returning the forged content.
func TestForgedDataKeyRefused(t *testing.T) {
	ctx := context.Background()
	st := aes256Store(t)
	vars := []string{keys.EnvName(keys.KeyRef{Name: "typed-data", Version: 3}) + "=aes:" + hex.EncodeToString(key256("typed-data v3")),
		"FREESPACE_KEY_OPERATOR_SECRET_V1=aes:" + hex.EncodeToString(key256("operator-secret"))}
	for _, role := range []string{"auth", "update", "admin"} {
		for _, k := range []string{"typed-" + role + "-enc", "typed-" + role + "-mac"} {
			vars = append(vars, keys.EnvName(keys.KeyRef{Name: k, Version: 1})+"=aes:"+hex.EncodeToString(key256(k+" v1")))
		}
	}
	envOther := keys.Env{Environ: func() []string { return vars }}
	tests := []struct {
		name    string
		cfg     typed.Config
		env     func() []byte
		keyID   string
		version uint32
		problem typed.DataKeyProblem
	}{
		{"card's own read key (format 01, AES-256 suite)", typed.Config{},
			func() []byte {
				return forge(t, st, "typed-auth-enc", 1, typed.Format01, keys.DiversificationLabel, 9, "Forged")
			}, "typed-auth-enc", 1, typed.OtherKeyName},
		{"card's own read key (format 02)", typed.Config{},
			func() []byte {
				return forge(t, st, "typed-auth-enc", 1, typed.Format02, keys.DiversificationLabel, 9, "Forged")
			}, "typed-auth-enc", 1, typed.OtherKeyName},
		{"another key of the provider", typed.Config{},
			func() []byte { return forge(t, st, "other-data", 1, typed.Format02, keys.DataKeyLabel, 9, "Forged") },
			"other-data", 1, typed.OtherKeyName},
		{"any FREESPACE_KEY_* variable", typed.Config{Keys: envOther, DataKeyVersion: 3},
			func() []byte {
				return forge(t, envOther, "operator-secret", 1, typed.Format02, keys.DataKeyLabel, 9, "Forged")
			}, "operator-secret", 1, typed.OtherKeyName},
		{"retired version (minimum)", typed.Config{MinDataKeyVersion: 2, DataKeyVersion: 3},
			func() []byte { return forge(t, st, "typed-data", 1, typed.Format02, keys.DataKeyLabel, 9, "Leaked") },
			"typed-data", 1, typed.RetiredVersion},
		{"retired version (format 01)", typed.Config{MinDataKeyVersion: 2, DataKeyVersion: 3},
			func() []byte {
				return forge(t, st, "typed-data", 1, typed.Format01, keys.DiversificationLabel, 9, "Leaked")
			}, "typed-data", 1, typed.RetiredVersion},
		{"version outside the allow-list", typed.Config{DataKeyVersions: []int{1, 3}, DataKeyVersion: 3},
			func() []byte { return forge(t, st, "typed-data", 2, typed.Format02, keys.DataKeyLabel, 9, "Leaked") },
			"typed-data", 2, typed.RetiredVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := mockcard.MustNew(mockcard.WithRand(newSeeded(1)), mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID,
				Keys: mockcard.APKeys{Masters: st, Suite: "AES-256"}}))
			cfg := tt.cfg
			cfg.Suite = secure.AES256
			if cfg.Keys == nil {
				cfg.Keys = st
			}
			cfg.Rand = newSeeded(2)
			// The operator's genuine data in slot 0 (generation 1) ...
			putSlot(t, card, 0, forge(t, cfg.Keys, "typed-data", 3, typed.Format02, keys.DataKeyLabel, 1, "Genuine"))
			// ... and the card's envelope in slot 1, newer.
			forged := tt.env()
			putSlot(t, card, 1, forged)

			ap, err := typed.Open(ctx, card, cfg, nil)
			require.NoError(t, err)
			got, err := ap.Read(ctx)
			require.Error(t, err, "read %q", got.Identity.UserID)
			assert.ErrorIs(t, err, typed.ErrDataKeyRefused)
			var dk *typed.DataKeyError
			require.ErrorAs(t, err, &dk)
			assert.Equal(t, tt.keyID, dk.KeyID)
			assert.Equal(t, tt.version, dk.Version)
			assert.Equal(t, tt.problem, dk.Problem)
			assert.Equal(t, forged[2], dk.Format)
			msg := err.Error()
			assert.Contains(t, msg, fmt.Sprintf("%q version %d", tt.keyID, tt.version))
			for _, secret := range []string{"typed-auth-enc v1", "other-data v1", "typed-data v1", "typed-data v2", "typed-data v3", "operator-secret"} {
				assert.NotContains(t, strings.ToUpper(msg), strings.ToUpper(hex.EncodeToString(key256(secret)[:8])))
			}

			// Nor does a write trust it: the forged envelope is the
			// newest, so the write refuses to overwrite what it cannot
			// read unless told to.
			err = ap.Write(ctx, content("Next", 10), typed.WriteOptions{})
			assert.ErrorIs(t, err, typed.ErrUnreadableSlots)
			assert.ErrorIs(t, err, typed.ErrDataKeyRefused)
		})
	}
}

// TestDataKeyConfigRefused: a data key named like a card key, or a write
// version that reads would not accept, is a configuration error before
// any APDU.
func TestDataKeyConfigRefused(t *testing.T) {
	ctx := context.Background()
	st := aes256Store(t)
	card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st, Suite: "AES-256"}}))
	for _, cfg := range []typed.Config{
		{DataKey: "typed-auth-enc"},
		{DataKey: "typed-admin-mac"},
		{MinDataKeyVersion: 3, DataKeyVersion: 2},
		{DataKeyVersions: []int{2}, DataKeyVersion: 3},
		{DataKeyVersions: []int{1}, MinDataKeyVersion: 2},
		{DataKeyVersions: []int{0}},
		{MinDataKeyVersion: -1},
	} {
		cfg.Keys, cfg.Suite = st, secure.AES256
		card.ResetStats()
		_, err := typed.Open(ctx, card, cfg, nil)
		assert.ErrorIs(t, err, typed.ErrKey, "%+v", cfg)
		assert.Zero(t, card.Stats().APDUs)
	}
}

// TestFormat01ReadAndResealed: data written by a profile 1.0 terminal
// (format 01, data key derived under the card-key label) is still read
// under the configured name, and the next write seals format 02 under
// keys.DataKeyLabel; Rotate re-seals it too.
func TestFormat01ReadAndResealed(t *testing.T) {
	ctx := context.Background()
	st := aes256Store(t)
	card := mockcard.MustNew(mockcard.WithRand(newSeeded(1)), mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st, Suite: "AES-256"}}))
	putSlot(t, card, 0, forge(t, st, "typed-data", 3, typed.Format01, keys.DiversificationLabel, 4, "Legacy"))
	ap, err := typed.Open(ctx, card, typed.Config{Keys: st, Suite: secure.AES256, Rand: newSeeded(2)}, nil)
	require.NoError(t, err)
	got, err := ap.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Legacy", got.Identity.UserID)
	assert.Equal(t, typed.Format01, got.Header.Format)
	assert.Nil(t, got.Fallback)

	require.NoError(t, ap.Write(ctx, got.Content, typed.WriteOptions{}))
	data, err := card.ReadEF(profile.DefaultAID(profile.TypeD), profile.FIDData)
	require.NoError(t, err)
	assert.Equal(t, typed.Format02, data[2048+2], "re-sealed as format 02 in the other slot")
	got, err = ap.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, typed.Format02, got.Header.Format)
	assert.Equal(t, uint32(5), got.Header.Generation)
	assert.Equal(t, "Legacy", got.Identity.UserID)

	// The format 02 envelope opens under the data-key label only: the key
	// a format 01 reader would derive (card-key label) does not open it.
	aid := profile.DefaultAID(profile.TypeD)
	bind := typed.Binding{CUID: fixedCUID, AID: aid, FID: profile.FIDData}
	for label, ok := range map[string]bool{keys.DataKeyLabel: true, keys.DiversificationLabel: false} {
		k, err := keys.DiversifyFor(ctx, st, keys.KeyRef{Name: "typed-data", Version: 3}, label, fixedCUID[:], aid)
		require.NoError(t, err)
		_, _, err = typed.OpenEnvelope(k.Bytes(), bind, data[2048:])
		if ok {
			assert.NoError(t, err, label)
		} else {
			assert.ErrorIs(t, err, typed.ErrAuthentication, label)
		}
	}

	// Rotate re-seals a format 01 envelope as format 02 as well.
	card2 := mockcard.MustNew(mockcard.WithRand(newSeeded(1)), mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st, Suite: "AES-256"}}))
	putSlot(t, card2, 1, forge(t, st, "typed-data", 3, typed.Format01, keys.DiversificationLabel, 2, "Legacy"))
	ap2, err := typed.Open(ctx, card2, typed.Config{Keys: st, Suite: secure.AES256, Rand: newSeeded(2)}, nil)
	require.NoError(t, err)
	from, to, err := ap2.Rotate(ctx, typed.RotateOptions{})
	require.NoError(t, err)
	assert.Equal(t, [2]uint32{3, 3}, [2]uint32{from, to})
	got, err = ap2.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, typed.Format02, got.Header.Format)
	assert.Equal(t, 0, got.Slot)
}

// TestRotateFromRetired: a retired version is read by Rotate only, and
// only when it is listed; plain reads keep refusing it.
func TestRotateFromRetired(t *testing.T) {
	ctx := context.Background()
	st := aes256Store(t)
	card := mockcard.MustNew(mockcard.WithRand(newSeeded(1)), mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st, Suite: "AES-256"}}))
	putSlot(t, card, 0, forge(t, st, "typed-data", 1, typed.Format02, keys.DataKeyLabel, 1, "Old"))
	cfg := typed.Config{Keys: st, Suite: secure.AES256, MinDataKeyVersion: 3, Rand: newSeeded(2)}
	ap, err := typed.Open(ctx, card, cfg, nil)
	require.NoError(t, err)

	_, err = ap.Read(ctx)
	var dk *typed.DataKeyError
	require.ErrorAs(t, err, &dk)
	assert.Equal(t, typed.RetiredVersion, dk.Problem)
	_, _, err = ap.Rotate(ctx, typed.RotateOptions{})
	require.ErrorAs(t, err, &dk, "not listed: refused")
	_, _, err = ap.Rotate(ctx, typed.RotateOptions{From: []uint32{2}})
	require.ErrorAs(t, err, &dk, "another version listed: refused")

	from, to, err := ap.Rotate(ctx, typed.RotateOptions{From: []uint32{1, 2}})
	require.NoError(t, err)
	assert.Equal(t, [2]uint32{1, 3}, [2]uint32{from, to})
	got, err := ap.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Old", got.Identity.UserID)
	assert.Equal(t, uint32(3), got.Header.KeyVersion)
	assert.Equal(t, uint32(2), got.Header.Generation)
	assert.Nil(t, got.Fallback, "the retired slot is older: no fallback")
}
