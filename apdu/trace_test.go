package apdu

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// secretPIN and secretChallenge are distinctive byte strings whose every
// rendering must stay out of the log.
var (
	secretPIN       = []byte("S3cr3tPIN!")
	secretChallenge = h("DEADBEEFCAFEBABE")
	secretKeyBytes  = h("0F1E2D3C4B5A6978")
)

func newLog(level slog.Level) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})), &buf
}

// assertNoSecret fails when any rendering of secret appears in log.
func assertNoSecret(t *testing.T, log string, secret []byte) {
	t.Helper()
	forms := []string{
		string(secret),
		strings.ToUpper(hex.EncodeToString(secret)),
		strings.ToLower(hex.EncodeToString(secret)),
	}
	if len(secret) >= 8 {
		// A secret cut in the middle is still a leak: check its halves.
		forms = append(forms,
			strings.ToUpper(hex.EncodeToString(secret[:len(secret)/2])),
			strings.ToUpper(hex.EncodeToString(secret[len(secret)/2:])))
	}
	for _, form := range forms {
		assert.NotContains(t, log, form)
	}
}

func TestTraceLogsExchange(t *testing.T) {
	logger, buf := newLog(slog.LevelDebug)
	card := replies(h("6F10 9000"))
	tr := NewTrace(card, TraceConfig{Logger: logger})
	got, err := tr.Transmit(context.Background(), h("00A4040C 02 3F00"))
	require.NoError(t, err)
	assert.Equal(t, h("6F10 9000"), got)
	log := buf.String()
	assert.Contains(t, log, "level=DEBUG")
	assert.Contains(t, log, "msg=apdu")
	assert.Contains(t, log, "cmd=00A4040C023F00")
	assert.Contains(t, log, "rsp=6F109000")
	assert.Contains(t, log, "sw=9000")
	assert.Contains(t, log, "duration=")
	assert.Same(t, Transport(card), tr.Unwrap())
}

func TestTraceMasksSecrets(t *testing.T) {
	tests := []struct {
		name    string
		cfg     TraceConfig
		ctx     func(context.Context) context.Context
		cmd     []byte
		reply   []byte
		secret  []byte
		showCmd string
		showRsp string
	}{
		{
			name: "VERIFY", cmd: append(h("00200080 0A"), secretPIN...), reply: h("9000"), secret: secretPIN,
			showCmd: "cmd=\"00200080 0A <masked 10 bytes>\"", showRsp: "rsp=9000",
		},
		{
			name: "VERIFY odd INS", cmd: append(h("00210080 0A"), secretPIN...), reply: h("9000"), secret: secretPIN,
			showCmd: "<masked 10 bytes>",
		},
		{
			name: "VERIFY extended", cmd: append(h("00200080 00000A"), secretPIN...), reply: h("63C2"), secret: secretPIN,
			showCmd: "cmd=\"00200080 00000A <masked 10 bytes>\"", showRsp: "sw=63C2",
		},
		{
			name: "CHANGE REFERENCE DATA", cmd: append(append(h("00240080 14"), secretPIN...), secretPIN...), reply: h("9000"), secret: secretPIN,
			showCmd: "<masked 20 bytes>",
		},
		{
			name: "RESET RETRY COUNTER", cmd: append(h("002C0080 0A"), secretPIN...), reply: h("9000"), secret: secretPIN,
			showCmd: "<masked 10 bytes>",
		},
		{
			name: "GET CHALLENGE response", cmd: h("0084000008"), reply: append(append([]byte{}, secretChallenge...), 0x90, 0x00), secret: secretChallenge,
			showCmd: "cmd=0084000008", showRsp: "rsp=\"<masked 8 bytes> 9000\"",
		},
		{
			name: "MUTUAL AUTHENTICATE command", cmd: append(h("00820000 08"), secretKeyBytes...), reply: h("9000"), secret: secretKeyBytes,
			showCmd: "<masked 8 bytes>",
		},
		{
			name: "MUTUAL AUTHENTICATE response", cmd: h("00820000 01 00 00"), reply: append(append([]byte{}, secretKeyBytes...), 0x90, 0x00), secret: secretKeyBytes,
			showCmd: "cmd=\"00820000 01 <masked 1 bytes> 00\"", showRsp: "<masked 8 bytes> 9000",
		},
		{
			name: "extra INS", cfg: TraceConfig{MaskedINS: []Ins{0x2A}}, cmd: append(h("802A0080 08"), secretKeyBytes...),
			reply: append(append([]byte{}, secretKeyBytes...), 0x90, 0x00), secret: secretKeyBytes,
			showCmd: "<masked 8 bytes>", showRsp: "<masked 8 bytes> 9000",
		},
		{
			name: "marked by context", ctx: WithSecret, cmd: append(h("00DA0101 08"), secretKeyBytes...),
			reply: append(append([]byte{}, secretChallenge...), 0x90, 0x00), secret: append(append([]byte{}, secretKeyBytes...), secretChallenge...),
			showCmd: "<masked 8 bytes>", showRsp: "<masked 8 bytes> 9000",
		},
		{
			name: "unparseable secret command", cmd: append(h("00200080 FF"), secretPIN...), reply: h("6700"), secret: secretPIN,
			showCmd: "cmd=\"00200080 <masked 11 bytes>\"", showRsp: "rsp=6700",
		},
		{
			name: "secret shorter than a header", ctx: WithSecret, cmd: h("A7B3"), reply: h("9000"), secret: h("A7B3"),
			showCmd: "cmd=\"<masked 2 bytes>\"",
		},
		{
			name: "secret short response", ctx: WithSecret, cmd: h("00DA0000"), reply: h("C9"), secret: h("C9"),
			showRsp: "rsp=\"<masked 1 bytes>\"",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logger, buf := newLog(slog.LevelDebug)
			cfg := tc.cfg
			cfg.Logger = logger
			tr := NewTrace(replies(tc.reply), cfg)
			ctx := context.Background()
			if tc.ctx != nil {
				ctx = tc.ctx(ctx)
			}
			got, err := tr.Transmit(ctx, tc.cmd)
			require.NoError(t, err)
			assert.Equal(t, tc.reply, got, "masking never changes what is returned")
			log := buf.String()
			assertNoSecret(t, log, tc.secret)
			assert.Contains(t, log, tc.showCmd)
			assert.Contains(t, log, tc.showRsp)
		})
	}
}

func TestTraceUnderChannelMasksGetResponse(t *testing.T) {
	logger, buf := newLog(slog.LevelDebug)
	card := replies(h("6108"), append(append([]byte{}, secretChallenge...), 0x90, 0x00))
	ch := NewChannel(NewTrace(card, TraceConfig{Logger: logger}), ChannelConfig{})
	got, err := ch.Transmit(context.Background(), h("0084000000"))
	require.NoError(t, err)
	assert.Equal(t, append(append([]byte{}, secretChallenge...), 0x90, 0x00), got)
	log := buf.String()
	assertNoSecret(t, log, secretChallenge)
	assert.Contains(t, log, "cmd=00C0000008")
	assert.Contains(t, log, "<masked 8 bytes> 9000")

	// GET RESPONSE for a harmless command stays visible.
	buf.Reset()
	card = replies(h("6102"), h("0102 9000"))
	_, err = NewChannel(NewTrace(card, TraceConfig{Logger: logger}), ChannelConfig{}).Transmit(context.Background(), h("00B0000000"))
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "rsp=01029000")
}

func TestTraceOverChannelMasksAssembledResponse(t *testing.T) {
	logger, buf := newLog(slog.LevelDebug)
	card := replies(h("6108"), append(append([]byte{}, secretChallenge...), 0x90, 0x00))
	tr := NewTrace(NewChannel(card, ChannelConfig{}), TraceConfig{Logger: logger})
	_, err := tr.Transmit(context.Background(), h("0084000000"))
	require.NoError(t, err)
	assertNoSecret(t, buf.String(), secretChallenge)
}

func TestTraceUnsafeLogSecrets(t *testing.T) {
	logger, buf := newLog(slog.LevelDebug)
	tr := NewTrace(replies(h("9000")), TraceConfig{Logger: logger, UnsafeLogSecrets: true})
	_, err := tr.Transmit(WithSecret(context.Background()), append(h("00200080 0A"), secretPIN...))
	require.NoError(t, err)
	assert.Contains(t, buf.String(), strings.ToUpper(hex.EncodeToString(secretPIN)),
		"with masking disabled the PIN is visible: proves the search above can find it")
	assert.NotContains(t, buf.String(), "masked")
}

func TestTraceLevel(t *testing.T) {
	logger, buf := newLog(slog.LevelInfo)
	card := replies(h("9000"), h("9000"))
	_, err := NewTrace(card, TraceConfig{Logger: logger}).Transmit(context.Background(), h("00A40000"))
	require.NoError(t, err)
	assert.Empty(t, buf.String(), "debug records dropped by an info handler")

	_, err = NewTrace(card, TraceConfig{Logger: logger, Level: slog.LevelInfo}).Transmit(context.Background(), h("00A40000"))
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "level=INFO")
	assert.Len(t, card.got, 2)
}

func TestTraceTransportError(t *testing.T) {
	logger, buf := newLog(slog.LevelDebug)
	tr := NewTrace(replies(), TraceConfig{Logger: logger})
	_, err := tr.Transmit(context.Background(), append(h("00200080 0A"), secretPIN...))
	require.ErrorIs(t, err, ErrCardRemoved, "the error is passed on unchanged")
	log := buf.String()
	assert.Contains(t, log, "err=")
	assert.Contains(t, log, "card removed")
	assert.NotContains(t, log, "rsp=")
	assertNoSecret(t, log, secretPIN)
}

func TestTraceDefaults(t *testing.T) {
	tr := NewTrace(replies(), TraceConfig{})
	assert.False(t, tr.logger.Enabled(context.Background(), slog.LevelError), "a nil logger discards")
	assert.Equal(t, slog.LevelDebug, tr.level)
	ins := DefaultMaskedINS()
	for _, i := range []Ins{InsVerify, InsChangeReferenceData, InsResetRetryCounter, InsMutualAuthenticate, InsGetChallenge} {
		assert.Contains(t, ins, i)
	}
	ins[0] = 0xB0
	assert.NotContains(t, DefaultMaskedINS(), InsReadBinary, "returns a copy")
	assert.False(t, IsSecret(context.Background()))
	assert.True(t, IsSecret(WithSecret(context.Background())))
}
