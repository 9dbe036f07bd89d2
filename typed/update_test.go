package typed_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/typed"
)

// TestUpdateReadsTheSlotsOnce: issue 11 §3.3. Changing the content of an
// open AP (the CLI's typed write keeps the identity and replaces the data)
// reads EF.Data once: Update costs what Write alone costs, 3 APDUs (SELECT
// EF and the heads of both slots) plus the rest of the current envelope
// fewer than Read followed by Write, and leaves the same content.
func TestUpdateReadsTheSlotsOnce(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	count := func(fn func(ap *typed.AP) error) (int, typed.Content) {
		card := newCard(t, st)
		ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
		require.NoError(t, err)
		require.NoError(t, ap.Write(ctx, content("A", 40), typed.WriteOptions{}))
		ap, err = typed.Open(ctx, card, typed.Config{Keys: st}, nil)
		require.NoError(t, err)
		card.ResetStats()
		require.NoError(t, fn(ap))
		n := card.Stats().APDUs
		ap, err = typed.Open(ctx, card, typed.Config{Keys: st}, nil)
		require.NoError(t, err)
		got, err := ap.Read(ctx)
		require.NoError(t, err)
		return n, got.Content
	}
	newData := []byte("new data")
	readWrite, want := count(func(ap *typed.AP) error {
		cur, err := ap.Read(ctx)
		if err != nil {
			return err
		}
		cur.Data = newData
		return ap.Write(ctx, cur.Content, typed.WriteOptions{})
	})
	writeOnly, _ := count(func(ap *typed.AP) error {
		return ap.Write(ctx, typed.Content{Identity: content("A", 0).Identity, Data: newData}, typed.WriteOptions{})
	})
	update, got := count(func(ap *typed.AP) error {
		return ap.Update(ctx, typed.WriteOptions{}, func(cur typed.ReadResult, err error) (typed.Content, error) {
			if err != nil {
				return typed.Content{}, err
			}
			assert.Equal(t, uint32(1), cur.Header.Generation)
			cur.Data = newData
			return cur.Content, nil
		})
	})
	assert.Equal(t, want, got)
	assert.Equal(t, newData, got.Data)
	assert.Equal(t, writeOnly, update, "Update reads the slots once, as Write does")
	assert.Equal(t, readWrite-3, update, "Read then Write: SELECT EF and both heads twice")
	t.Logf("Read+Write %d APDUs, Write %d, Update %d", readWrite, writeOnly, update)
}

// TestUpdateErrors: change sees Read's error (nothing on a blank AP:
// ErrNoData) and can write a whole new content; an error from change
// writes nothing.
func TestUpdateErrors(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(t, st)
	ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	stop := errors.New("stop")
	err = ap.Update(ctx, typed.WriteOptions{}, func(_ typed.ReadResult, err error) (typed.Content, error) {
		assert.ErrorIs(t, err, typed.ErrNoData)
		return typed.Content{}, stop
	})
	require.ErrorIs(t, err, stop)
	_, err = ap.Read(ctx)
	require.ErrorIs(t, err, typed.ErrNoData, "nothing written")
	err = ap.Update(ctx, typed.WriteOptions{}, func(_ typed.ReadResult, err error) (typed.Content, error) {
		return content("B", 10), nil
	})
	require.NoError(t, err)
	got, err := ap.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, content("B", 10), got.Content)
	// Too large for a slot: a *CapacityError, nothing written.
	err = ap.Update(ctx, typed.WriteOptions{}, func(cur typed.ReadResult, err error) (typed.Content, error) {
		cur.Data = make([]byte, 3000)
		return cur.Content, err
	})
	var ce *typed.CapacityError
	require.ErrorAs(t, err, &ce)
	got, err = ap.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, content("B", 10), got.Content)
	var nilAP *typed.AP
	assert.Error(t, nilAP.Update(ctx, typed.WriteOptions{}, nil), "a nil AP is an error, not a panic")
}

// TestCheckCapacity: one slot of an EF.Data of C bytes holds a plaintext
// of at most ⌊C/2⌋ - 58 bytes (and at most 65535: the length field).
func TestCheckCapacity(t *testing.T) {
	tests := []struct {
		capacity, n int
		fits        bool
	}{
		{4096, 1990, true},
		{4096, 1991, false},
		{4097, 1990, true}, // ⌊4097/2⌋ = 2048
		{116, 0, true},
		{116, 1, false},
		{32767, 16325, true},
		{32767, 16326, false},
	}
	for _, tt := range tests {
		err := typed.CheckCapacity(tt.capacity, tt.n)
		if tt.fits {
			assert.NoError(t, err, "%d in %d", tt.n, tt.capacity)
			continue
		}
		var ce *typed.CapacityError
		require.ErrorAs(t, err, &ce, "%d in %d", tt.n, tt.capacity)
		assert.Equal(t, tt.n+typed.Overhead, ce.Need)
		assert.Equal(t, tt.capacity/2, ce.Have)
		assert.ErrorIs(t, err, typed.ErrCapacity)
	}
}
