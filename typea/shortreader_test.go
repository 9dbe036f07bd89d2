package typea_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// TestBehindReaderWithoutExtendedLength: the Type A flows (open with the
// password, write the identity records, read them back) behind a reader
// without extended length, for terminals configured with and without it.
func TestBehindReaderWithoutExtendedLength(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []mockcard.ShortReader{mockcard.ShortReaderWrongLength, mockcard.ShortReaderTransmitError} {
		for _, ext := range []bool{true, false} {
			t.Run(mode.String()+map[bool]string{true: "/terminal extended", false: "/terminal short"}[ext], func(t *testing.T) {
				st := keystest.Store(1)
				pw := profile.Password("1234")
				card, err := mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: testID, Keys: mockcard.APKeys{Masters: st},
					Password: &mockcard.APPassword{Value: pw}}), mockcard.WithShortReader(mode))
				require.NoError(t, err)
				cfg := typea.Config{Keys: st, Password: profile.PasswordAfterAuth, ExtendedLength: ext}
				ap, err := typea.Open(ctx, card, cfg, pw)
				require.NoError(t, err)
				id := profile.Identity{UserID: "U-SHORT", Attributes: []profile.Attribute{{Name: "room", Value: "北 2F"}}}
				require.NoError(t, ap.WriteIdentity(ctx, id))
				ap, err = typea.Open(ctx, card, cfg, pw)
				require.NoError(t, err)
				got, err := ap.ReadAll(ctx)
				require.NoError(t, err)
				assert.Equal(t, id, got)
			})
		}
	}
}
