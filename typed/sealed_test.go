package typed_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/typed"
)

// TestSealedProbeAPDUs: the lifecycle probe (docs/PROTOCOL.md §8.2) is
// one plain READ BINARY of EF.Data by its short EF identifier, after the
// SELECT of the AP that checks the CUID: 2 APDUs, no SELECT EF.
func TestSealedProbeAPDUs(t *testing.T) {
	ctx := context.Background()
	for _, unsealed := range []bool{true, false} {
		st := keystest.Store(1)
		card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}, Unsealed: unsealed}))
		ap, err := typed.OpenUnauthenticated(ctx, card, typed.Config{Keys: st})
		require.NoError(t, err)
		card.ResetStats()
		sealed, err := ap.Sealed(ctx)
		require.NoError(t, err)
		assert.Equal(t, !unsealed, sealed)
		assert.Equal(t, 2, card.Stats().APDUs, "SELECT AP (CUID check) and READ BINARY by SFI")
	}
}
