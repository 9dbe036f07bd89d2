package typed_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/meter"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/typed"
)

// TestBehindReaderWithoutExtendedLength: a terminal configured for
// extended length writes and reads a Type D AP behind a reader that has
// none (it answers 6700, or fails the exchange): the first extended APDU
// is refused, resent in short form (chaining, GET RESPONSE) and every later
// one is short; the content survives. Short-only terminals work as before.
func TestBehindReaderWithoutExtendedLength(t *testing.T) {
	for _, mode := range []mockcard.ShortReader{mockcard.ShortReaderWrongLength, mockcard.ShortReaderTransmitError} {
		for _, ext := range []bool{true, false} {
			t.Run(mode.String()+map[bool]string{true: "/terminal extended", false: "/terminal short"}[ext], func(t *testing.T) {
				ctx := context.Background()
				st := keystest.Store(1)
				card := newCard(t, st, mockcard.WithShortReader(mode))
				cfg := typed.Config{Keys: st, ExtendedLength: ext, Rand: newSeeded(3)}
				ap, err := typed.Open(ctx, card, cfg, nil)
				require.NoError(t, err)
				c := content("Short", 1500)
				require.NoError(t, ap.Write(ctx, c, typed.WriteOptions{}))
				m := &meter.Meter{Next: card}
				ap, err = typed.Open(ctx, m, cfg, nil)
				require.NoError(t, err)
				got, err := ap.Read(ctx)
				require.NoError(t, err)
				assert.Equal(t, c, got.Content)
			})
		}
	}
}
