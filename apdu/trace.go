package apdu

import (
	"context"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// defaultMaskedINS are the instructions whose command and response data
// Trace masks unless told otherwise (ISO/IEC 7816-4, security-related commands): VERIFY
// (20, 21), CHANGE REFERENCE DATA (24, 25), RESET RETRY COUNTER (2C, 2D),
// EXTERNAL / MUTUAL AUTHENTICATE (82), GET CHALLENGE (84), GENERAL
// AUTHENTICATE (86, 87) and INTERNAL AUTHENTICATE (88).
// A function, so that no package-level variable can be changed.
func defaultMaskedINS() []Ins {
	return []Ins{
		InsVerify, InsVerify | 1,
		InsChangeReferenceData, InsChangeReferenceData | 1,
		InsResetRetryCounter, InsResetRetryCounter | 1,
		InsMutualAuthenticate, InsGetChallenge,
		InsGeneralAuthenticate, InsGeneralAuthenticate | 1,
		InsInternalAuthenticate,
	}
}

// DefaultMaskedINS returns the instructions Trace masks by default: VERIFY
// (20, 21), CHANGE REFERENCE DATA (24, 25), RESET RETRY COUNTER (2C, 2D),
// EXTERNAL / MUTUAL AUTHENTICATE (82), GET CHALLENGE (84), GENERAL
// AUTHENTICATE (86, 87) and INTERNAL AUTHENTICATE (88).
func DefaultMaskedINS() []Ins {
	return defaultMaskedINS()
}

// secretKey marks a context whose APDU data must not be logged.
type secretKey struct{}

// WithSecret returns a context under which Trace masks the command and
// response data of every APDU, whatever the instruction. Decorators above a
// Trace (secure messaging, PIN handling) use it for exchanges that carry
// keys, cryptograms or passwords under instructions Trace does not know.
func WithSecret(ctx context.Context) context.Context {
	return context.WithValue(ctx, secretKey{}, true)
}

// IsSecret reports whether ctx was marked by WithSecret.
func IsSecret(ctx context.Context) bool {
	v, _ := ctx.Value(secretKey{}).(bool)
	return v
}

// Trace is a Transport decorator that logs every APDU exchange through
// log/slog: the command and response in hex, the status word, the duration
// and any transport error, as one record with message "apdu" and the
// attributes cmd, rsp, sw, duration and err.
//
// Secrets are masked by default: the data field of commands and responses
// of the instructions listed by DefaultMaskedINS and of any instruction
// added in TraceConfig.MaskedINS, of GET RESPONSE rounds that a Channel sends for
// such a command, and of every exchange whose context is marked by
// WithSecret. Masked data shows only its length: "<masked 8 bytes>". The
// header, length fields and status word stay visible.
type Trace struct {
	next        Transport
	logger      *slog.Logger
	level       slog.Level
	masked      [256]bool
	unsafeClear bool
}

// TraceConfig configures a Trace. The zero value logs nothing: set Logger.
type TraceConfig struct {
	// Logger receives one record per exchange; nil discards, as
	// everywhere in freespace.
	Logger *slog.Logger
	// Level is the records' level; nil means slog.LevelDebug.
	Level slog.Leveler
	// MaskedINS adds instructions whose command and response data are
	// masked, on top of DefaultMaskedINS.
	MaskedINS []Ins
	// UnsafeLogSecrets disables masking entirely: PINs, keys and
	// cryptograms are written to the log in clear. Only for test cards.
	UnsafeLogSecrets bool
}

// NewTrace returns a Trace that logs the exchanges of next as cfg says.
func NewTrace(next Transport, cfg TraceConfig) *Trace {
	t := &Trace{next: next, logger: cfg.Logger, level: slog.LevelDebug, unsafeClear: cfg.UnsafeLogSecrets}
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Level != nil {
		t.level = cfg.Level.Level()
	}
	for _, i := range defaultMaskedINS() {
		t.masked[i] = true
	}
	for _, i := range cfg.MaskedINS {
		t.masked[i] = true
	}
	return t
}

// Unwrap returns the wrapped transport.
func (t *Trace) Unwrap() Transport { return t.next }

// Transmit forwards cmd to the wrapped transport and logs the exchange.
// When the logger is not enabled for the level it adds no work.
func (t *Trace) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if !t.logger.Enabled(ctx, t.level) {
		return t.next.Transmit(ctx, cmd)
	}
	// Format the command before sending: the transport may not retain cmd
	// but the caller may reuse it once Transmit returns.
	secret := t.isSecret(ctx, cmd)
	cmdText := formatCommand(cmd, secret)
	start := time.Now()
	rsp, err := t.next.Transmit(ctx, cmd)
	dur := time.Since(start)
	attrs := make([]slog.Attr, 0, 5)
	attrs = append(attrs, slog.String("cmd", cmdText))
	if err != nil {
		attrs = append(attrs, slog.Duration("duration", dur), slog.String("err", err.Error()))
	} else {
		attrs = append(attrs, slog.String("rsp", formatResponse(rsp, secret)))
		if len(rsp) >= 2 {
			attrs = append(attrs, slog.String("sw", swOf(rsp).String()))
		}
		attrs = append(attrs, slog.Duration("duration", dur))
	}
	t.logger.LogAttrs(ctx, t.level, "apdu", attrs...)
	return rsp, err
}

func (t *Trace) isSecret(ctx context.Context, cmd []byte) bool {
	if t.unsafeClear {
		return false
	}
	if IsSecret(ctx) {
		return true
	}
	if len(cmd) >= 2 && t.masked[cmd[1]] {
		return true
	}
	if ins, ok := continuationINS(ctx); ok && t.masked[ins] {
		return true
	}
	return false
}

func masked(n int) string { return "<masked " + strconv.Itoa(n) + " bytes>" }

// formatCommand renders cmd in upper-case hex, with its data field replaced
// by its length when secret.
func formatCommand(cmd []byte, secret bool) string {
	if !secret {
		return strings.ToUpper(hex.EncodeToString(cmd))
	}
	if len(cmd) < 4 {
		return masked(len(cmd))
	}
	header := strings.ToUpper(hex.EncodeToString(cmd[:4]))
	c, err := ParseCommand(cmd)
	if err != nil {
		// Unparseable: the body may hold anything, show none of it.
		if len(cmd) == 4 {
			return header
		}
		return header + " " + masked(len(cmd)-4)
	}
	if len(c.Data) == 0 {
		return strings.ToUpper(hex.EncodeToString(cmd))
	}
	lcLen := 1
	if c.Extended {
		lcLen = 3
	}
	lc := strings.ToUpper(hex.EncodeToString(cmd[4 : 4+lcLen]))
	s := header + " " + lc + " " + masked(len(c.Data))
	if le := cmd[4+lcLen+len(c.Data):]; len(le) > 0 {
		s += " " + strings.ToUpper(hex.EncodeToString(le))
	}
	return s
}

// formatResponse renders rsp in upper-case hex, with its data replaced by
// its length when secret.
func formatResponse(rsp []byte, secret bool) string {
	if !secret {
		return strings.ToUpper(hex.EncodeToString(rsp))
	}
	if len(rsp) < 2 {
		return masked(len(rsp))
	}
	sw := strings.ToUpper(hex.EncodeToString(rsp[len(rsp)-2:]))
	if len(rsp) == 2 {
		return sw
	}
	return masked(len(rsp)-2) + " " + sw
}
