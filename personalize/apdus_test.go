package personalize_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// TestPersonalizeSelectsTheAPOnce: issue 11 §3.3. A personalization run
// of Type A or D selects its AP with the FCI once: the lifecycle probe
// follows the SELECT in the same transaction, so the card cannot have
// been swapped and a second SELECT (the same command, the same answer)
// is an APDU too many.
func TestPersonalizeSelectsTheAPOnce(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		typ string
		run func(ctx context.Context, t apdu.Transport) error
	}{
		{"A", func(ctx context.Context, tr apdu.Transport) error {
			_, err := personalize.TypeA(ctx, tr, typea.Config{Password: profile.PasswordAfterAuth, Keys: keystest.Store(1)}, req)
			return err
		}},
		{"D", func(ctx context.Context, tr apdu.Transport) error {
			_, err := personalize.TypeD(ctx, tr, typed.Config{Password: profile.PasswordAfterAuth, Keys: keystest.Store(1)}, req)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			card := freshCard(t, keystest.Store(1))
			selects := 0
			spy := &apdutest.Interceptor{Next: card, Rewrite: func(e apdutest.Exchange) ([]byte, error) {
				if bytes.HasPrefix(e.Command, []byte{0x00, 0xA4, 0x04, 0x00}) {
					selects++
				}
				return e.Response, e.Err
			}}
			require.NoError(t, tt.run(ctx, spy))
			assert.Equal(t, 1, selects, "SELECT AP with FCI")
		})
	}
}
