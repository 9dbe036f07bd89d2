package typed_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typed"
)

// fcpSwap returns an interceptor in front of next that answers plain
// SELECT EF with P2 = 04 with body (then 90 00) in place of the card's FCP,
// once the card itself accepted the SELECT, and the count of UPDATE BINARY
// commands it saw.
func fcpSwap(next apdu.Transport, body []byte) (*apdutest.Interceptor, *int) {
	var updates int
	return &apdutest.Interceptor{Next: next, Rewrite: func(e apdutest.Exchange) ([]byte, error) {
		if e.Ins() == apdu.InsUpdateBinary {
			updates++
		}
		cmd, resp := e.Command, e.Response
		if e.Err != nil || len(cmd) < 4 || !bytes.Equal(cmd[:4], []byte{0x00, 0xA4, 0x02, 0x04}) ||
			len(resp) < 2 || !bytes.Equal(resp[len(resp)-2:], []byte{0x90, 0x00}) {
			return resp, e.Err
		}
		return append(append([]byte(nil), body...), 0x90, 0x00), nil
	}}, &updates
}

// TestMalformedFCPIsAnError: an FCP the card sends that cannot be parsed,
// or whose size (tag 80, ISO/IEC 7816-4 §7.4.3) is empty, zero or too
// long, is the card's error (ErrMalformed), never silently replaced by the
// configured capacity; nothing is written.
func TestMalformedFCPIsAnError(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	tests := []struct {
		name string
		fcp  []byte
	}{
		{"length past the end", []byte{0x62, 0x0B, 0x80, 0x02, 0x10}},
		{"size length past the end", []byte{0x62, 0x04, 0x80, 0x05, 0x10, 0x00}},
		{"truncated tag", []byte{0x62, 0x01, 0x9F}},
		{"garbage after the template", []byte{0x62, 0x04, 0x80, 0x02, 0x10, 0x00, 0x85}},
		{"empty size", []byte{0x62, 0x02, 0x80, 0x00}},
		{"zero size", []byte{0x62, 0x03, 0x80, 0x01, 0x00}},
		{"size on five significant bytes", []byte{0x62, 0x07, 0x80, 0x05, 0x01, 0x00, 0x00, 0x10, 0x00}},
		{"bad nested template", []byte{0x62, 0x04, 0xA5, 0x02, 0x80, 0x05}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st}, Unsealed: true}))
			swap, updates := fcpSwap(card, tt.fcp)
			ap, err := typed.OpenUnauthenticated(ctx, swap, typed.Config{Keys: st, Rand: newSeeded(4)})
			require.NoError(t, err)
			opts := typed.WriteOptions{KeepAuthentication: true}
			for range 2 { // the error is not cached away by the first attempt
				err = ap.Write(ctx, content("Kai", 100), opts)
				require.ErrorIs(t, err, profile.ErrMalformed)
			}
			assert.Zero(t, *updates, "UPDATE BINARY sent")
		})
	}
}

// TestFCPWithoutSize: a card that answers with no FCP, or with an FCP
// that has no size tag, leaves the configured capacity in force
// (documented on Config.Capacity).
func TestFCPWithoutSize(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	for _, fcp := range [][]byte{nil, {0x62, 0x03, 0x82, 0x01, 0x01}, {0x62, 0x00}} {
		card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st}, Capacity: 1000, Unsealed: true}))
		swap, _ := fcpSwap(card, fcp)
		ap, err := typed.OpenUnauthenticated(ctx, swap, typed.Config{Keys: st, Capacity: 1000, Rand: newSeeded(5)})
		require.NoError(t, err)
		opts := typed.WriteOptions{KeepAuthentication: true}
		require.NoError(t, ap.Write(ctx, content("Lea", 400), opts), "FCP % X", fcp)
		got, err := ap.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, "Lea", got.Identity.UserID)
		assert.Equal(t, 500-typed.Overhead, ap.Capacity())
	}
}
