package secure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/mynacard/freespace/apdu"
)

// SessionKeys are the keys and the initial send sequence counter of one
// secure messaging session. They are secret: String, GoString and Format
// print only their lengths.
type SessionKeys struct {
	Enc, MAC []byte // KS_enc, KS_mac
	SSC      []byte // initial send sequence counter (before the first increment)
}

// String implements fmt.Stringer without revealing the keys.
func (k SessionKeys) String() string {
	return fmt.Sprintf("secure.SessionKeys{Enc: [%d bytes redacted], MAC: [%d bytes redacted], SSC: [%d bytes]}", len(k.Enc), len(k.MAC), len(k.SSC))
}

// GoString implements fmt.GoStringer without revealing the keys.
func (k SessionKeys) GoString() string { return k.String() }

// Format implements fmt.Formatter: every verb prints String.
func (k SessionKeys) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue implements slog.LogValuer without revealing the keys (slog's
// JSON handler would otherwise marshal the byte fields).
func (k SessionKeys) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalJSON implements json.Marshaler without revealing the keys.
func (k SessionKeys) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// Zero overwrites the key bytes and the SSC.
func (k SessionKeys) Zero() {
	clear(k.Enc)
	clear(k.MAC)
	clear(k.SSC)
}

// maxGetResponse bounds the GET RESPONSE rounds of one protected response.
const maxGetResponse = 300

// Session is an established secure messaging session on the host side. It
// is an apdu.Transport decorator: Transmit takes a plain command APDU,
// sends its protected form over the wrapped transport and returns the
// verified plain response, so an apdu.Channel stacks over it unchanged
// (VERIFY after mutual authentication goes through it protected).
//
// Any secure messaging error (wrong MAC, malformed or unprotected response,
// DO99 not matching the status word, a plain 6987/6988/6882/6982 from the
// card, or a transport failure after the command left) ends the session:
// the keys are dropped and every later call returns an error matching
// ErrSessionClosed and the first cause. A Session is safe for concurrent
// use; commands are serialized, as the SSC requires.
type Session struct {
	mu    sync.Mutex
	next  apdu.Transport
	suite Suite
	core  *smCore
	err   error
	log   *slog.Logger
}

// NewSession starts secure messaging over next with keys established
// elsewhere (for example the published ICAO worked example). It copies what
// it needs; the caller may zero k afterwards.
func NewSession(next apdu.Transport, suite Suite, k SessionKeys) (*Session, error) {
	if next == nil || suite == nil {
		return nil, errors.New("secure: NewSession needs a transport and a suite")
	}
	core, err := newSMCore(suite, k)
	if err != nil {
		return nil, err
	}
	return &Session{next: next, suite: suite, core: core, log: slog.New(slog.DiscardHandler)}, nil
}

// Suite returns the session's cipher suite.
func (s *Session) Suite() Suite { return s.suite }

// Unwrap returns the transport the session protects (apdu.Unwrapper).
func (s *Session) Unwrap() apdu.Transport { return s.next }

// MaxCommandData is MaxCommandData for the session's suite.
func (s *Session) MaxCommandData(extended bool) int { return MaxCommandData(s.suite, extended) }

// MaxResponseData is MaxResponseData for the session's suite.
func (s *Session) MaxResponseData(extended bool) int { return MaxResponseData(s.suite, extended) }

// Err returns nil while the session is open and the reason it ended
// (matching ErrSessionClosed) afterwards.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the session and drops its keys. Later calls return
// ErrSessionClosed. Close is idempotent and always returns nil.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.core != nil {
		s.end(errors.New("closed by the caller"))
	}
	return nil
}

// closedErr is the error of a closed (or zero-value) session.
func (s *Session) closedErr() error {
	if s.err == nil {
		return ErrSessionClosed
	}
	return s.err
}

// end zeroes the keys and records why; s.mu is held.
func (s *Session) end(cause error) error {
	if s.core != nil {
		s.core.zero()
		s.core = nil
		s.err = fmt.Errorf("%w: %w", ErrSessionClosed, cause)
		s.log.Warn("secure messaging session ended", "suite", s.suite.Name(), "reason", cause.Error())
	}
	return s.err
}

// Transmit protects the plain command cmd, sends it and returns the plain
// response (data || SW1 SW2) after verifying the card's MAC and status.
// Invalid plain commands (bad encoding, a CLA that already indicates SM)
// are rejected with apdu.ErrInvalidCommand without touching the session.
// A context already done before sending leaves the session intact.
func (s *Session) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := apdu.ParseCommand(cmd)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.core == nil {
		return nil, s.closedErr()
	}
	wire, err := s.core.wrapCommand(c)
	if err != nil {
		if errors.Is(err, apdu.ErrInvalidCommand) {
			return nil, err
		}
		return nil, s.end(err)
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.DebugContext(ctx, "secure messaging command", "ins", fmt.Sprintf("%02X", c.INS), "nc", len(c.Data), "ne", c.Ne, "wire_len", len(wire))
	}
	raw, err := s.next.Transmit(ctx, wire)
	if err != nil {
		return nil, s.end(err)
	}
	raw, err = s.collect(ctx, raw, c.CLA)
	if err != nil {
		return nil, s.end(err)
	}
	plain, err := s.core.unwrapResponse(make([]byte, 0, len(raw)), raw)
	if err != nil {
		return nil, s.end(err)
	}
	return plain, nil
}

// collect follows 61xx with plain GET RESPONSE (ISO/IEC 7816-4 §5.3.4) so
// that the whole protected response is unwrapped at once: on T=0 the
// protected response arrives in pieces. The GET RESPONSE commands are
// transport-level and not protected.
func (s *Session) collect(ctx context.Context, raw []byte, cla byte) ([]byte, error) {
	if len(raw) < 2 || raw[len(raw)-2] != 0x61 {
		return raw, nil
	}
	acc := append([]byte(nil), raw[:len(raw)-2]...)
	for i := 0; ; i++ {
		if i == maxGetResponse || len(acc) > apdu.MaxExtendedNe+64 {
			return nil, fmt.Errorf("%w: protected response exceeds %d bytes in GET RESPONSE rounds", apdu.ErrResponseTooLarge, len(acc))
		}
		ne := int(raw[len(raw)-1])
		if ne == 0 {
			ne = apdu.MaxShortNe
		}
		gr, err := apdu.Command{CLA: getResponseCLA(cla), INS: apdu.InsGetResponse, Ne: ne}.Bytes()
		if err != nil {
			return nil, err
		}
		raw, err = s.next.Transmit(ctx, gr)
		if err != nil {
			return nil, err
		}
		if len(raw) < 2 {
			return nil, fmt.Errorf("%w: GET RESPONSE answer of %d bytes", apdu.ErrMalformedResponse, len(raw))
		}
		acc = append(acc, raw...)
		if raw[len(raw)-2] != 0x61 {
			return acc, nil
		}
		acc = acc[:len(acc)-2]
	}
}

// getResponseCLA is the interindustry class byte of GET RESPONSE on the
// logical channel of cla (ISO/IEC 7816-4 §5.4.1).
func getResponseCLA(cla byte) byte {
	if cla&0xC0 == 0x40 {
		return 0x40 | cla&0x0F
	}
	if cla&0x80 != 0 {
		return 0x00
	}
	return cla & 0x03
}
