package secure

import "errors"

// Errors of mutual authentication, host side (ISO/IEC 11770-2 mechanism 6).
// Each says why authentication failed; none carries key material.
var (
	// ErrCardCryptogram: the card's MUTUAL AUTHENTICATE answer does not
	// verify (its MAC is wrong). The card holds a different key: the wrong
	// key, a wrongly diversified key (wrong master key, CUID or AID) or the
	// wrong key version.
	ErrCardCryptogram = errors.New("secure: card cryptogram invalid (wrong or wrongly diversified key)")
	// ErrNonceMismatch: the card's answer verified but does not echo both
	// nonces (RND.ICC of its challenge, RND.IFD of the terminal): a replayed
	// answer or a card that changed its nonce.
	ErrNonceMismatch = errors.New("secure: nonce mismatch in card's answer")
	// ErrTerminalRejected: the card refused the terminal's cryptogram
	// (MUTUAL AUTHENTICATE answered with a status other than 9000, e.g.
	// 6300, 63Cx, 6982, 6983). The error wraps the status word error, so
	// errors.As(err, new(*apdu.TriesError)) gives remaining tries.
	ErrTerminalRejected = errors.New("secure: card rejected the terminal's cryptogram")
	// ErrChallenge: GET CHALLENGE failed or returned a nonce of the wrong
	// length.
	ErrChallenge = errors.New("secure: GET CHALLENGE failed")
)

// Errors of secure messaging, host side (ISO/IEC 7816-4 §10, ICAO Doc 9303
// part 11 §9.8). Each of them ends the session: the session keys are zeroed
// and every later call fails with ErrSessionClosed wrapping the cause.
var (
	// ErrSessionClosed: the session has ended, by Close or by an earlier
	// secure messaging error (which it wraps). Authenticate again.
	ErrSessionClosed = errors.New("secure: session closed")
	// ErrResponseMAC: the MAC (DO8E) of a protected response is wrong: a
	// forged, replayed or stale-SSC response.
	ErrResponseMAC = errors.New("secure: response MAC invalid")
	// ErrResponseMalformed: a protected response has missing, duplicate,
	// misordered or ill-formed data objects, or bad padding.
	ErrResponseMalformed = errors.New("secure: malformed protected response")
	// ErrResponseUnprotected: the card answered a protected command with a
	// plain response other than the few SM errors it may send plain: a
	// status word alone, or data that does not open with DO87, DO99 or
	// DO8E (such as 70 04 80 02 55 31 90 00), docs/PROTOCOL.md §4.4.
	ErrResponseUnprotected = errors.New("secure: unprotected response to a protected command")
	// ErrStatusMismatch: the protected status (DO99) differs from the status
	// word of the response APDU.
	ErrStatusMismatch = errors.New("secure: protected status DO99 differs from response status")
	// ErrCardRejectedSM: the card answered plain 6882, 6987, 6988 or 6982:
	// it could not verify the protected command or no longer has a session.
	// The error wraps the status word.
	ErrCardRejectedSM = errors.New("secure: card rejected secure messaging")
)

// Card-side errors (CardAuthenticator, CardSession). Each wraps the status
// word the card should answer with, so errors.As(err, new(apdu.StatusWord))
// tells a mock card what to send.
var (
	// ErrNoChallenge: MUTUAL AUTHENTICATE without a fresh GET CHALLENGE
	// (challenges are single-use). Wraps 6985.
	ErrNoChallenge = errors.New("secure: no outstanding challenge")
	// ErrTerminalCryptogram: the terminal's cryptogram does not verify
	// (wrong key) or has the wrong length. Wraps 6300 or 6700.
	ErrTerminalCryptogram = errors.New("secure: terminal cryptogram invalid")
	// ErrCommandMAC: a protected command's MAC is wrong. Wraps 6988.
	ErrCommandMAC = errors.New("secure: command MAC invalid")
	// ErrCommandMalformed: a protected command lacks DO8E or has
	// ill-formed data objects. Wraps 6987 or 6988.
	ErrCommandMalformed = errors.New("secure: malformed protected command")
)

// ErrKeyLength is returned when a key has a length the suite does not
// accept. The message gives lengths only, never key bytes.
var ErrKeyLength = errors.New("secure: wrong key length")
