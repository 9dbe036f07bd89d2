package typec_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typec"
)

// TestBehindReaderWithoutExtendedLength: a Type C read behind a reader
// without extended length (Type C sends short APDUs only).
func TestBehindReaderWithoutExtendedLength(t *testing.T) {
	for _, mode := range []mockcard.ShortReader{mockcard.ShortReaderWrongLength, mockcard.ShortReaderTransmitError} {
		t.Run(mode.String(), func(t *testing.T) {
			id := profile.Identity{UserID: "C-SHORT"}
			card, err := mockcard.NewTypeC(id, mockcard.WithShortReader(mode))
			require.NoError(t, err)
			res, err := typec.Read(context.Background(), card, typec.Config{})
			require.NoError(t, err)
			assert.Equal(t, id, res.Identity)
		})
	}
}
