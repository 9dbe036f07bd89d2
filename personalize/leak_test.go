package personalize_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// TestNoSecretsInLogsOrErrors runs personalization and the Type A and D
// flows (with wrong passwords too) with APDU tracing at debug level, and
// scans every log line and error for the passwords and every master and
// diversified key, raw and in hex.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := freshCard(t, st)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := apdu.NewTrace(card, apdu.TraceConfig{Logger: logger})
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	// Passwords with letters outside 0-9A-F, so that they cannot occur by
	// chance in the hex of the traces.
	req := req
	req.Password = profile.Password("Zq#Wx!")
	pwBefore := profile.Password("B3f0r3zz")
	_, err := personalize.TypeA(ctx, tr, typea.Config{Password: profile.PasswordAfterAuth, Keys: st, Logger: logger}, req)
	require.NoError(t, err)
	_, err = personalize.TypeD(ctx, tr, typed.Config{Password: profile.PasswordAfterAuth, Keys: st, Logger: logger}, req)
	require.NoError(t, err)
	for _, pw := range []profile.Password{profile.Password("Wr0ngPwz"), req.Password} {
		_, err := typea.Read(ctx, tr, typea.Config{Password: profile.PasswordAfterAuth, Keys: st, Logger: logger}, pw)
		keep(err)
		_, err = typea.Read(ctx, tr, typea.Config{Keys: st, Logger: logger, Password: profile.PasswordBeforeAuth, AllowPasswordBeforeAuth: true}, pwBefore)
		keep(err)
		_, err = typed.Open(ctx, tr, typed.Config{Keys: st, Logger: logger, Password: profile.PasswordAfterAuth}, pw)
		keep(err)
	}
	require.NotEmpty(t, errs)
	require.NotZero(t, logs.Len())

	secrets := [][]byte{req.Password, []byte("Wr0ngPwz"), pwBefore}
	aids := []profile.AID{profile.DefaultAID(profile.TypeA), profile.DefaultAID(profile.TypeD)}
	cuidA, _ := card.CUID(aids[0])
	cuidD, _ := card.CUID(aids[1])
	for _, name := range []string{"typea-auth-enc", "typea-auth-mac", "typea-update-enc", "typea-update-mac", "typea-admin-enc", "typea-admin-mac",
		"typed-auth-enc", "typed-auth-mac", "typed-update-enc", "typed-update-mac", "typed-admin-enc", "typed-admin-mac", "typed-data"} {
		ref := keys.KeyRef{Name: name, Version: 1}
		m, err := st.Key(ctx, ref)
		require.NoError(t, err)
		secrets = append(secrets, bytes.Clone(m.Bytes()))
		for i, c := range []profile.CUID{cuidA, cuidD} {
			d, err := st.Diversify(ctx, ref, c[:], aids[i])
			require.NoError(t, err)
			secrets = append(secrets, bytes.Clone(d.Bytes()))
		}
	}
	var text strings.Builder
	text.Write(logs.Bytes())
	for _, e := range errs {
		fmt.Fprintf(&text, "%v\n%+v\n%#v\n", e, e, e)
	}
	fmt.Fprintf(&text, "%v %+v %#v", req, req, req)
	all := text.String()
	upper := strings.ToUpper(all)
	for _, s := range secrets {
		require.NotContains(t, all, string(s))
		require.NotContains(t, upper, strings.ToUpper(hex.EncodeToString(s)))
		require.NotContains(t, upper, strings.ToUpper(spaced(s)))
	}
}

// spaced is hex with spaces between bytes, as traces print it.
func spaced(b []byte) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02X", x)
	}
	return sb.String()
}
