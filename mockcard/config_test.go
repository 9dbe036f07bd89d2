package mockcard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/mynacard/freespace/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidation(t *testing.T) {
	ok := testSpec()
	mod := func(f func(*APSpec)) APSpec {
		s := testSpec()
		f(&s)
		return s
	}
	require.NoError(t, func() error { _, err := New(WithAP(ok)); return err }())
	bad := map[string]APSpec{
		"short AID":         mod(func(s *APSpec) { s.AID = profile.AID{1, 2} }),
		"EF twice":          mod(func(s *APSpec) { s.EFs = append(s.EFs, s.EFs[0]) }),
		"SFI twice":         mod(func(s *APSpec) { s.EFs[1].SFI = 1 }),
		"SFI 31":            mod(func(s *APSpec) { s.EFs[0].SFI = 31 }),
		"FID 3F00":          mod(func(s *APSpec) { s.EFs[0].FID = 0x3F00 }),
		"data over max":     mod(func(s *APSpec) { s.EFs[0].MaxSize = 2 }),
		"max size 0":        mod(func(s *APSpec) { s.EFs[0].MaxSize = 0 }),
		"max size 32768":    mod(func(s *APSpec) { s.EFs[0].MaxSize = 32768 }),
		"records over max":  mod(func(s *APSpec) { s.EFs[1].MaxRecords = 1 }),
		"record too long":   mod(func(s *APSpec) { s.EFs[1].MaxRecordLen = 1 }),
		"record len 256":    mod(func(s *APSpec) { s.EFs[1].MaxRecordLen = 256 }),
		"data in record EF": mod(func(s *APSpec) { s.EFs[1].Data = []byte{1} }),
		"records in binary": mod(func(s *APSpec) { s.EFs[0].Records = [][]byte{{1}} }),
		"unknown kind":      mod(func(s *APSpec) { s.EFs[0].Kind = 9 }),
		"PIN ref 0":         mod(func(s *APSpec) { s.PINs[0].Ref = 0 }),
		"PIN twice":         mod(func(s *APSpec) { s.PINs = append(s.PINs, s.PINs[0]) }),
		"PIN too short":     mod(func(s *APSpec) { s.PINs[0].Value = profile.Password("12") }),
		"PIN tries 16":      mod(func(s *APSpec) { s.PINs[0].MaxTries = 16 }),
		"PIN bounds":        mod(func(s *APSpec) { s.PINs[0].MinLen, s.PINs[0].MaxLen = 8, 6 }),
		"key ref 0":         mod(func(s *APSpec) { s.Keys[0].Ref = 0 }),
		"key twice":         mod(func(s *APSpec) { s.Keys = append(s.Keys, s.Keys[0]) }),
		"key suite":         mod(func(s *APSpec) { s.Keys[0].Suite = "RC4" }),
		"key length":        mod(func(s *APSpec) { s.Keys[0].Suite = "AES-256" /* 16-byte keys */ }),
		"key failures 16":   mod(func(s *APSpec) { s.Keys[0].MaxFailures = 16 }),
		"missing PIN ref":   mod(func(s *APSpec) { s.EFs[0].Operational.Read = PINVerified(0x99) }),
		"missing key ref":   mod(func(s *APSpec) { s.EFs[0].Operational.Read = Authenticated(0x99) }),
		"missing seal key":  mod(func(s *APSpec) { s.Seal = Authenticated(0x99) }),
		"missing admin key": mod(func(s *APSpec) { s.AdminKey = 0x99 }),
		"lifecycle":         mod(func(s *APSpec) { s.Lifecycle = 7 }),
	}
	for name, spec := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := New(WithAP(spec))
			assert.ErrorIs(t, err, ErrConfig)
		})
	}
	_, err := New(WithAP(ok), WithAP(ok))
	assert.ErrorIs(t, err, ErrConfig)
	_, err = New(WithGetResponse(-1))
	assert.ErrorIs(t, err, ErrConfig)
	assert.Panics(t, func() { MustNew(WithGetResponse(-1)) })
}

func TestSecretsRedacted(t *testing.T) {
	spec := testSpec()
	spec.EFs = nil // EF data is not secret (and EF 0103 holds every byte value)
	for _, v := range []any{spec, &spec, spec.PINs[0], spec.Keys[0], spec.Keys[0].Enc} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q"} {
			s := fmt.Sprintf(verb, v)
			assert.NotContains(t, s, "1234", verb)
			assert.NotContains(t, s, "31323334", verb)
			assert.NotContains(t, s, "000102030405060708090a0b0c0d0e0f", verb)
			assert.NotContains(t, s, "000102030405060708090A0B0C0D0E0F", verb)
			assert.NotContains(t, s, "[0 1 2 3", verb)
		}
	}
	assert.Equal(t, "[redacted]", profile.Password("x").String())
}

// A configuration dumped as JSON or logged through slog (text or JSON
// handler) carries no PIN or key bytes either.
func TestSecretsRedactedInJSONAndSlog(t *testing.T) {
	spec := testSpec()
	spec.EFs = nil
	b, err := json.Marshal(spec)
	require.NoError(t, err)
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("card", "spec", spec, "pin", spec.PINs[0].Value, "key", spec.Keys[0])
	}
	for _, out := range []string{string(b), buf.String()} {
		for _, secret := range []string{"1234", "MTIzNA==", "AAECAwQFBgcICQoLDA0ODw==", "31323334", "000102030405060708090a0b0c0d0e0f"} {
			assert.NotContains(t, out, secret)
		}
		assert.Contains(t, out, "[redacted]")
	}
}

func TestConditionString(t *testing.T) {
	assert.Equal(t, "always", Always().String())
	assert.Equal(t, "never", AllOf(Never(), PINVerified(1)).String())
	assert.Equal(t, "pin(81)+key(01)+sm", AllOf(PINVerified(0x81), Authenticated(1), SecureMessaging()).String())
	assert.Equal(t, "operational", Operational.String())
	assert.Equal(t, "records", LinearRecords.String())
	assert.Equal(t, "tear", FaultTear.String())
}

func TestEnumNames(t *testing.T) {
	for _, tc := range []struct {
		got  fmt.Stringer
		want string
	}{
		{Personalization, "personalization"},
		{Operational, "operational"},
		{Lifecycle(2), "lifecycle(2)"},
		{EFKind(0), "efkind(0)"},
		{Transparent, "transparent"},
		{LinearRecords, "records"},
		{FaultKind(0), "fault(0)"},
		{FaultRemoveBefore, "remove-before"},
		{FaultRemoveAfter, "remove-after"},
		{FaultTear, "tear"},
		{FaultForce61, "force-61xx"},
		{FaultForce6C, "force-6Cxx"},
		{FaultTruncate, "truncate"},
		{FaultTruncate + 1, "fault(7)"},
	} {
		assert.Equal(t, tc.want, tc.got.String())
	}
}

func TestATR(t *testing.T) {
	atr := DefaultATR()
	assert.Equal(t, byte(0x3B), atr[0])
	assert.Equal(t, byte(0x8E), atr[1])
	assert.Equal(t, "freespace mock", string(atr[4:18]))
	var x byte
	for _, b := range atr[1:] {
		x ^= b
	}
	assert.Zero(t, x, "TCK makes the XOR of T0..TCK zero (ISO/IEC 7816-3 §8.2.5)")
	c := newTestCard(t)
	got := c.ATR()
	got[0] = 0
	assert.Equal(t, atr, c.ATR(), "ATR returns a copy")
	assert.Equal(t, []byte{1, 2}, MustNew(WithATR([]byte{1, 2})).ATR())
}

func TestConcurrentUse(t *testing.T) {
	c := newTestCard(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				tx(t, c, selTest)
				tx(t, c, "00B0810005")
				if i == 0 {
					c.Reset()
				}
				_ = c.Stats()
			}
		}()
	}
	wg.Wait()
	assert.GreaterOrEqual(t, c.Stats().APDUs, 800)
}
