package apdu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scriptCard is an in-memory Transport that records every command and
// answers through respond (n counts commands from 0).
type scriptCard struct {
	got     [][]byte
	respond func(ctx context.Context, cmd []byte, n int) ([]byte, error)
}

func (s *scriptCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	n := len(s.got)
	s.got = append(s.got, append([]byte(nil), cmd...))
	return s.respond(ctx, cmd, n)
}

// replies answers the n-th command with the n-th reply and fails the test
// card (ErrCardRemoved) beyond them.
func replies(rs ...[]byte) *scriptCard {
	return &scriptCard{respond: func(_ context.Context, _ []byte, n int) ([]byte, error) {
		if n >= len(rs) {
			return nil, fmt.Errorf("script exhausted: %w", ErrCardRemoved)
		}
		return append([]byte(nil), rs[n]...), nil
	}}
}

func hexes(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = hexOf(b)
	}
	return out
}

func TestChannelPassThrough(t *testing.T) {
	card := replies(h("0102 9000"))
	ch := NewChannel(card, ChannelConfig{})
	cmd := h("00B0000002")
	got, err := ch.Transmit(context.Background(), cmd)
	require.NoError(t, err)
	assert.Equal(t, h("0102 9000"), got)
	assert.Equal(t, []string{"00B0000002"}, hexes(card.got))
	assert.Same(t, Transport(card), ch.Unwrap())
}

func TestChannelErrorStatusIsAResponse(t *testing.T) {
	card := replies(h("6A82"))
	got, err := NewChannel(card, ChannelConfig{}).Transmit(context.Background(), h("00A4040C 02 3F00"))
	require.NoError(t, err, "a status word is not a transport error")
	assert.Equal(t, h("6A82"), got)
}

// 61xx: ISO/IEC 7816-4 status bytes — GET RESPONSE with Le = SW2, 00 meaning 256.
func TestChannelGetResponse(t *testing.T) {
	part3 := seq(256)
	card := replies(h("0102 6104"), h("03040506 6100"), append(append([]byte{}, part3...), 0x90, 0x00))
	got, err := NewChannel(card, ChannelConfig{}).Transmit(context.Background(), h("00CA0101 00"))
	require.NoError(t, err)
	want := append(append(h("0102 03040506"), part3...), 0x90, 0x00)
	assert.Equal(t, want, got)
	assert.Equal(t, []string{"00CA010100", "00C0000004", "00C0000000"}, hexes(card.got))
}

func TestChannelGetResponseKeepsFinalStatus(t *testing.T) {
	card := replies(h("6102"), h("AABB 6282"))
	got, err := NewChannel(card, ChannelConfig{}).Transmit(context.Background(), h("00B0000000"))
	require.NoError(t, err)
	assert.Equal(t, h("AABB 6282"), got)
}

func TestChannelGetResponseCLA(t *testing.T) {
	tests := []struct{ cla, want byte }{
		{0x00, 0x00},
		{0x01, 0x01}, // logical channel 1 kept
		{0x03, 0x03},
		{0x0C, 0x00}, // secure messaging bits dropped
		{0x0D, 0x01},
		{0x80, 0x00}, // proprietary class: interindustry GET RESPONSE
		{0x84, 0x00},
		{0x40, 0x40}, // further interindustry, channel 4
		{0x45, 0x45},
		{0x60, 0x40}, // SM bit of further interindustry dropped
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%02X", tc.cla), func(t *testing.T) {
			card := replies(h("6101"), h("AA 9000"))
			_, err := NewChannel(card, ChannelConfig{}).Transmit(context.Background(), []byte{tc.cla, 0xB0, 0, 0, 0})
			require.NoError(t, err)
			require.Len(t, card.got, 2)
			assert.Equal(t, tc.want, card.got[1][0])
		})
	}
}

// 6Cxx: ISO/IEC 7816-4 status bytes — resend the same command with Le = SW2.
func TestChannelWrongLe(t *testing.T) {
	tests := []struct {
		name    string
		cmd     []byte
		replies [][]byte
		sent    []string
		want    []byte
	}{
		{"6C10", h("00B0000000"), [][]byte{h("6C10"), append(seq(16), 0x90, 0x00)},
			[]string{"00B0000000", "00B0000010"}, append(seq(16), 0x90, 0x00)},
		{"6C00 means 256", h("00B0000010"), [][]byte{h("6C00"), h("9000")},
			[]string{"00B0000010", "00B0000000"}, h("9000")},
		{"case 1 becomes case 2", h("00CA0101"), [][]byte{h("6C02"), h("AABB 9000")},
			[]string{"00CA0101", "00CA010102"}, h("AABB 9000")},
		{"case 4 keeps data", h("00880000 02 0102 00"), [][]byte{h("6C08"), h("1122334455667788 9000")},
			[]string{"0088000002010200", "0088000002010208"}, h("1122334455667788 9000")},
		{"only once", h("00B0000000"), [][]byte{h("6C10"), h("6C08")},
			[]string{"00B0000000", "00B0000010"}, h("6C08")},
		{"then 61xx", h("00B0000000"), [][]byte{h("6C04"), h("0102 6102"), h("0304 9000")},
			[]string{"00B0000000", "00B0000004", "00C0000002"}, h("01020304 9000")},
		{"on GET RESPONSE", h("00B0000000"), [][]byte{h("6104"), h("6C02"), h("0102 9000")},
			[]string{"00B0000000", "00C0000004", "00C0000002"}, h("0102 9000")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := replies(tc.replies...)
			got, err := NewChannel(card, ChannelConfig{}).Transmit(context.Background(), tc.cmd)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.sent, hexes(card.got))
		})
	}
}

func TestChannelWrongLeExtendedKeepsEncoding(t *testing.T) {
	card := replies(h("6C10"), h("9000"))
	_, err := NewChannel(card, ChannelConfig{ExtendedLength: true}).Transmit(context.Background(), h("00B00000 000000"))
	require.NoError(t, err)
	assert.Equal(t, []string{"00B00000000000", "00B00000000010"}, hexes(card.got))
}

// Command chaining, ISO/IEC 7816-4 (class byte): CLA bit 10 on all but the last.
func TestChannelChaining(t *testing.T) {
	data := seq(600)
	card := replies(h("9000"), h("9000"), h("AABB 9000"))
	resp, err := NewChannel(card, ChannelConfig{}).Send(context.Background(), Command{CLA: 0x80, INS: 0xD6, P1: 1, Data: data, Ne: 300})
	require.NoError(t, err)
	assert.Equal(t, h("AABB"), resp.Data)
	require.Len(t, card.got, 3)
	assert.Equal(t, append(h("90D60100 FF"), data[:255]...), card.got[0])
	assert.Equal(t, append(h("90D60100 FF"), data[255:510]...), card.got[1])
	// Last part: chaining bit clear, 90 bytes, Ne capped at 256 (Le 00).
	assert.Equal(t, append(append(h("80D60100 5A"), data[510:]...), 0x00), card.got[2])
}

// A 6Cxx to the last part of a chain ends the chain on the card: the
// resend with Le = SW2 carries the whole chain again, not the last part
// alone (which the card would take as a complete command with part of
// the data).
func TestChannelChainingWrongLeResendsTheChain(t *testing.T) {
	data := seq(600)
	var acc []byte
	card := &scriptCard{respond: func(_ context.Context, raw []byte, _ int) ([]byte, error) {
		cmd, err := ParseCommand(raw)
		if err != nil {
			return nil, err
		}
		acc = append(acc, cmd.Data...)
		if cmd.CLA&claChaining != 0 {
			return h("9000"), nil
		}
		got := acc
		acc = nil
		switch {
		case !bytes.Equal(got, data):
			return h("6700"), nil // the card saw part of the data only
		case cmd.Ne != 4:
			return h("6C04"), nil
		}
		return h("AABBCCDD 9000"), nil
	}}
	resp, err := NewChannel(card, ChannelConfig{}).Send(context.Background(), Command{INS: 0x88, Data: data, Ne: 256})
	require.NoError(t, err)
	assert.Equal(t, SWSuccess, resp.SW)
	assert.Equal(t, h("AABBCCDD"), resp.Data)
	require.Len(t, card.got, 6, "three parts, then the three again")
	assert.Equal(t, card.got[0], card.got[3])
	assert.Equal(t, card.got[1], card.got[4])
	assert.Equal(t, byte(0x04), card.got[5][len(card.got[5])-1], "Le = SW2 on the last part")
}

func TestChannelChainingExactMultiple(t *testing.T) {
	data := seq(510)
	card := replies(h("9000"), h("9000"))
	_, err := NewChannel(card, ChannelConfig{}).Transmit(context.Background(), mustBytes(t, Command{INS: 0xDA, Data: data}))
	require.NoError(t, err)
	require.Len(t, card.got, 2)
	assert.Equal(t, byte(0x10), card.got[0][0])
	assert.Equal(t, byte(0x00), card.got[1][0])
	assert.Len(t, card.got[1], 5+255)
}

func TestChannelChainingRefused(t *testing.T) {
	card := replies(h("9000"), h("6884"))
	got, err := NewChannel(card, ChannelConfig{}).Send(context.Background(), Command{INS: 0xDA, Data: seq(1000)})
	require.NoError(t, err)
	assert.Equal(t, ErrChainingNotSupported, got.SW)
	assert.Len(t, card.got, 2, "no part is sent after a refused one")
}

func TestChannelChainingInvalidCLA(t *testing.T) {
	for _, cla := range []byte{0x10, 0xFF} {
		card := replies()
		_, err := NewChannel(card, ChannelConfig{}).Send(context.Background(), Command{CLA: cla, INS: 0xDA, Data: seq(300)})
		assert.ErrorIs(t, err, ErrInvalidCommand)
		assert.Empty(t, card.got)
	}
}

func TestChannelExtendedLength(t *testing.T) {
	data := seq(600)
	card := replies(h("9000"))
	_, err := NewChannel(card, ChannelConfig{ExtendedLength: true}).Send(context.Background(), Command{INS: 0xDA, Data: data, Ne: 1000})
	require.NoError(t, err)
	require.Len(t, card.got, 1)
	want := append(append(h("00DA0000 000258"), data...), h("03E8")...)
	assert.Equal(t, want, card.got[0])
}

func TestChannelShortOnlyDowngradesNe(t *testing.T) {
	card := replies(append(seq(256), 0x61, 0x10), append(seq(16), 0x90, 0x00))
	data, err := NewChannel(card, ChannelConfig{}).Do(context.Background(), Command{INS: 0xB0, Ne: 1000})
	require.NoError(t, err)
	assert.Len(t, data, 272)
	assert.Equal(t, []string{"00B0000000", "00C0000010"}, hexes(card.got))

	// A raw extended command is converted the same way.
	card = replies(h("9000"))
	_, err = NewChannel(card, ChannelConfig{}).Transmit(context.Background(), h("00B00000 000005"))
	require.NoError(t, err)
	assert.Equal(t, []string{"00B0000005"}, hexes(card.got))
}

func TestChannelDo(t *testing.T) {
	tests := []struct {
		name   string
		reply  []byte
		data   []byte
		target error
	}{
		{"9000", h("0102 9000"), h("0102"), nil},
		{"file not found", h("6A82"), []byte{}, ErrFileNotFound},
		{"warning keeps data", h("0102 6282"), h("0102"), WarnEndOfFile},
		{"tries", h("63C2"), []byte{}, ErrVerificationFailed},
		{"blocked", h("6983"), []byte{}, ErrBlocked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := NewChannel(replies(tc.reply), ChannelConfig{}).Do(context.Background(), Command{INS: 0xB0, Ne: 256})
			assert.Equal(t, tc.data, data)
			if tc.target == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tc.target)
			}
		})
	}
	var te *TriesError
	_, err := NewChannel(replies(h("63C2")), ChannelConfig{}).Do(context.Background(), Command{INS: 0x20, P2: 0x80})
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 2, te.Remaining)
}

func TestChannelInvalidCommands(t *testing.T) {
	card := replies()
	ch := NewChannel(card, ChannelConfig{})
	_, err := ch.Transmit(context.Background(), h("00A4"))
	assert.ErrorIs(t, err, ErrInvalidCommand)
	_, err = ch.Send(context.Background(), Command{Ne: -1})
	assert.ErrorIs(t, err, ErrInvalidCommand)
	_, err = ch.Do(context.Background(), Command{Ne: MaxExtendedNe + 1})
	assert.ErrorIs(t, err, ErrInvalidCommand)
	assert.Empty(t, card.got)
}

// --- hostile cards ---

func TestChannelEndlessGetResponse(t *testing.T) {
	endless := &scriptCard{respond: func(context.Context, []byte, int) ([]byte, error) {
		return h("AA 6101"), nil
	}}
	_, err := NewChannel(endless, ChannelConfig{}).Transmit(context.Background(), h("00B0000000"))
	require.ErrorIs(t, err, ErrTooManyGetResponses)
	assert.Len(t, endless.got, 1+DefaultGetResponseLimit)

	endless.got = nil
	_, err = NewChannel(endless, ChannelConfig{GetResponseLimit: 3}).Transmit(context.Background(), h("00B0000000"))
	require.ErrorIs(t, err, ErrTooManyGetResponses)
	assert.Len(t, endless.got, 4)

	endless.got = nil
	_, err = NewChannel(endless, ChannelConfig{GetResponseLimit: -1}).Transmit(context.Background(), h("00B0000000"))
	require.ErrorIs(t, err, ErrTooManyGetResponses)
	assert.Len(t, endless.got, 1, "a negative limit allows no GET RESPONSE")

	endless.got = nil
	_, err = NewChannel(endless, ChannelConfig{}).Transmit(context.Background(), h("00B0000000"))
	require.ErrorIs(t, err, ErrTooManyGetResponses, "zero is the default")
	assert.Len(t, endless.got, 1+DefaultGetResponseLimit)
}

func TestChannelEndlessWrongLe(t *testing.T) {
	endless := &scriptCard{respond: func(context.Context, []byte, int) ([]byte, error) {
		return h("6C05"), nil
	}}
	got, err := NewChannel(endless, ChannelConfig{}).Transmit(context.Background(), h("00B0000000"))
	require.NoError(t, err)
	assert.Equal(t, h("6C05"), got, "after one resend the card's answer is returned")
	assert.Len(t, endless.got, 2)

	// 6Cxx answered to every GET RESPONSE: one resend per round, still bounded.
	alternating := &scriptCard{respond: func(_ context.Context, cmd []byte, n int) ([]byte, error) {
		if Ins(cmd[1]) == InsGetResponse && n%2 == 1 {
			return h("6C01"), nil
		}
		return h("AA 6101"), nil
	}}
	_, err = NewChannel(alternating, ChannelConfig{GetResponseLimit: 10}).Transmit(context.Background(), h("00B0000000"))
	require.ErrorIs(t, err, ErrTooManyGetResponses)
	assert.Len(t, alternating.got, 1+2*10)
}

func TestChannelResponseTooLarge(t *testing.T) {
	big := &scriptCard{respond: func(context.Context, []byte, int) ([]byte, error) {
		return append(seq(256), 0x61, 0x00), nil
	}}
	_, err := NewChannel(big, ChannelConfig{GetResponseLimit: 1000}).Transmit(context.Background(), h("00B0000000"))
	require.ErrorIs(t, err, ErrResponseTooLarge)
	// 65538 bytes allow 256 parts of 256 bytes; the 257th is too much.
	assert.Len(t, big.got, 257)

	one := replies(append(seq(20), 0x90, 0x00))
	_, err = NewChannel(one, ChannelConfig{MaxResponseSize: 10}).Transmit(context.Background(), h("00B0000000"))
	require.ErrorIs(t, err, ErrResponseTooLarge)

	exact := replies(append(seq(8), 0x90, 0x00))
	got, err := NewChannel(exact, ChannelConfig{MaxResponseSize: 10}).Transmit(context.Background(), h("00B0000000"))
	require.NoError(t, err, "limit includes SW; values below 2 ignored")
	assert.Len(t, got, 10)
}

func TestChannelShortResponses(t *testing.T) {
	tests := []struct {
		name    string
		replies [][]byte
	}{
		{"empty", [][]byte{{}}},
		{"nil", [][]byte{nil}},
		{"one byte", [][]byte{h("90")}},
		{"short GET RESPONSE", [][]byte{h("6104"), h("61")}},
		{"short after 6C", [][]byte{h("6C04"), h("")}},
		{"short chained part", [][]byte{h("90")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := replies(tc.replies...)
			var err error
			if tc.name == "short chained part" {
				_, err = NewChannel(card, ChannelConfig{}).Send(context.Background(), Command{INS: 0xDA, Data: seq(300)})
			} else {
				_, err = NewChannel(card, ChannelConfig{}).Transmit(context.Background(), h("00B0000000"))
			}
			require.ErrorIs(t, err, ErrMalformedResponse)
			assert.Len(t, card.got, len(tc.replies))
		})
	}
}

func TestChannelTransportErrorsPropagate(t *testing.T) {
	tests := []struct {
		name    string
		replies [][]byte // the card is removed after these
		cmd     Command
		mention string
	}{
		{"first command", nil, Command{INS: 0xB0, Ne: 256}, "command"},
		{"GET RESPONSE round 2", [][]byte{h("6101"), h("AA 6101")}, Command{INS: 0xB0, Ne: 256}, "GET RESPONSE round 2"},
		{"6C resend", [][]byte{h("6C01")}, Command{INS: 0xB0, Ne: 256}, "resent after 6Cxx"},
		{"chained part", [][]byte{h("9000")}, Command{INS: 0xDA, Data: seq(600)}, "chained part 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := replies(tc.replies...)
			_, err := NewChannel(card, ChannelConfig{}).Send(context.Background(), tc.cmd)
			require.ErrorIs(t, err, ErrCardRemoved)
			assert.Contains(t, err.Error(), tc.mention)
			_, err = NewChannel(replies(tc.replies...), ChannelConfig{}).Do(context.Background(), tc.cmd)
			require.ErrorIs(t, err, ErrCardRemoved)
		})
	}
	reset := &scriptCard{respond: func(context.Context, []byte, int) ([]byte, error) { return nil, ErrCardReset }}
	_, err := NewChannel(reset, ChannelConfig{}).Transmit(context.Background(), h("00B0000000"))
	assert.ErrorIs(t, err, ErrCardReset)
}

func TestChannelContext(t *testing.T) {
	t.Run("cancelled before", func(t *testing.T) {
		card := replies(h("9000"))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := NewChannel(card, ChannelConfig{}).Transmit(ctx, h("00B0000000"))
		require.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, card.got)
	})
	t.Run("cancelled between GET RESPONSE rounds", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		card := &scriptCard{respond: func(context.Context, []byte, int) ([]byte, error) {
			cancel() // the user gives up while the card is answering
			return h("AA 6101"), nil
		}}
		_, err := NewChannel(card, ChannelConfig{}).Transmit(ctx, h("00B0000000"))
		require.ErrorIs(t, err, context.Canceled)
		assert.Len(t, card.got, 1)
	})
	t.Run("cancelled between chained parts", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		card := &scriptCard{respond: func(context.Context, []byte, int) ([]byte, error) {
			cancel()
			return h("9000"), nil
		}}
		_, err := NewChannel(card, ChannelConfig{}).Send(ctx, Command{INS: 0xDA, Data: seq(1000)})
		require.ErrorIs(t, err, context.Canceled)
		assert.Len(t, card.got, 1)
	})
	t.Run("deadline from the transport", func(t *testing.T) {
		card := &scriptCard{respond: func(ctx context.Context, _ []byte, _ int) ([]byte, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 0)
		defer cancel()
		_, err := NewChannel(card, ChannelConfig{}).Transmit(ctx, h("00B0000000"))
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// txCard is a Transport that also implements Transactor.
type txCard struct {
	scriptCard
	txs int
}

func (c *txCard) WithTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	c.txs++
	return fn(ctx)
}

// eventCard is a Transactor that logs its transactions and APDUs in order.
type eventCard struct {
	scriptCard
	events []string
}

func (c *eventCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.events = append(c.events, fmt.Sprintf("%02X %02X", cmd[0], cmd[1]))
	return c.scriptCard.Transmit(ctx, cmd)
}

func (c *eventCard) WithTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	c.events = append(c.events, "begin")
	err := fn(ctx)
	c.events = append(c.events, "end")
	return err
}

// A chained command and its GET RESPONSE rounds run inside one transaction
// of the transport, so that another application cannot put an APDU inside
// the chain; a command sent whole adds no transaction.
func TestChannelChainRunsInATransaction(t *testing.T) {
	card := &eventCard{scriptCard: *replies(h("9000"), h("9000"), h("AA6101"), h("BB9000"), h("CC9000"))}
	ch := NewChannel(card, ChannelConfig{})
	data, err := ch.Do(context.Background(), Command{INS: 0xDA, Data: seq(600), Ne: 3})
	require.NoError(t, err)
	assert.Equal(t, h("AABB"), data)
	assert.Equal(t, []string{"begin", "10 DA", "10 DA", "00 DA", "00 C0", "end"}, card.events)

	card.events = nil
	data, err = ch.Do(context.Background(), Command{INS: 0xB0, Ne: 1})
	require.NoError(t, err)
	assert.Equal(t, h("CC"), data)
	assert.Equal(t, []string{"00 B0"}, card.events, "no transaction around a single APDU")
}

func TestChannelAndTraceExposeTheTransactor(t *testing.T) {
	card := &txCard{}
	stack := NewChannel(NewTrace(card, TraceConfig{}), ChannelConfig{})
	called := false
	err := WithTransaction(context.Background(), stack, func(context.Context) error {
		called = true
		return nil
	})
	require.NoError(t, err)
	assert.True(t, called)
	assert.Equal(t, 1, card.txs)

	sentinel := errors.New("inner")
	err = WithTransaction(context.Background(), NewChannel(replies(), ChannelConfig{}), func(context.Context) error { return sentinel })
	assert.ErrorIs(t, err, sentinel)
}

func mustBytes(t *testing.T, c Command) []byte {
	t.Helper()
	b, err := c.Bytes()
	require.NoError(t, err)
	return b
}
