package typed

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestFailedOpenDropsSessionKeys: when Open fails after mutual
// authentication succeeded (here a wrong password), the secure messaging
// session is closed, so its keys are zeroed at once instead of staying in
// memory with no AP for the caller to Close.
func TestFailedOpenDropsSessionKeys(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st},
		Password: &mockcard.APPassword{Value: profile.Password("1234")}}))
	var opened *AP
	_, err := openAP(ctx, card, Config{Keys: st, Password: profile.PasswordAfterAuth}, func(ctx context.Context, a *AP) error {
		opened = a
		return a.authRead(ctx, profile.Password("9999"))
	})
	require.ErrorIs(t, err, apdu.ErrVerificationFailed)
	require.NotNil(t, opened)
	assert.False(t, opened.s.Secure(), "the session keys were dropped")
	assert.Zero(t, opened.s.Authenticated())
}
