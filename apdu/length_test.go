package apdu

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shortOnlyCard answers like a card behind a reader without extended
// length: an extended APDU is refused (by refuse), a short one gets data of
// min(Ne, 256) bytes (a READ BINARY of a long file) or, for chained data,
// 9000 per link and the total data length in the last answer.
type shortOnlyCard struct {
	refuse  func() ([]byte, error)
	got     [][]byte
	chained int
}

func (s *shortOnlyCard) Transmit(_ context.Context, raw []byte) ([]byte, error) {
	s.got = append(s.got, append([]byte(nil), raw...))
	cmd, err := ParseCommand(raw)
	if err != nil {
		return nil, err
	}
	if cmd.Extended {
		return s.refuse()
	}
	if cmd.CLA&claChaining != 0 {
		s.chained += len(cmd.Data)
		return []byte{0x90, 0x00}, nil
	}
	if len(cmd.Data) > 0 {
		n := s.chained + len(cmd.Data)
		s.chained = 0
		return []byte{byte(n >> 8), byte(n), 0x90, 0x00}, nil
	}
	return append(bytes.Repeat([]byte{0xAB}, cmd.Ne), 0x90, 0x00), nil
}

// holder is a transport keeping a LengthSupport, as reader.Card does.
type holder struct {
	Transport
	ls LengthSupport
}

func (h *holder) LengthSupport() *LengthSupport { return &h.ls }

var errReaderRefused = errors.New("reader: SCARD_E_INSUFFICIENT_BUFFER")

func TestChannelLearnsExtendedLength(t *testing.T) {
	sw6700 := func() ([]byte, error) { return []byte{0x67, 0x00}, nil }
	transportErr := func() ([]byte, error) { return nil, errReaderRefused }
	readLong := Command{INS: InsReadBinary, Ne: 1000}
	writeLong := Command{INS: InsUpdateBinary, Data: bytes.Repeat([]byte{1}, 600)}
	tests := []struct {
		name    string
		refuse  func() ([]byte, error)
		cmd     Command
		wantLen int // response data bytes
		wantAPD []string
	}{
		{"6700 to an extended read", sw6700, readLong, 256, []string{"00B00000" + "0003E8", "00B0000000"}},
		{"transport error to an extended read", transportErr, readLong, 256, []string{"00B00000" + "0003E8", "00B0000000"}},
		{"6700 to an extended write: chained", sw6700, writeLong, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := &shortOnlyCard{refuse: tc.refuse}
			h := &holder{Transport: card}
			ch := NewChannel(h, ChannelConfig{ExtendedLength: true})
			require.True(t, ch.ExtendedLength())
			r, err := ch.Send(context.Background(), tc.cmd)
			require.NoError(t, err)
			assert.Equal(t, SWSuccess, r.SW)
			assert.Len(t, r.Data, tc.wantLen)
			if tc.wantAPD != nil {
				assert.Equal(t, tc.wantAPD, hexes(card.got))
			}
			if len(tc.cmd.Data) > 0 {
				assert.Equal(t, []byte{0x02, 0x58}, r.Data, "all 600 bytes reached the card by chaining")
			}
			// Learned on the connection: this Channel and a new one over
			// the same transport send short APDUs at once.
			assert.Equal(t, Unsupported, h.ls.Load())
			assert.False(t, ch.ExtendedLength())
			for _, c := range []*Channel{ch, NewChannel(h, ChannelConfig{ExtendedLength: true})} {
				card.got = nil
				_, err = c.Send(context.Background(), readLong)
				require.NoError(t, err)
				assert.Equal(t, []string{"00B0000000"}, hexes(card.got), "no second extended try")
			}
		})
	}
}

func TestChannelExtendedLengthSupportedIsNotResent(t *testing.T) {
	// The first extended command works: supported. A later 6700 is the
	// card's answer, not a reader's refusal: returned, never resent.
	card := replies(h("0102 9000"), h("6700"))
	ch := NewChannel(card, ChannelConfig{ExtendedLength: true})
	_, err := ch.Send(context.Background(), Command{INS: InsReadBinary, Ne: 1000})
	require.NoError(t, err)
	assert.Equal(t, Supported, ch.LengthSupport().Load())
	r, err := ch.Send(context.Background(), Command{INS: InsReadBinary, Ne: 1000})
	require.NoError(t, err)
	assert.Equal(t, ErrWrongLength, r.SW)
	assert.Len(t, card.got, 2)
}

func TestChannelExtendedLengthFallbackLimits(t *testing.T) {
	readLong := Command{INS: InsReadBinary, Ne: 1000}
	t.Run("6700 to both forms: not learned", func(t *testing.T) {
		card := replies(h("6700"), h("6700"))
		ch := NewChannel(card, ChannelConfig{ExtendedLength: true})
		r, err := ch.Send(context.Background(), readLong)
		require.NoError(t, err)
		assert.Equal(t, ErrWrongLength, r.SW)
		assert.Equal(t, SupportUnknown, ch.LengthSupport().Load())
	})
	t.Run("context cancelled: no resend", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		card := &scriptCard{respond: func(context.Context, []byte, int) ([]byte, error) {
			cancel()
			return nil, context.Canceled
		}}
		_, err := NewChannel(card, ChannelConfig{ExtendedLength: true}).Send(ctx, readLong)
		require.ErrorIs(t, err, context.Canceled)
		assert.Len(t, card.got, 1)
	})
	t.Run("card removed: both errors kept", func(t *testing.T) {
		card := &scriptCard{respond: func(context.Context, []byte, int) ([]byte, error) { return nil, ErrCardRemoved }}
		ch := NewChannel(card, ChannelConfig{ExtendedLength: true})
		_, err := ch.Send(context.Background(), readLong)
		require.ErrorIs(t, err, ErrCardRemoved)
		assert.Len(t, card.got, 2, "one short resend")
		assert.Equal(t, SupportUnknown, ch.LengthSupport().Load())
	})
	t.Run("announced unsupported: never tried", func(t *testing.T) {
		card := &shortOnlyCard{refuse: func() ([]byte, error) { t.Fatal("extended APDU sent"); return nil, nil }}
		h := &holder{Transport: card}
		h.ls.Store(Unsupported)
		_, err := NewChannel(h, ChannelConfig{ExtendedLength: true}).Send(context.Background(), readLong)
		require.NoError(t, err)
	})
	t.Run("short commands are not a try", func(t *testing.T) {
		card := replies(h("9000"))
		ch := NewChannel(card, ChannelConfig{ExtendedLength: true})
		_, err := ch.Send(context.Background(), Command{INS: InsReadBinary, Ne: 200})
		require.NoError(t, err)
		assert.Equal(t, SupportUnknown, ch.LengthSupport().Load())
	})
	t.Run("explicit LengthSupport", func(t *testing.T) {
		var ls LengthSupport
		ch := NewChannel(replies(h("9000")), ChannelConfig{ExtendedLength: true, Length: &ls})
		assert.Same(t, &ls, ch.LengthSupport())
	})
}

func TestSupportString(t *testing.T) {
	for s, want := range map[Support]string{SupportUnknown: "unknown", Supported: "supported", Unsupported: "unsupported", 7: "support(7)"} {
		assert.Equal(t, want, s.String())
	}
}

func TestChannelOverChannelKeepsUnsupported(t *testing.T) {
	// As under secure messaging: a Channel over a Channel over the
	// connection. The lower one falls back; the upper one, which saw a
	// successful answer, must not record extended length as supported.
	card := &shortOnlyCard{refuse: func() ([]byte, error) { return []byte{0x67, 0x00}, nil }}
	h := &holder{Transport: card}
	lower := NewChannel(h, ChannelConfig{ExtendedLength: true})
	upper := NewChannel(lower, ChannelConfig{ExtendedLength: true})
	assert.Same(t, &h.ls, upper.LengthSupport())
	r, err := upper.Send(context.Background(), Command{INS: InsReadBinary, Ne: 1000})
	require.NoError(t, err)
	assert.Equal(t, SWSuccess, r.SW)
	assert.Equal(t, Unsupported, h.ls.Load())
}
