package profile

import (
	"bytes"
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
)

// TestPasswordNeverPrints formats a Password every way a program might log
// or serialize it (fmt verbs, slog text and JSON handlers, encoding/json
// alone and inside a struct) and checks the bytes never appear, raw, in
// hex or in base64.
func TestPasswordNeverPrints(t *testing.T) {
	pw := Password("s3cr3t-PIN-4711")
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
	out = append(out, fmt.Sprintf("%v", struct{ P Password }{pw}))
	for _, v := range []any{pw, struct{ P Password }{pw}, map[string]Password{"p": pw}} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("x", "password", pw)
		l.Info("x", slog.Any("password", pw))
		l.Info("x", "group", struct{ P Password }{pw})
	}
	out = append(out, buf.String())
	for _, o := range out {
		assert.Contains(t, o, "redacted")
		for _, f := range forms {
			assert.NotContains(t, o, f)
		}
	}
}

func TestPasswordZero(t *testing.T) {
	pw := Password("1234")
	pw.Zero()
	assert.Equal(t, Password{0, 0, 0, 0}, pw)
	Password(nil).Zero() // no panic on nil
}

func TestPasswordMode(t *testing.T) {
	tests := []struct {
		text string
		mode PasswordMode
	}{
		{"after-auth", PasswordAfterAuth},
		{"before-auth", PasswordBeforeAuth},
		{"none", PasswordNone},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			m, err := ParsePasswordMode(tt.text)
			require.NoError(t, err)
			assert.Equal(t, tt.mode, m)
			assert.Equal(t, tt.text, m.String())
			assert.True(t, m.Valid())
		})
	}
	var zero PasswordMode
	assert.Equal(t, PasswordNone, zero, "the zero value sends no password")
	for _, bad := range []string{"", "After-Auth", "plain", "none "} {
		_, err := ParsePasswordMode(bad)
		assert.ErrorIs(t, err, ErrInvalidPasswordMode, "%q", bad)
	}
	assert.Equal(t, "PasswordMode(7)", PasswordMode(7).String())
	assert.False(t, PasswordMode(3).Valid())
}

func TestPasswordStatusString(t *testing.T) {
	tests := []struct {
		st   PasswordStatus
		want string
	}{
		{PasswordStatus{Verified: true, Remaining: -1}, "verified"},
		{PasswordStatus{Blocked: true}, "blocked"},
		{PasswordStatus{Remaining: 1}, "1 try left"},
		{PasswordStatus{Remaining: 2}, "2 tries left"},
		{PasswordStatus{Remaining: 0}, "0 tries left"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.st.String())
	}
}

func TestSentinelsDistinct(t *testing.T) {
	conditions := []error{ErrNotPresent, ErrNotPersonalized, ErrMalformed}
	for _, c := range conditions {
		// Wrapped by the AP packages, which add their prefix once.
		assert.NotContains(t, c.Error(), "profile:")
	}
	all := append(conditions, ErrInvalidPasswordMode, ErrInvalidAID, ErrInvalidCUID, ErrInvalidIdentity)
	for i, a := range all {
		for j, b := range all {
			if i != j {
				assert.NotErrorIs(t, a, b)
			}
		}
	}
}

func TestPasswordErrorText(t *testing.T) {
	cause := errors.New("card: 63C1")
	tests := []struct {
		err  *PasswordError
		want string
	}{
		{&PasswordError{Remaining: 2, Err: cause}, "wrong password, 2 tries left"},
		{&PasswordError{Remaining: 1, Err: cause}, "wrong password, 1 try left"},
		{&PasswordError{Blocked: true, Err: cause}, "password blocked"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
		assert.ErrorIs(t, tt.err, cause, "unwraps to the card's answer")
	}
}
