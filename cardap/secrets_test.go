package cardap_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// TestPasswordNeverPrinted: a profile.Password prints redacted through
// every formatting path an integrator may use (fmt verbs, JSON, slog text
// and JSON), and a wrong or right password given to Identify appears
// neither in the client's debug log nor in the refusal.
func TestPasswordNeverPrinted(t *testing.T) {
	const secret = "Kx7#s3cret"
	secretHex := hex.EncodeToString([]byte(secret))
	contains := func(s string) bool {
		return strings.Contains(s, secret) || strings.Contains(strings.ToLower(s), secretHex)
	}
	p := profile.Password(secret)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		assert.False(t, contains(fmt.Sprintf(verb, p)), verb)
		assert.False(t, contains(fmt.Sprintf(verb, struct{ P profile.Password }{p})), "%s in a struct", verb)
	}
	b, err := json.Marshal(struct{ P profile.Password }{p})
	require.NoError(t, err)
	assert.False(t, contains(string(b)), string(b))
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "pw", p)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "pw", p)
	assert.False(t, contains(logs.String()), logs.String())

	ks := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U"},
		Keys: mockcard.APKeys{Masters: ks}, Password: &mockcard.APPassword{Value: profile.Password(secret)}}))
	for _, given := range []string{"Wr0ng#pass", secret} {
		logs.Reset()
		c := newClient(t, nil, func(c *cardap.Config) {
			c.NoRevocation = true
			c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c.APs = []cardap.AP{cardap.TypeA(cardap.TypeAConfig{
				Config:       typea.Config{Keys: ks, Password: profile.PasswordAfterAuth, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
				PasswordFunc: fixedPassword(given),
			})}
		})
		id, err := c.Identify(context.Background(), card)
		if given == secret {
			require.NoError(t, err)
			assert.False(t, contains(fmt.Sprintf("%+v", id)))
		} else {
			require.ErrorIs(t, err, cardap.ErrPasswordWrong)
			assert.False(t, contains(fmt.Sprintf("%v %+v %#v", err, err, err)), "%v", err)
			assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), given)
		}
		assert.NotEmpty(t, logs.String())
		assert.False(t, contains(logs.String()), logs.String())
		assert.NotContains(t, logs.String(), given)
	}
}
