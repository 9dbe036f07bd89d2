package secure

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
)

// logSink collects every formatted log line.
type logSink struct {
	mu    sync.Mutex
	lines bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines.Write(p)
}

// TestNoSecretsInLogsOrErrors runs the protocol flows (mutual
// authentication, VERIFY through secure messaging, reads, failures) with
// Debug logging through apdu.Trace below and above the session and the
// session's own logger, then scans every log line and error text for the
// keys, the session keys, K.IFD/K.ICC and the password, in upper- and
// lower-case hex and raw.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	for _, s := range allSuites {
		t.Run(s.Name(), func(t *testing.T) {
			sink := &logSink{}
			log := slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
			kEnc := bytes.Repeat([]byte{0xC3}, s.KeyLen())
			kMac := bytes.Repeat([]byte{0x5A}, s.KeyLen())
			for i := range kEnc {
				kEnc[i] ^= byte(i * 7)
				kMac[i] ^= byte(i * 13)
			}
			password := []byte("S3cret-Pass")
			rndICC, kICC := bytes.Repeat([]byte{0x41}, 8), bytes.Repeat([]byte{0x6B}, s.KeyHalfLen())
			rndIFD, kIFD := bytes.Repeat([]byte{0x17}, 8), bytes.Repeat([]byte{0xE9}, s.KeyHalfLen())
			cardRand := bytes.NewReader(append(append([]byte(nil), rndICC...), kICC...))
			a, err := NewCardAuthenticator(s, kEnc, kMac, cardRand)
			require.NoError(t, err)
			var got []byte
			card := &memCard{auth: a, handler: func(c apdu.Command) apdu.Response {
				if c.INS == apdu.InsVerify {
					got = append([]byte(nil), c.Data...)
				}
				return echoHandler(c)
			}}
			wire := apdu.NewTrace(card, apdu.TraceConfig{Logger: log})
			var errs []error
			ctx := context.Background()
			cfg := Config{Suite: s, KEnc: kEnc, KMac: kMac, Logger: log,
				Rand: bytes.NewReader(append(append([]byte(nil), rndIFD...), kIFD...))}
			sess, err := MutualAuthenticate(ctx, wire, cfg)
			require.NoError(t, err)
			plainSide := apdu.NewTrace(sess, apdu.TraceConfig{Logger: log})
			verify, err := apdu.Command{INS: apdu.InsVerify, P2: 0x80, Data: password}.Bytes()
			require.NoError(t, err)
			_, err = plainSide.Transmit(ctx, verify)
			require.NoError(t, err)
			assert.Equal(t, password, got, "the card received the password through SM")
			_, err = plainSide.Transmit(ctx, readCmd(t))
			require.NoError(t, err)
			// Failures: a tampered response, then calls on the closed session.
			card.tamper = func(r []byte) []byte { r[0] ^= 1; return r }
			_, err = plainSide.Transmit(ctx, verify)
			errs = append(errs, err)
			_, err = plainSide.Transmit(ctx, verify)
			errs = append(errs, err, sess.Err())
			// Wrong keys at the card and at the terminal.
			bad := append([]byte(nil), kMac...)
			bad[0] ^= 0xFF
			_, err = MutualAuthenticate(ctx, wire, Config{Suite: s, KEnc: kEnc, KMac: bad, Logger: log})
			errs = append(errs, err)
			badCard, err := NewCardAuthenticator(s, kEnc, kMac, nil)
			require.NoError(t, err)
			_, err = MutualAuthenticate(ctx, &memCard{auth: badCard}, Config{Suite: s, KEnc: bad, KMac: kMac, Logger: log})
			errs = append(errs, err)
			_, err = s.newCrypto(kEnc[:len(kEnc)-1], kMac)
			errs = append(errs, err)

			seed := make([]byte, len(kIFD))
			for i := range seed {
				seed[i] = kIFD[i] ^ kICC[i]
			}
			sk := sessionKeys(s, seed, rndICC, rndIFD)
			secrets := map[string][]byte{"K_enc": kEnc, "K_mac": kMac, "KS_enc": sk.Enc, "KS_mac": sk.MAC,
				"K.IFD": kIFD, "K.ICC": kICC, "K_seed": seed, "password": password}

			var text strings.Builder
			text.Write(sink.lines.Bytes())
			for _, e := range errs {
				require.Error(t, e)
				text.WriteString(e.Error() + "\n")
			}
			text.WriteString(fmt.Sprintf("%v %+v %#v %s\n", cfg, cfg, cfg, sk))
			all := text.String()
			require.Contains(t, all, "apdu", "the trace logged")
			for name, sec := range secrets {
				for _, form := range []string{hex.EncodeToString(sec), strings.ToUpper(hex.EncodeToString(sec)), string(sec)} {
					// Look for any 6-byte window: a partial leak counts too.
					for i := 0; i+12 <= len(form) && form != string(sec); i += 2 {
						assert.NotContains(t, all, form[i:i+12], "%s leaked (hex)", name)
					}
					if form == string(sec) {
						assert.NotContains(t, all, form, "%s leaked (raw)", name)
					}
				}
			}
		})
	}
}

// TestSecretTypesNeverSerialize checks that Config and SessionKeys, which
// hold key bytes in exported fields, reveal none through fmt, encoding/json
// or slog's text and JSON handlers (which marshal []byte fields as base64
// unless the type says otherwise).
func TestSecretTypesNeverSerialize(t *testing.T) {
	kEnc := bytes.Repeat([]byte{0xA5, 0x17}, 8)
	kMac := bytes.Repeat([]byte{0x3C, 0xE1}, 8)
	ssc := []byte{0x88, 0x70, 0x22, 0x12, 0x0C, 0x06, 0xC2, 0x26}
	values := map[string]any{
		"Config":      Config{Suite: AES128, KEnc: kEnc, KMac: kMac},
		"SessionKeys": SessionKeys{Enc: kEnc, MAC: kMac, SSC: ssc},
	}
	forms := func(b []byte) []string {
		return []string{string(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)), base64.StdEncoding.EncodeToString(b)}
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			var out []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
				out = append(out, fmt.Sprintf(verb, v))
			}
			for _, w := range []any{v, struct{ V any }{v}} {
				b, err := json.Marshal(w)
				require.NoError(t, err)
				out = append(out, string(b))
			}
			var buf bytes.Buffer
			for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
				slog.New(h).Info("x", "v", v)
			}
			out = append(out, buf.String())
			for _, o := range out {
				assert.Contains(t, o, "redacted")
				for _, k := range [][]byte{kEnc, kMac} {
					for _, f := range forms(k) {
						assert.NotContains(t, o, f)
					}
				}
			}
		})
	}
}
