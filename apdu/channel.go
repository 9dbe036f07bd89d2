package apdu

import (
	"context"
	"errors"
	"fmt"
)

// Defaults of a Channel.
const (
	// DefaultGetResponseLimit bounds the GET RESPONSE rounds that follow one
	// command.
	DefaultGetResponseLimit = 64
	// DefaultMaxResponseSize bounds the assembled response, status word
	// included: the largest extended response (65536 data bytes) plus SW.
	DefaultMaxResponseSize = MaxExtendedNe + 2
)

// ErrTooManyGetResponses is returned when the card still answers 61xx after
// the configured number of GET RESPONSE rounds.
var ErrTooManyGetResponses = errors.New("apdu: too many GET RESPONSE rounds")

// claChaining is the command-chaining bit of an interindustry CLA
// (ISO/IEC 7816-4, class byte).
const claChaining = 0x10

// Channel is a Transport decorator that turns the transmission-level
// status words of ISO/IEC 7816-4 (status bytes 61xx and 6Cxx, command
// chaining by the class byte) into whole responses:
//
//   - 61xx: GET RESPONSE (00 C0 00 00 Le = SW2, 00 meaning 256) is sent in a
//     bounded loop and the data of every part is concatenated;
//   - 6Cxx: the same command is sent once more with Le = SW2 (a chained
//     command is sent again whole, chain included);
//   - a command whose data exceeds 255 bytes is split by command chaining
//     (CLA bit 0x10 on all but the last part) when the card has no
//     extended length (ChannelConfig.ExtendedLength); Ne above 256 is then sent
//     as Le = 00 and the rest is fetched by GET RESPONSE. The chain and
//     its GET RESPONSE rounds run inside one transaction of the wrapped
//     transport (see WithTransaction; free when the caller already holds
//     one), so other applications cannot break it.
//
// The assembled response is bounded (ChannelConfig.MaxResponseSize). Transport errors
// are returned wrapped (errors.Is keeps working for ErrCardRemoved,
// context.Canceled and the like), never swallowed. Channel works at the raw
// level, so it can sit under or over secure messaging. Its only mutable
// state is what it learns about extended length (LengthSupport); it is
// safe for concurrent use as far as the wrapped transport is.
type Channel struct {
	next             Transport
	getResponseLimit int
	maxResponseSize  int
	extendedLength   bool
	length           *LengthSupport // shared with the connection, never nil
}

// ChannelConfig configures a Channel. The zero value is the default:
// short APDUs only, DefaultGetResponseLimit, DefaultMaxResponseSize.
type ChannelConfig struct {
	// ExtendedLength lets the Channel send extended length APDUs. When
	// false, the Channel sends short APDUs only: longer data is chained
	// and Ne above 256 is requested as 256 followed by GET RESPONSE. When
	// true, it sends extended APDUs unless the connection's LengthSupport
	// says they are unsupported; while that is not known, the first
	// extended APDU refused (6700, or a transport error other than the
	// context's) is resent once in short form and the answer recorded
	// (see LengthSupport): many readers have no extended length.
	ExtendedLength bool
	// Length is where the Channel keeps what it learns about extended
	// length. nil: the LengthSupport of the transport (LengthSupportOf),
	// or one of the Channel's own.
	Length *LengthSupport
	// GetResponseLimit is the largest number of GET RESPONSE rounds that
	// follow one command: 0 means DefaultGetResponseLimit, a negative
	// value allows none (any 61xx then fails with ErrTooManyGetResponses).
	GetResponseLimit int
	// MaxResponseSize bounds the assembled response, status word
	// included: 0 (or any value below 2) means DefaultMaxResponseSize.
	// Larger responses fail with ErrResponseTooLarge.
	MaxResponseSize int
}

// NewChannel returns a Channel over t configured by cfg.
func NewChannel(t Transport, cfg ChannelConfig) *Channel {
	c := &Channel{
		next:             t,
		getResponseLimit: DefaultGetResponseLimit,
		maxResponseSize:  DefaultMaxResponseSize,
		extendedLength:   cfg.ExtendedLength,
		length:           cfg.Length,
	}
	if c.length == nil {
		c.length = LengthSupportOf(t)
	}
	if c.length == nil {
		c.length = new(LengthSupport)
	}
	switch {
	case cfg.GetResponseLimit < 0:
		c.getResponseLimit = 0
	case cfg.GetResponseLimit > 0:
		c.getResponseLimit = cfg.GetResponseLimit
	}
	if cfg.MaxResponseSize >= 2 {
		c.maxResponseSize = cfg.MaxResponseSize
	}
	return c
}

// Unwrap returns the wrapped transport.
func (c *Channel) Unwrap() Transport { return c.next }

// ExtendedLength reports whether the Channel sends extended length APDUs
// now: allowed by its configuration and not learned to be unsupported.
func (c *Channel) ExtendedLength() bool {
	return c.extendedLength && c.length.Load() != Unsupported
}

// LengthSupport returns what the Channel knows about extended length on
// its connection.
func (c *Channel) LengthSupport() *LengthSupport { return c.length }

// Transmit sends a raw command APDU and returns the complete response
// (data || SW1 SW2) after GET RESPONSE, 6Cxx retry and chaining. A raw
// command that is no valid APDU fails with ErrInvalidCommand. A status word
// other than 9000 is part of the response, not an error.
func (c *Channel) Transmit(ctx context.Context, raw []byte) ([]byte, error) {
	cmd, err := ParseCommand(raw)
	if err != nil {
		return nil, err
	}
	return c.transmit(ctx, cmd, raw)
}

// Send encodes cmd, transmits it like Transmit and parses the response.
func (c *Channel) Send(ctx context.Context, cmd Command) (Response, error) {
	if err := cmd.validate(); err != nil {
		return Response{}, err
	}
	var raw []byte
	if c.ExtendedLength() || !cmd.IsExtended() {
		var err error
		if raw, err = cmd.Bytes(); err != nil {
			return Response{}, err
		}
	}
	b, err := c.transmit(ctx, cmd, raw)
	if err != nil {
		return Response{}, err
	}
	return ParseResponse(b)
}

// Do sends cmd and returns the response data, with the status word as the
// error when it is not 9000 (see StatusWord.Err: errors.Is(err,
// ErrFileNotFound), errors.As(err, &*TriesError)). The data is returned even
// when the status word is an error, for warnings such as 6282.
func (c *Channel) Do(ctx context.Context, cmd Command) ([]byte, error) {
	r, err := c.Send(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return r.Data, r.SW.Err()
}

// continuationKey marks the context of a GET RESPONSE with the INS of the
// command whose response it fetches, so that Trace can mask it like that
// command's response.
type continuationKey struct{}

// continuationINS returns the INS a GET RESPONSE continues, if any.
func continuationINS(ctx context.Context) (byte, bool) {
	ins, ok := ctx.Value(continuationKey{}).(byte)
	return ins, ok
}

// step names an exchange in error messages without formatting on the happy
// path.
type step struct {
	what string
	n    int
}

// String names the step, for example "GET RESPONSE round 3".
func (s step) String() string {
	if s.n > 0 {
		return fmt.Sprintf("%s %d", s.what, s.n)
	}
	return s.what
}

// transmit runs one logical command. raw, when not nil, is the encoding of
// cmd and is sent as is. A command sent by chaining runs inside a
// transaction of the transport (WithTransaction), so that no other
// application's APDU can land inside the chain; other commands add no
// transaction of their own.
func (c *Channel) transmit(ctx context.Context, cmd Command, raw []byte) ([]byte, error) {
	if !cmd.IsExtended() {
		return c.run(ctx, cmd, raw, false)
	}
	if c.extendedLength {
		switch c.length.Load() {
		case Supported:
			return c.run(ctx, cmd, raw, false)
		case SupportUnknown:
			return c.tryExtended(ctx, cmd, raw)
		}
	}
	short, chained, err := shortForm(cmd)
	if err != nil {
		return nil, err
	}
	return c.sendShort(ctx, short, chained)
}

// sendShort sends a command in short form, by chaining when its data
// needs it.
func (c *Channel) sendShort(ctx context.Context, cmd Command, chained bool) ([]byte, error) {
	if !chained {
		return c.run(ctx, cmd, nil, false)
	}
	var out []byte
	err := WithTransaction(ctx, c.next, func(ctx context.Context) error {
		var err error
		out, err = c.run(ctx, cmd, nil, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// run sends cmd (chained or not, see transmit), then fetches the rest of
// the response with GET RESPONSE.
func (c *Channel) run(ctx context.Context, cmd Command, raw []byte, chained bool) ([]byte, error) {
	var resp []byte
	var err error
	if chained {
		// A 6Cxx ends the chain on the card: the resend with Le = SW2 is
		// the whole chain again, never its last link alone (which the
		// card would take for a complete command with part of the data).
		resp, err = c.sendChain(ctx, cmd, "")
		if err == nil && resp[len(resp)-2] == 0x6C {
			cmd.Ne = neOf(resp[len(resp)-1])
			resp, err = c.sendChain(ctx, cmd, ", resent after 6Cxx")
		}
	} else {
		resp, err = c.exchange(ctx, cmd, raw, step{"command", 0})
	}
	if err != nil {
		return nil, err
	}
	if resp[len(resp)-2] != 0x61 {
		return resp, nil
	}
	acc := make([]byte, 0, min(c.maxResponseSize, len(resp)-2+256+2))
	acc = append(acc, resp[:len(resp)-2]...)
	sw1, sw2 := resp[len(resp)-2], resp[len(resp)-1]
	grCtx := context.WithValue(ctx, continuationKey{}, byte(cmd.INS))
	// One buffer serves every round: a Transport does not retain cmd.
	grRaw := make([]byte, 0, 5)
	for round := 1; sw1 == 0x61; round++ {
		if round > c.getResponseLimit {
			return nil, fmt.Errorf("%w: card still answers %02X%02X after %d rounds", ErrTooManyGetResponses, sw1, sw2, c.getResponseLimit)
		}
		gr := Command{CLA: getResponseCLA(cmd.CLA), INS: InsGetResponse, Ne: neOf(sw2)}
		grRaw, _ = gr.AppendTo(grRaw[:0]) // a short case 2 command always encodes
		resp, err = c.exchange(grCtx, gr, grRaw, step{"GET RESPONSE round", round})
		if err != nil {
			return nil, err
		}
		n := len(resp) - 2
		if len(acc)+n+2 > c.maxResponseSize {
			return nil, fmt.Errorf("%w: more than %d bytes after %d GET RESPONSE rounds", ErrResponseTooLarge, c.maxResponseSize, round)
		}
		acc = append(acc, resp[:n]...)
		sw1, sw2 = resp[n], resp[n+1]
	}
	return append(acc, sw1, sw2), nil
}

// sendChain sends cmd, whose data exceeds a short APDU, by command
// chaining: links of 255 bytes with the CLA chaining bit, then the last
// part with Ne. It returns the answer to the last part, or to the first
// link the card refuses (which is then the answer to the command). A link
// answered 6Cxx is resent once like any APDU; the caller handles a 6Cxx
// answer to the last part. suffix names a resend in error messages.
func (c *Channel) sendChain(ctx context.Context, cmd Command, suffix string) ([]byte, error) {
	data := cmd.Data
	for part := 1; len(data) > MaxShortLc; part++ {
		link := Command{CLA: cmd.CLA | claChaining, INS: cmd.INS, P1: cmd.P1, P2: cmd.P2, Data: data[:MaxShortLc]}
		resp, err := c.exchange(ctx, link, nil, step{"chained part" + suffix, part})
		if err != nil {
			return nil, err
		}
		if sw := swOf(resp); sw != SWSuccess {
			// The card refused a link of the chain: its answer is the
			// answer to the command.
			return resp, nil
		}
		data = data[MaxShortLc:]
	}
	cmd.Data = data
	return c.send(ctx, cmd, nil, step{"last chained part" + suffix, 0})
}

// neOf is the Ne that SW2 of 61xx or 6Cxx announces (00 means 256).
func neOf(sw2 byte) int {
	if sw2 == 0 {
		return MaxShortNe
	}
	return int(sw2)
}

// exchange sends one APDU (raw, or cmd encoded when raw is nil), checks the
// response's size and handles 6Cxx by one resend with Le = SW2.
func (c *Channel) exchange(ctx context.Context, cmd Command, raw []byte, s step) ([]byte, error) {
	resp, err := c.send(ctx, cmd, raw, s)
	if err != nil {
		return nil, err
	}
	if resp[len(resp)-2] != 0x6C {
		return resp, nil
	}
	cmd.Ne = neOf(resp[len(resp)-1])
	return c.send(ctx, cmd, nil, step{s.String() + ", resent after 6Cxx", 0})
}

// send transmits one APDU after checking ctx, and validates the response
// size.
func (c *Channel) send(ctx context.Context, cmd Command, raw []byte, s step) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("apdu: channel: before %s: %w", s, err)
	}
	if raw == nil {
		var err error
		if raw, err = cmd.Bytes(); err != nil {
			return nil, err
		}
	}
	resp, err := c.next.Transmit(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("apdu: channel: %s (INS %02X): %w", s, cmd.INS, err)
	}
	if len(resp) < 2 {
		return nil, fmt.Errorf("%w: %d bytes in answer to %s (INS %02X)", ErrMalformedResponse, len(resp), s, cmd.INS)
	}
	if len(resp) > c.maxResponseSize {
		return nil, fmt.Errorf("%w: %d bytes in answer to %s (INS %02X), limit %d", ErrResponseTooLarge, len(resp), s, cmd.INS, c.maxResponseSize)
	}
	return resp, nil
}

// swOf returns the status word at the end of a response of at least two
// bytes.
func swOf(resp []byte) StatusWord {
	n := len(resp)
	return StatusWord(uint16(resp[n-2])<<8 | uint16(resp[n-1]))
}

// getResponseCLA keeps the logical channel of cla for GET RESPONSE and
// drops chaining and secure messaging indications (ISO/IEC 7816-4, class byte).
// Proprietary classes get the interindustry CLA 00.
func getResponseCLA(cla byte) byte {
	switch {
	case cla&0xE0 == 0x00: // first interindustry values 00-1F
		return cla & 0x03
	case cla&0xC0 == 0x40: // further interindustry values 40-7F
		return cla & 0x4F
	}
	return 0x00
}
