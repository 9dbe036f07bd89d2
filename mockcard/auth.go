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
// MUTUAL AUTHENTICATE, whatever its outcome (a 6Cxx for a short Le or a
// 6700 for a wrong length is no outcome: the command is not executed).
// Sent in plain while a session exists, it is answered and leaves the
// session as it is (docs/PROTOCOL.md §4.4): only a successful MUTUAL
// AUTHENTICATE replaces the session.
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

// authDataLen is the length of E.IFD || M.IFD (and of the answer) for a
// suite: S is RND.IFD || RND.ICC || K.IFD, then the 8-byte MAC.
func authDataLen(s secure.Suite) int { return 2*secure.NonceLen + s.KeyHalfLen() + secure.MACLen }

// cmdMutualAuthenticate is MUTUAL AUTHENTICATE (ISO/IEC 7816-4 §11.5.4,
// ISO/IEC 11770-2 mechanism 6 as in ICAO Doc 9303 part 11 §9.7), P1 = 00,
// P2 = key reference, data E.IFD || M.IFD, Le present. The checks come in
// the order of docs/PROTOCOL.md §3.1:
//
//  1. P1 not 00: 6A86; no AP selected: 6985;
//  2. P2 not a key of the AP (00 included: no alias): 6A88;
//  3. Lc not the suite's length (40 or 56) or no Le: 6700;
//     Le shorter than the answer: 6Cxx. Neither is executed: the
//     challenge stays outstanding and no try is spent;
//  4. the challenge is consumed from here on, whatever the outcome;
//  5. a blocked key: 6983; no outstanding challenge: 6985;
//  6. a wrong M.IFD: 63Cx, one try spent (63C0 blocks the key);
//  7. an S without the card's RND.ICC (M.IFD correct: a replayed
//     cryptogram): 6300, no try spent.
//
// Success resets the key's counter, makes the key authenticated and
// starts a new session: every later command must be protected (CLA 0C),
// and passwords verified under secure messaging before are verified no
// more (§3.3). A failure leaves an existing session as it was.
func (c *Card) cmdMutualAuthenticate(cmd apdu.Command, sm bool) res {
	if cmd.P1 != 0 {
		return swOnly(apdu.ErrIncorrectP1P2)
	}
	if c.cur == nil {
		return swOnly(apdu.ErrConditionsOfUseNotSatisfied)
	}
	k := c.cur.key(cmd.P2)
	if k == nil {
		return swOnly(apdu.ErrReferencedDataNotFound)
	}
	suite, err := secure.SuiteByName(k.suite)
	if err != nil {
		return swOnly(apdu.ErrExecution)
	}
	n := authDataLen(suite)
	if len(cmd.Data) != n || cmd.Ne == 0 {
		return swOnly(apdu.ErrWrongLength)
	}
	// E.ICC || M.ICC is as long as E.IFD || M.IFD. A shorter Le is 6Cxx
	// before anything is executed (ISO/IEC 7816-4 §5.6: the command is to
	// be sent again with Le = xx), so the challenge stays outstanding for
	// that resend.
	if cmd.Ne < n && !neWildcard(cmd.Ne) {
		return swOnly(apdu.StatusWord(0x6C00 | uint16(byte(n))))
	}
	ch := c.sec.challenge
	c.sec.challenge = nil
	defer clear(ch)
	if k.left == 0 {
		return swOnly(apdu.ErrAuthMethodBlocked)
	}
	if ch == nil {
		return swOnly(apdu.ErrConditionsOfUseNotSatisfied)
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
	switch {
	case errors.Is(err, secure.ErrNonceMismatch):
		// The MAC verified: the terminal holds the keys, or replays a
		// recorded cryptogram. Either way no guess was made.
		return swOnly(apdu.WarnNoInformation63)
	case errors.Is(err, secure.ErrTerminalCryptogram):
		k.left--
		return swOnly(triesSW(k.left))
	case err != nil:
		return swOnly(apdu.ErrExecution)
	}
	k.left = k.max
	// A protected MUTUAL AUTHENTICATE is answered under the old session
	// (c.wrapWith), which finish closes after wrapping the answer.
	if c.sec.sm != nil && c.sec.sm != c.wrapWith {
		c.sec.sm.close()
	}
	c.sec.sm = cardSM{sess}
	c.sec.authKey = k.ref
	// A password verified under secure messaging belonged to the session
	// that ends here; one verified in plain before the first session
	// (before-authentication mode) carries into the new one.
	for ref := range c.sec.verified {
		if p := c.cur.pin(ref); p == nil || p.requireSM {
			delete(c.sec.verified, ref)
		}
	}
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
