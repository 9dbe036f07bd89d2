package apsession_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
)

// TestBeforeTry covers every answer of the status query that decides
// whether a try may be spent (ISO/IEC 7816-4 §11.5.6).
func TestBeforeTry(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		wrong        int // wrong VERIFYs before the query
		verify       bool
		allowLast    bool
		wantVerified bool
		wantErr      error
	}{
		{name: "fresh", wantErr: nil},
		{name: "verified", verify: true, wantVerified: true},
		{name: "one try left", wrong: 2, wantErr: apsession.ErrLastTry},
		{name: "one try left allowed", wrong: 2, allowLast: true},
		{name: "blocked", wrong: 3, allowLast: true, wantErr: apdu.ErrBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := apWithCUIDAt(profile.FIDCUID, 1)
			spec.PINs = []mockcard.PINSpec{{Ref: 0x81, Value: profile.Password("1234")}}
			card := mockcard.MustNew(mockcard.WithAP(spec))
			s, err := apsession.Open(ctx, card, apsession.Config{AID: aid})
			require.NoError(t, err)
			for range tt.wrong {
				require.ErrorIs(t, apsession.Verify(ctx, s.Plain(), 0x81, profile.Password("9999")), apdu.ErrVerificationFailed)
			}
			if tt.verify {
				require.NoError(t, apsession.Verify(ctx, s.Plain(), 0x81, profile.Password("1234")))
			}
			before := card.Stats().APDUs
			verified, err := apsession.BeforeTry(ctx, s.Plain(), 0x81, tt.allowLast)
			assert.Equal(t, before+1, card.Stats().APDUs, "only the status query")
			assert.Equal(t, tt.wantVerified, verified)
			if tt.wantErr == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	var c struct {
		AID                 profile.AID
		Suite               secure.Suite
		K1, K2, K3          keys.CardKey
		CUIDSFI, PasswordRf byte
	}
	k2 := keys.CardKey{Ref: 0x12, Enc: keys.KeyRef{Name: "e"}, Mac: keys.KeyRef{Name: "m"}}
	c.K2 = k2
	errConfig := errors.New("typea: invalid configuration")
	d := apsession.Defaults{Pkg: "typea", ErrConfig: errConfig, Type: profile.TypeA, AID: &c.AID, Suite: &c.Suite, Keys: keystest.Store(1),
		CardKeys: [3]*keys.CardKey{&c.K1, &c.K2, &c.K3}, CUIDSFI: &c.CUIDSFI, PasswordRef: &c.PasswordRf}
	require.NoError(t, d.Apply())
	assert.Equal(t, profile.DefaultAID(profile.TypeA), c.AID)
	assert.Equal(t, secure.AES128, c.Suite)
	assert.Equal(t, apsession.ProfileKey("typea", 0x01), c.K1)
	assert.Equal(t, "typea-auth-enc", c.K1.Enc.Name)
	assert.Equal(t, k2, c.K2, "a configured key is kept")
	assert.Equal(t, "typea-admin-mac", c.K3.Mac.Name)
	assert.Equal(t, byte(apsession.DefaultCUIDSFI), c.CUIDSFI)
	assert.Equal(t, byte(apsession.DefaultPasswordRef), c.PasswordRf)

	// Every error wraps the package's ErrConfig and names the field.
	tests := []struct {
		name  string
		edit  func()
		field string
	}{
		{"no key provider", func() { d.Keys = nil }, "Keys: no key provider"},
		{"bad AID", func() { c.AID = profile.AID{1} }, "AID: "},
		{"key reference 00", func() { c.K2 = keys.CardKey{Enc: keys.KeyRef{Name: "e"}} }, "UpdateKey: key reference 00"},
		{"no master names", func() { c.K3 = keys.CardKey{Ref: 3} }, "AdminKey: master key names missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved, savedKeys := c, d.Keys
			defer func() { c, d.Keys = saved, savedKeys }()
			tt.edit()
			err := d.Apply()
			assert.ErrorIs(t, err, errConfig)
			assert.ErrorContains(t, err, "typea: invalid configuration: "+tt.field)
		})
	}
}

// TestPasswordNeverPrints formats a Password every way a program might log
// or serialize it (fmt verbs, slog text and JSON handlers, encoding/json
// alone and inside a struct) and checks the bytes never appear, raw, in
// hex or in base64.
func TestPasswordNeverPrints(t *testing.T) {
	pw := profile.Password("s3cr3t-PIN-4711")
	forms := []string{
		string(pw),
		hex.EncodeToString(pw),
		strings.ToUpper(hex.EncodeToString(pw)),
		base64.StdEncoding.EncodeToString(pw),
	}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		out = append(out, fmt.Sprintf(verb, pw))
	}
	out = append(out, fmt.Sprintf("%v", struct{ P profile.Password }{pw}))
	for _, v := range []any{pw, struct{ P profile.Password }{pw}, map[string]profile.Password{"p": pw}} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("x", "password", pw)
		l.Info("x", slog.Any("password", pw))
		l.Info("x", "group", struct{ P profile.Password }{pw})
	}
	out = append(out, buf.String())
	for _, o := range out {
		assert.Contains(t, o, "redacted")
		for _, f := range forms {
			assert.NotContains(t, o, f)
		}
	}
}
