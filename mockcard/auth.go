package mockcard

import (
	"bytes"
	"errors"
	"io"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/secure"
)

// challengeLen is the length of RND.ICC (ICAO Doc 9303 part 11 §9.7.3).
const challengeLen = secure.NonceLen

func suiteKeyLen(name string) (int, error) {
	s, err := secure.SuiteByName(name)
	if err != nil {
		return 0, err
	}
	return s.KeyLen(), nil
}

// cmdGetChallenge is GET CHALLENGE (ISO/IEC 7816-4 §11.5.3): P1-P2 00 00,
// Le 08. The challenge replaces any earlier one and is consumed by the next
// MUTUAL AUTHENTICATE, whatever its outcome (a 6Cxx for a short Le is no
// outcome: the command is not executed). Sent in plain while a session
// exists, it ends that session first (re-authentication).
func (c *Card) cmdGetChallenge(cmd apdu.Command) res {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return swOnly(apdu.ErrIncorrectP1P2)
	}
	if len(cmd.Data) != 0 || (cmd.Ne != challengeLen && !neWildcard(cmd.Ne)) {
		return swOnly(apdu.ErrWrongLength)
	}
	if c.cur == nil || len(c.cur.keys) == 0 {
		return swOnly(apdu.ErrConditionsOfUseNotSatisfied)
	}
	ch := make([]byte, challengeLen)
	if _, err := io.ReadFull(c.rand, ch); err != nil {
		return swOnly(apdu.ErrExecution)
	}
	clear(c.sec.challenge)
	c.sec.challenge = ch
	return res{data: append([]byte(nil), ch...), sw: apdu.SWSuccess}
}

// cmdMutualAuthenticate is MUTUAL AUTHENTICATE (ISO/IEC 7816-4 §11.5.4,
// ISO/IEC 11770-2 mechanism 6 as in ICAO Doc 9303 part 11 §9.7), P1 = 00,
// P2 = key reference (00: the AP's first key), data E.IFD || M.IFD, Le present
// (shorter than the answer: 6Cxx, the challenge stays). Without an
// outstanding challenge: 6985. A blocked key: 6983. A wrong cryptogram or
// nonce counts a failure: 63Cx (x failures left; 63C0 blocks the key); a
// wrong data length is 6700 and counts too. Success resets the key's
// counter, makes the key authenticated and starts secure messaging: every
// later command must be protected (CLA 0C).
func (c *Card) cmdMutualAuthenticate(cmd apdu.Command, sm bool) res {
	if cmd.P1 != 0 {
		return swOnly(apdu.ErrIncorrectP1P2)
	}
	if c.cur == nil {
		return swOnly(apdu.ErrConditionsOfUseNotSatisfied)
	}
	k := c.cur.key(cmd.P2)
	if cmd.P2 == 0 && len(c.cur.keys) > 0 {
		k = c.cur.keys[0] // P2 = 00: the AP's default (first) key
	}
	if k == nil {
		return swOnly(apdu.ErrReferencedDataNotFound)
	}
	if len(cmd.Data) == 0 || cmd.Ne == 0 {
		return swOnly(apdu.ErrWrongLength)
	}
	// E.ICC || M.ICC is as long as E.IFD || M.IFD. A shorter Le is 6Cxx
	// before anything is executed (ISO/IEC 7816-4 §5.6: the command is to
	// be sent again with Le = xx), so the challenge stays outstanding for
	// that resend.
	if n := len(cmd.Data); cmd.Ne < n && !neWildcard(cmd.Ne) && n <= apdu.MaxShortNe {
		return swOnly(apdu.StatusWord(0x6C00 | uint16(byte(n))))
	}
	ch := c.sec.challenge
	c.sec.challenge = nil
	defer clear(ch)
	if ch == nil {
		return swOnly(apdu.ErrConditionsOfUseNotSatisfied)
	}
	if k.left == 0 {
		return swOnly(apdu.ErrAuthMethodBlocked)
	}
	suite, err := secure.SuiteByName(k.suite)
	if err != nil {
		return swOnly(apdu.ErrExecution)
	}
	// The authenticator replays the challenge already sent, then draws
	// K.ICC from the card's source of randomness.
	auth, err := secure.NewCardAuthenticator(suite, k.enc, k.mac, io.MultiReader(bytes.NewReader(ch), c.rand))
	if err != nil {
		return swOnly(apdu.ErrExecution)
	}
	if _, err := auth.Challenge(); err != nil {
		return swOnly(apdu.ErrExecution)
	}
	answer, sess, err := auth.Authenticate(cmd.Data)
	if err != nil {
		if errors.Is(err, secure.ErrTerminalCryptogram) || errors.Is(err, secure.ErrNonceMismatch) {
			k.left--
			if errors.Is(err, apdu.ErrWrongLength) {
				return swOnly(apdu.ErrWrongLength)
			}
			return swOnly(triesSW(k.left))
		}
		return swOnly(apdu.ErrExecution)
	}
	if cmd.Ne < len(answer) && !neWildcard(cmd.Ne) {
		// Not reached for a well-formed exchange (checked above).
		sess.Close()
		return swOnly(apdu.StatusWord(0x6C00 | uint16(byte(len(answer)))))
	}
	k.left = k.max
	// A protected MUTUAL AUTHENTICATE is answered under the old session
	// (c.wrapWith), which finish closes after wrapping the answer.
	if c.sec.sm != nil && c.sec.sm != c.wrapWith {
		c.sec.sm.close()
	}
	c.sec.sm = cardSM{sess}
	c.sec.authKey = k.ref
	return res{data: answer, sw: apdu.SWSuccess}
}

// cardSM adapts secure.CardSession.
type cardSM struct{ s *secure.CardSession }

func (m cardSM) unwrapCommand(raw []byte) (apdu.Command, error) { return m.s.UnwrapCommand(raw) }

func (m cardSM) wrapResponse(data []byte, sw apdu.StatusWord) []byte {
	out, err := m.s.WrapResponse(apdu.Response{Data: data, SW: sw})
	if err != nil {
		return encode(nil, apdu.ErrSMDataObjectsIncorrect)
	}
	return out
}

func (m cardSM) close() { m.s.Close() }

// smErrorSW is the plain status word answering a failed unwrap: the one
// package secure names (6987 or 6988), 6988 otherwise.
func smErrorSW(err error) apdu.StatusWord {
	var sw apdu.StatusWord
	if errors.As(err, &sw) && (sw == apdu.ErrSMDataObjectsMissing || sw == apdu.ErrSMDataObjectsIncorrect) {
		return sw
	}
	return apdu.ErrSMDataObjectsIncorrect
}
