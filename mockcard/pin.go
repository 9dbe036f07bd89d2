package mockcard

import (
	"crypto/subtle"
	"slices"

	"github.com/mynacard/freespace/apdu"
)

func triesSW(left int) apdu.StatusWord { return apdu.StatusWord(0x63C0 | uint16(left&0x0F)) }

// check compares a candidate with the PIN in constant time and updates
// the retry counter: 9000 and the counter back to its maximum on success,
// 63Cx (x tries left; 63C0 on the try that blocks) on failure.
func (c *Card) checkPIN(p *pinObj, candidate []byte) apdu.StatusWord {
	if pinMatches(candidate, p.value) {
		p.left = p.max
		return apdu.SWSuccess
	}
	p.left--
	if c.sec.verified != nil {
		delete(c.sec.verified, p.ref)
	}
	return triesSW(p.left)
}

// maxPINLen is the longest PIN a PIN object can hold (PINSpec.MaxLen).
const maxPINLen = 255

// pinMatches compares in constant time, whatever the lengths: both values
// are compared as fixed-size zero-padded buffers together with their
// lengths (subtle.ConstantTimeCompare alone returns early on a length
// mismatch, which would tell the PIN's length). Values longer than
// maxPINLen never match.
func pinMatches(candidate, pin []byte) bool {
	if len(candidate) > maxPINLen || len(pin) > maxPINLen {
		return false
	}
	var a, b [maxPINLen]byte
	copy(a[:], candidate)
	copy(b[:], pin)
	eq := subtle.ConstantTimeCompare(a[:], b[:]) & subtle.ConstantTimeEq(int32(len(candidate)), int32(len(pin)))
	clear(a[:])
	clear(b[:])
	return eq == 1
}

// pinCommand runs the checks VERIFY, CHANGE REFERENCE DATA and RESET RETRY
// COUNTER share, in the card's order: no response data expected (6700), P1
// one of p1s (6A86), and P2 the reference of a PIN of the selected AP
// (6A88).
func (c *Card) pinCommand(cmd apdu.Command, p1s ...byte) (*pinObj, apdu.StatusWord) {
	if cmd.Ne != 0 {
		return nil, apdu.ErrWrongLength
	}
	if !slices.Contains(p1s, cmd.P1) {
		return nil, apdu.ErrIncorrectP1P2
	}
	if c.cur == nil {
		return nil, apdu.ErrReferencedDataNotFound
	}
	p := c.cur.pin(cmd.P2)
	if p == nil {
		return nil, apdu.ErrReferencedDataNotFound
	}
	return p, apdu.SWSuccess
}

// set replaces the PIN's value (wiping the old one) and puts its retry
// counter back to its maximum.
func (p *pinObj) set(value []byte) {
	clear(p.value)
	p.value = append([]byte(nil), value...)
	p.left = p.max
}

func (c *Card) setVerified(ref byte) {
	if c.sec.verified == nil {
		c.sec.verified = make(map[byte]bool, 2)
	}
	c.sec.verified[ref] = true
}

// cmdVerify is VERIFY (ISO/IEC 7816-4 §11.5.6). P1 = 00 with data checks
// the PIN; without data it reports the status (9000 verified, 63Cx tries
// left, 6983 blocked) and spends no try. P1 = FF without data resets the
// PIN's verified state. A PIN whose length is outside the PIN's bounds
// gets 6A80 and spends no try; a PIN sent in plain to a PIN object that
// requires secure messaging gets 6982 and spends no try either.
func (c *Card) cmdVerify(cmd apdu.Command, sm bool) res {
	p, sw := c.pinCommand(cmd, 0x00, 0xFF)
	if sw != apdu.SWSuccess {
		return swOnly(sw)
	}
	if cmd.P1 == 0xFF {
		if len(cmd.Data) != 0 {
			return swOnly(apdu.ErrWrongLength)
		}
		delete(c.sec.verified, p.ref)
		return swOnly(apdu.SWSuccess)
	}
	if len(cmd.Data) == 0 {
		switch {
		case p.left == 0:
			return swOnly(apdu.ErrAuthMethodBlocked)
		case c.sec.verified[p.ref]:
			return swOnly(apdu.SWSuccess)
		}
		return swOnly(triesSW(p.left))
	}
	if p.requireSM && !sm {
		return swOnly(apdu.ErrSecurityStatusNotSatisfied)
	}
	if p.left == 0 {
		return swOnly(apdu.ErrAuthMethodBlocked)
	}
	if !p.formatOK(cmd.Data) {
		return swOnly(apdu.ErrIncorrectDataField)
	}
	sw = c.checkPIN(p, cmd.Data)
	if sw == apdu.SWSuccess {
		c.setVerified(p.ref)
	}
	return swOnly(sw)
}

// cmdChangeRefData is CHANGE REFERENCE DATA (§11.5.7). P1 = 00: the data
// is the current PIN followed by the new one, split at the current PIN's
// length (a wrong current PIN spends a try: 63Cx). The new PIN's length is
// looked at only once the current PIN matched, so no answer tells the
// length of the current PIN without spending a try. P1 = 01: the data is
// the new PIN only, allowed while the PIN is verified (6982 otherwise). A
// new PIN outside the length bounds gets 6A80 (with P1 = 00 after a
// matching current PIN, which restores the counter). On success the PIN is
// verified and its counter at maximum. A PIN object that requires secure
// messaging refuses a plain command with 6982, spending no try.
func (c *Card) cmdChangeRefData(cmd apdu.Command, sm bool) res {
	if len(cmd.Data) == 0 {
		return swOnly(apdu.ErrWrongLength)
	}
	p, sw := c.pinCommand(cmd, 0x00, 0x01)
	if sw != apdu.SWSuccess {
		return swOnly(sw)
	}
	if p.requireSM && !sm {
		return swOnly(apdu.ErrSecurityStatusNotSatisfied)
	}
	if p.left == 0 {
		return swOnly(apdu.ErrAuthMethodBlocked)
	}
	var newPIN []byte
	if cmd.P1 == 0x01 {
		if !c.sec.verified[p.ref] {
			return swOnly(apdu.ErrSecurityStatusNotSatisfied)
		}
		newPIN = cmd.Data
	} else {
		if len(cmd.Data) <= len(p.value) {
			// The data cannot hold the current PIN and a new one: a
			// failed verification, like any wrong current PIN.
			return swOnly(c.checkPIN(p, nil))
		}
		if sw := c.checkPIN(p, cmd.Data[:len(p.value)]); sw != apdu.SWSuccess {
			return swOnly(sw)
		}
		newPIN = cmd.Data[len(p.value):]
	}
	if !p.formatOK(newPIN) {
		return swOnly(apdu.ErrIncorrectDataField)
	}
	p.set(newPIN)
	c.setVerified(p.ref)
	return swOnly(apdu.SWSuccess)
}

// cmdResetRetryCounter is RESET RETRY COUNTER (§11.5.10), allowed only
// while the AP's administrative key is authenticated (6982 otherwise).
// P1 = 03: no data, the counter goes back to its maximum. P1 = 02: the
// data is a new PIN, set with the counter at maximum. The PIN is left not
// verified.
func (c *Card) cmdResetRetryCounter(cmd apdu.Command, sm bool) res {
	p, sw := c.pinCommand(cmd, 0x02, 0x03)
	if sw != apdu.SWSuccess {
		return swOnly(sw)
	}
	if c.cur.adminKey == 0 || !c.allowed(Condition{Key: c.cur.adminKey}, sm) {
		return swOnly(apdu.ErrSecurityStatusNotSatisfied)
	}
	switch cmd.P1 {
	case 0x03:
		if len(cmd.Data) != 0 {
			return swOnly(apdu.ErrWrongLength)
		}
	case 0x02:
		if len(cmd.Data) == 0 {
			return swOnly(apdu.ErrWrongLength)
		}
		if !p.formatOK(cmd.Data) {
			return swOnly(apdu.ErrIncorrectDataField)
		}
		p.set(cmd.Data)
	}
	p.left = p.max
	delete(c.sec.verified, p.ref)
	return swOnly(apdu.SWSuccess)
}

// cmdActivateFile is ACTIVATE FILE (§11.2.6) with P1-P2 = 00 00 and no
// data: it seals the selected AP (personalization -> operational) when the
// AP's seal condition holds (6982 otherwise). The condition holds for a
// sealed AP too: there it is a no-op (9000) under the administrative key
// and 6982 without it (docs/PROTOCOL.md §8.1). With the MF selected: 6985.
func (c *Card) cmdActivateFile(cmd apdu.Command, sm bool) res {
	if len(cmd.Data) != 0 || cmd.Ne != 0 {
		return swOnly(apdu.ErrWrongLength)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return swOnly(apdu.ErrIncorrectP1P2)
	}
	if c.cur == nil {
		return swOnly(apdu.ErrConditionsOfUseNotSatisfied)
	}
	if !c.allowed(c.cur.seal, sm) {
		return swOnly(apdu.ErrSecurityStatusNotSatisfied)
	}
	c.cur.life = Operational
	return swOnly(apdu.SWSuccess)
}
