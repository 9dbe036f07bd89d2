package cardap_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/sealedcard"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// testKeyHexes returns the master keys of keystest.Store and
// keystest.StoreTDES in hex, both cases, as they would appear if leaked.
func testKeyHexes() []string {
	var out []string
	for _, n := range []string{"typea-auth-enc", "typea-auth-mac", "typed-auth-enc", "typed-auth-mac", "typed-data"} {
		for _, label := range []string{n, n + " 3des"} {
			size := 16
			if n == "typed-data" {
				size = 32
			}
			sum := sha256.Sum256([]byte(fmt.Sprintf("freespace test key %s v1", label)))
			h := hex.EncodeToString(sum[:size])
			out = append(out, h, strings.ToUpper(h), h[:16], strings.ToUpper(h[:16]))
		}
	}
	return out
}

// failingAP is an AP whose read fails with a given error, after reporting
// a CUID.
type failingAP struct{ err error }

func (failingAP) Type() profile.APType { return profile.TypeC }

func (a failingAP) Read(context.Context, apdu.Transport) (cardap.Identity, error) {
	return cardap.Identity{AP: profile.TypeC, CUID: profile.CUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}, a.err
}

// TestDecisionLogHasTheRefusalsError: the decision record of a refusal
// carries the underlying error (the "error" attribute), so an operator
// can tell a wrong password from a wrong key or a broken card; it never
// carries the password sent or any key, and always fits on one line.
func TestDecisionLogHasTheRefusalsError(t *testing.T) {
	ks := keystest.Store(1)
	other := keystest.StoreTDES()
	alice := profile.Identity{UserID: "SECRET-USER-9"}
	const cardPW, sentPW = "4711", "8642"
	tests := []struct {
		name      string
		card      func(t *testing.T) apdu.Transport
		ap        cardap.AP
		reason    cardap.Reason
		errSubstr string
	}{
		{"type A wrong password", func(*testing.T) apdu.Transport { return newTypeACard(ks, alice, cardPW) },
			cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: fixedPassword(sentPW)}),
			cardap.ReasonPasswordWrong, "tries left"},
		{"type A other operator's keys", func(*testing.T) apdu.Transport { return newTypeACard(ks, alice, cardPW) },
			cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: other, Password: profile.PasswordAfterAuth}, PasswordFunc: fixedPassword(sentPW)}),
			cardap.ReasonAuthFailed, "secure"},
		{"type D wrong password", func(t *testing.T) apdu.Transport { return sealedcard.TypeD(t, alice, cardPW) },
			cardap.TypeD(cardap.TypeDConfig{Config: typed.Config{Keys: ks, Password: profile.PasswordAfterAuth}, PasswordFunc: fixedPassword(sentPW)}),
			cardap.ReasonPasswordWrong, "verif"},
		{"error text with newlines and escapes", func(*testing.T) apdu.Transport { return mockcard.MustNew() },
			failingAP{err: &cardap.Error{Reason: cardap.ReasonMalformed, Err: errors.New("line one\nforged: \x1b[31mrecord\r\n")}},
			cardap.ReasonMalformed, "line one"},
		{"plain error", func(*testing.T) apdu.Transport { return mockcard.MustNew() },
			failingAP{err: errors.New("reader: something broke")},
			cardap.ReasonCardError, "something broke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			c := newClient(t, nil, func(c *cardap.Config) {
				c.NoRevocation = true
				c.APs = []cardap.AP{tt.ap}
				c.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
			})
			_, err := c.Identify(context.Background(), tt.card(t))
			require.Equal(t, tt.reason, cardap.ReasonOf(err), "%v", err)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			require.Len(t, lines, 1, buf.String())
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
			assert.Equal(t, tt.reason.String(), rec["reason"])
			msg, _ := rec["error"].(string)
			assert.Contains(t, msg, tt.errSubstr, "the decision record says what went wrong")
			assert.NotContains(t, msg, "\n")
			assert.NotContains(t, msg, "\r")
			assert.NotContains(t, msg, "\x1b")
			all := buf.String()
			for _, secret := range append(testKeyHexes(), cardPW, sentPW, "SECRET-USER-9") {
				assert.NotContains(t, all, secret)
			}
		})
	}
}
