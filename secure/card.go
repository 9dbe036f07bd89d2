package secure

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/mynacard/freespace/apdu"
)

// CardAuthenticator is the card side of mutual authentication, for a mock
// or test card holding the AP's (diversified) K_enc and K_mac. It issues
// single-use challenges, verifies the terminal's cryptogram, produces the
// answer and derives the same session keys as the host. Counting failures
// and blocking the key is the card's policy, left to the caller. It is safe
// for concurrent use.
type CardAuthenticator struct {
	mu        sync.Mutex
	suite     Suite
	cr        *crypto
	rand      io.Reader
	challenge [NonceLen]byte
	pending   bool
}

// NewCardAuthenticator binds the card's keys; rnd supplies RND.ICC and
// K.ICC (nil means crypto/rand). The key bytes are not retained.
func NewCardAuthenticator(suite Suite, kEnc, kMac []byte, rnd io.Reader) (*CardAuthenticator, error) {
	if suite == nil {
		return nil, errors.New("secure: NewCardAuthenticator needs a suite")
	}
	cr, err := suite.newCrypto(kEnc, kMac)
	if err != nil {
		return nil, err
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return &CardAuthenticator{suite: suite, cr: cr, rand: rnd}, nil
}

// Challenge answers GET CHALLENGE: a fresh 8-byte RND.ICC, replacing any
// earlier one.
func (a *CardAuthenticator) Challenge() ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cr == nil || a.rand == nil {
		return nil, errors.New("secure: CardAuthenticator not created by NewCardAuthenticator")
	}
	if _, err := io.ReadFull(a.rand, a.challenge[:]); err != nil {
		a.pending = false
		return nil, fmt.Errorf("secure: reading RND.ICC: %w", err)
	}
	a.pending = true
	return append([]byte(nil), a.challenge[:]...), nil
}

// Reset forgets the outstanding challenge (card reset, SELECT of another
// AP).
func (a *CardAuthenticator) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending = false
	clear(a.challenge[:])
}

// Authenticate answers MUTUAL AUTHENTICATE with the terminal's data
// E || M. The outstanding challenge is consumed whatever the outcome. On
// success it returns the answer E' || M' (send it with 9000) and the card's
// session. Errors wrap the status word to answer with: ErrNoChallenge
// (6985), ErrTerminalCryptogram (6700 wrong length, 6300 bad MAC),
// ErrNonceMismatch (6300).
func (a *CardAuthenticator) Authenticate(data []byte) ([]byte, *CardSession, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.pending {
		return nil, nil, fmt.Errorf("%w: %w", ErrNoChallenge, apdu.ErrConditionsOfUseNotSatisfied)
	}
	a.pending = false
	rndICC := a.challenge
	clear(a.challenge[:])
	n := cryptogramLen(a.suite)
	if len(data) != n+MACLen {
		return nil, nil, fmt.Errorf("%w: %w: %d bytes, want %d", ErrTerminalCryptogram, apdu.ErrWrongLength, len(data), n+MACLen)
	}
	e, m := data[:n], data[n:]
	if subtle.ConstantTimeCompare(a.cr.macPadded(nil, e), m) != 1 {
		return nil, nil, fmt.Errorf("%w: %w", ErrTerminalCryptogram, apdu.WarnNoInformation63)
	}
	s := make([]byte, n)
	defer clear(s)
	a.cr.cbcDecrypt(s, e, make([]byte, a.cr.bs))
	if subtle.ConstantTimeCompare(s[NonceLen:2*NonceLen], rndICC[:]) != 1 {
		return nil, nil, fmt.Errorf("%w: %w: RND.ICC is not the card's challenge", ErrNonceMismatch, apdu.WarnNoInformation63)
	}
	r := make([]byte, n, n+MACLen)
	defer clear(r)
	copy(r, rndICC[:])
	copy(r[NonceLen:], s[:NonceLen])
	if _, err := io.ReadFull(a.rand, r[2*NonceLen:]); err != nil {
		return nil, nil, fmt.Errorf("secure: reading K.ICC: %w", err)
	}
	seed := make([]byte, a.suite.KeyHalfLen())
	defer clear(seed)
	subtle.XORBytes(seed, s[2*NonceLen:], r[2*NonceLen:])
	keys := sessionKeys(a.suite, seed, rndICC[:], s[:NonceLen])
	defer keys.Zero()
	cs, err := NewCardSession(a.suite, keys)
	if err != nil {
		return nil, nil, err
	}
	out := make([]byte, n, n+MACLen)
	a.cr.cbcEncrypt(out, r, make([]byte, a.cr.bs))
	out = a.cr.macPadded(out, out)
	return out, cs, nil
}

// CardSession is the card side of secure messaging: it unwraps protected
// commands and wraps responses. Any error from UnwrapCommand ends the
// session (keys dropped); the card answers that command in plain with the
// status word the error wraps (6987 or 6988) and later calls fail with
// ErrSessionClosed. Safe for concurrent use.
type CardSession struct {
	mu   sync.Mutex
	core *smCore
	err  error
}

// NewCardSession starts the card side of secure messaging with the given
// keys (copied).
func NewCardSession(suite Suite, k SessionKeys) (*CardSession, error) {
	core, err := newSMCore(suite, k)
	if err != nil {
		return nil, err
	}
	return &CardSession{core: core}, nil
}

// UnwrapCommand verifies and decrypts a protected command APDU and returns
// the plain command (its Data is a fresh slice). On error the session ends;
// errors.As(err, new(apdu.StatusWord)) gives the plain status to answer.
func (s *CardSession) UnwrapCommand(raw []byte) (apdu.Command, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.core == nil {
		return apdu.Command{}, fmt.Errorf("%w: %w", apdu.ErrSecurityStatusNotSatisfied, s.closedErr())
	}
	c, err := s.core.unwrapCommand(raw)
	if err != nil {
		s.end(err)
		return apdu.Command{}, err
	}
	return c, nil
}

// WrapResponse protects the response to the last unwrapped command and
// returns the response APDU to send.
func (s *CardSession) WrapResponse(r apdu.Response) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.core == nil {
		return nil, s.closedErr()
	}
	return s.core.wrapResponse(r), nil
}

// Close ends the session (card reset, SELECT of another AP).
func (s *CardSession) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.end(errors.New("closed by the card"))
}

// Err returns nil while the session is open, else why it ended.
func (s *CardSession) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *CardSession) closedErr() error {
	if s.err == nil {
		return ErrSessionClosed
	}
	return s.err
}

func (s *CardSession) end(cause error) {
	if s.core != nil {
		s.core.zero()
		s.core = nil
		s.err = fmt.Errorf("%w: %w", ErrSessionClosed, cause)
	}
}
