//go:build cgo || windows

package typed_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/meter"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/typed"
)

// TestThroughPCSC writes and reads a Type D AP over mock card -> vpcd ->
// a real pcscd -> reader.
func TestThroughPCSC(t *testing.T) {
	slot := pcsctest.Acquire(t)
	st := keystest.Store(1)
	card := newCard(t, st)
	slot.Attach(t, card)
	ctx := context.Background()
	rc := pcsctest.NewContext(t)
	cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cd.Close() })

	ap, err := typed.Open(ctx, cd, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	c := content("Pcsc", 1500)
	require.NoError(t, ap.Write(ctx, c, typed.WriteOptions{}))
	ap, err = typed.Open(ctx, cd, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	got, err := ap.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, c, got.Content)
}

// BenchmarkRead1KiBPCSC is BenchmarkRead1KiB (short APDUs) through pcscd.
func BenchmarkRead1KiBPCSC(b *testing.B) {
	slot := pcsctest.Acquire(b)
	st := keystest.Store(1)
	card := newCard(b, st)
	slot.Attach(b, card)
	ctx := context.Background()
	rc := pcsctest.NewContext(b)
	cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer cd.Close()
	cfg := typed.Config{Keys: st}
	ap, err := typed.Open(ctx, cd, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := ap.Write(ctx, typed.Content{Identity: profile.Identity{UserID: "BENCH"}, Data: bytes.Repeat([]byte{0x5A}, 1024)}, typed.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	m := &meter.Meter{Next: cd}
	meter.Run(b, m, func() error {
		ap, err := typed.Open(ctx, m, cfg, nil)
		if err != nil {
			return err
		}
		_, err = ap.Read(ctx)
		return err
	})
}
