//go:build cgo || windows

package typed_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/typed"
)

// TestBehindReaderWithoutExtendedLengthThroughPCSC: a terminal configured
// for extended length writes and reads a Type D AP through a real pcscd to
// a card behind a reader without extended length; the connection learns
// it (reader.Card.LengthSupport) and the next session starts short.
func TestBehindReaderWithoutExtendedLengthThroughPCSC(t *testing.T) {
	slot := pcsctest.Acquire(t)
	st := keystest.Store(1)
	card := newCard(t, st, mockcard.WithShortReader(mockcard.ShortReaderWrongLength))
	slot.Attach(t, card)
	ctx := context.Background()
	cd, err := pcsctest.NewContext(t).Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cd.Close() })

	cfg := typed.Config{Keys: st, ExtendedLength: true}
	ap, err := typed.Open(ctx, cd, cfg, nil)
	require.NoError(t, err)
	c := content("Pcsc", 1500)
	require.NoError(t, ap.Write(ctx, c, typed.WriteOptions{}))
	assert.Equal(t, apdu.Unsupported, cd.LengthSupport().Load())
	ap, err = typed.Open(ctx, cd, cfg, nil)
	require.NoError(t, err)
	got, err := ap.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, c, got.Content)
}
