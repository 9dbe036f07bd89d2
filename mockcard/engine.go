package mockcard

import (
	"github.com/mynacard/freespace/apdu"
)

// Class-byte bits (ISO/IEC 7816-4 §5.4.1) and the chaining bound.
const (
	claChainBit        = 0x10
	claSMBits          = 0x0C
	claChannelBits     = 0x03
	maxChainedDataSize = 65535
)

// secState is the security state of the selected AP.
type secState struct {
	verified  map[byte]bool
	authKey   byte // authenticated key reference, 0: none
	sm        smSession
	challenge []byte
}

// smSession is the card side of a secure messaging session.
type smSession interface {
	// unwrapCommand verifies and decrypts a protected command APDU.
	unwrapCommand(raw []byte) (apdu.Command, error)
	// wrapResponse protects a response.
	wrapResponse(data []byte, sw apdu.StatusWord) []byte
	// close zeroes the session keys.
	close()
}

type chainState struct {
	ins    apdu.Ins
	p1, p2 byte
	sm     bool
	data   []byte
}

// resetSession clears the volatile state; c.mu is held.
func (c *Card) resetSession() {
	c.dropSecurity()
	c.cur, c.curEF = nil, nil
	c.pending, c.pendSW = nil, 0
	c.chain = nil
}

// dropSecurity clears the security state of the selected AP.
func (c *Card) dropSecurity() {
	if c.sec.sm != nil && c.sec.sm != c.wrapWith {
		c.sec.sm.close()
	}
	clear(c.sec.challenge)
	c.sec = secState{}
}

// res is a response being built.
type res struct {
	data []byte
	sw   apdu.StatusWord
}

func swOnly(sw apdu.StatusWord) res { return res{sw: sw} }

func encode(data []byte, sw apdu.StatusWord) []byte {
	out := make([]byte, len(data)+2)
	copy(out, data)
	out[len(data)] = sw.SW1()
	out[len(data)+1] = sw.SW2()
	return out
}

// transmit is Transmit with c.mu held.
func (c *Card) transmit(raw []byte) ([]byte, error) {
	if !c.present {
		return nil, errRemoved()
	}
	c.seq++
	c.stats.APDUs++
	c.stats.BytesIn += len(raw)
	f := c.takeFault(c.seq)
	if f != nil && (f.Kind == FaultRemoveBefore || (f.Kind == FaultTear && f.Bytes == 0)) {
		c.present = false
		c.resetSession()
		return nil, errRemoved()
	}
	c.tear = -1
	if f != nil && f.Kind == FaultTear {
		c.tear = f.Bytes
	}
	resp := c.process(raw, f)
	c.tear = -1
	if c.wrapWith != nil {
		if c.wrapWith != c.sec.sm {
			c.wrapWith.close()
		}
		c.wrapWith = nil
	}
	if f != nil && (f.Kind == FaultRemoveAfter || f.Kind == FaultTear) {
		c.present = false
		c.resetSession()
		return nil, errRemoved()
	}
	if f != nil && f.Kind == FaultTruncate && len(resp) > 2 {
		keep := min(f.Bytes, len(resp)-2)
		resp = append(resp[:keep:keep], resp[len(resp)-2:]...)
	}
	c.stats.BytesOut += len(resp)
	return resp, nil
}

// process executes one command APDU and returns the encoded response.
func (c *Card) process(raw []byte, f *Fault) []byte {
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return encode(nil, apdu.ErrWrongLength)
	}
	cla := cmd.CLA
	switch {
	case c.cur != nil && c.cur.ext != nil && c.cur.ext.proprietary(cla):
		// A class the selected AP defines (JPKI's 80 2A): see apExtension.
	case cla == 0xFF || cla&0xE0 != 0:
		return encode(nil, apdu.ErrCLANotSupported)
	case cla&claChannelBits != 0:
		return encode(nil, apdu.ErrLogicalChannelNotSupported)
	case cla&claSMBits != 0 && cla&claSMBits != claSMBits:
		// An SM indication other than 0C is an SM error: it ends a
		// session (docs/PROTOCOL.md §4.4).
		if c.sec.sm != nil {
			c.dropSecurity()
		}
		return encode(nil, apdu.ErrSecureMessagingNotSupported)
	}
	if !c.extended && (cmd.Extended || len(cmd.Data) > apdu.MaxShortLc || cmd.Ne > apdu.MaxShortNe) {
		return encode(nil, apdu.ErrWrongLength)
	}
	if cmd.INS == apdu.InsGetResponse && cla&claSMBits == 0 {
		r := c.getResponse(cmd)
		return encode(r.data, r.sw)
	}
	c.pending, c.pendSW = nil, 0

	// A response of more than 256 bytes to a short APDU comes through
	// 61xx and GET RESPONSE (docs/PROTOCOL.md §1.4), whatever the card
	// could do with an extended one.
	short := !cmd.Extended
	protected := cla&claSMBits == claSMBits
	if protected {
		if c.sec.sm == nil {
			// No session (never authenticated, ended, other AP, reset):
			// one answer, docs/PROTOCOL.md §4.4.
			return encode(nil, apdu.ErrSecurityStatusNotSatisfied)
		}
		inner, err := c.sec.sm.unwrapCommand(raw)
		if err != nil {
			sw := smErrorSW(err)
			c.dropSecurity()
			return encode(nil, sw)
		}
		// The inner command keeps the outer class's chaining bit.
		inner.CLA = cla &^ claSMBits
		cmd = inner
		// The response is protected by this session even when the
		// command ends it (SELECT of another AP).
		c.wrapWith = c.sec.sm
	} else if c.sec.sm != nil {
		switch {
		case cmd.INS == apdu.InsSelect && (cmd.P1 == 0x04 || cmd.P1 == 0x00):
			// SELECT by DF name or of the MF resets the security state
			// anyway (docs/PROTOCOL.md §1.4).
		case cmd.INS == apdu.InsGetChallenge || cmd.INS == apdu.InsMutualAuthenticate:
			// Re-authentication (docs/PROTOCOL.md §4.4): processed in
			// plain; the session ends only when a MUTUAL AUTHENTICATE
			// succeeds, so a failed one leaves it as it was (§3.3).
		default:
			// Any other plain command ends the session (ICAO Doc 9303
			// part 11 §9.8.4: an SM error aborts it).
			c.dropSecurity()
			return encode(nil, apdu.ErrSMDataObjectsMissing)
		}
	}

	cmd, early, done := c.chainCommand(cmd, protected)
	if done {
		return c.finish(early, protected, short, f)
	}
	r := c.dispatch(cmd, protected)
	return c.finish(r, protected, short, f)
}

// chainCommand applies command chaining (ISO/IEC 7816-4 §5.3.3): a part
// with the chaining bit is kept and answered 9000 at once (done); the last
// part gets the data of the chain in front of its own. Every part must
// have the first part's INS, P1, P2 and protection, else 6883; the whole
// chain is bounded by maxChainedDataSize (else 6700).
func (c *Card) chainCommand(cmd apdu.Command, protected bool) (apdu.Command, res, bool) {
	if cmd.CLA&claChainBit != 0 {
		if !c.chaining {
			c.chain = nil
			return cmd, res{sw: apdu.ErrChainingNotSupported}, true
		}
		if c.chain == nil {
			c.chain = &chainState{ins: cmd.INS, p1: cmd.P1, p2: cmd.P2, sm: protected}
		} else if !c.chain.continues(cmd, protected) {
			c.chain = nil
			return cmd, res{sw: apdu.ErrLastCommandOfChainExpected}, true
		}
		if len(c.chain.data)+len(cmd.Data) > maxChainedDataSize {
			c.chain = nil
			return cmd, res{sw: apdu.ErrWrongLength}, true
		}
		c.chain.data = append(c.chain.data, cmd.Data...)
		return cmd, res{sw: apdu.SWSuccess}, true
	}
	if c.chain == nil {
		return cmd, res{}, false
	}
	ch := c.chain
	c.chain = nil
	if !ch.continues(cmd, protected) {
		return cmd, res{sw: apdu.ErrLastCommandOfChainExpected}, true
	}
	if len(ch.data)+len(cmd.Data) > maxChainedDataSize {
		return cmd, res{sw: apdu.ErrWrongLength}, true
	}
	cmd.Data = append(ch.data, cmd.Data...)
	return cmd, res{}, false
}

// continues reports whether cmd is a further part of the chain.
func (ch *chainState) continues(cmd apdu.Command, protected bool) bool {
	return ch.ins == cmd.INS && ch.p1 == cmd.P1 && ch.p2 == cmd.P2 && ch.sm == protected
}

// finish applies secure messaging, forced 61xx/6Cxx faults and the GET
// RESPONSE mode to a response; short says the command was a short APDU.
func (c *Card) finish(r res, protected, short bool, f *Fault) []byte {
	// SW2 of 6Cxx can announce at most 256 bytes (00): a longer response
	// is returned as it is.
	if f != nil && f.Kind == FaultForce6C && len(r.data) > 0 && len(r.data) <= apdu.MaxShortNe && r.sw == apdu.SWSuccess {
		// Not executed as far as the host knows: it must resend with the
		// right Le. Commands that return data here are reads, so
		// executing them changed nothing but a challenge.
		return encode(nil, apdu.StatusWord(0x6C00|uint16(byte(len(r.data)))))
	}
	if protected && c.wrapWith != nil {
		out := c.wrapWith.wrapResponse(r.data, r.sw)
		if c.wrapWith != c.sec.sm {
			c.wrapWith.close()
		}
		c.wrapWith = nil
		r = res{data: out[:len(out)-2], sw: apdu.StatusWord(uint16(out[len(out)-2])<<8 | uint16(out[len(out)-1]))}
	}
	// A short APDU (or any APDU to a card without extended length) gets
	// at most 256 bytes: the rest comes through GET RESPONSE (ISO/IEC
	// 7816-4 §5.3.4, docs/PROTOCOL.md §1.4).
	long := (short || !c.extended) && len(r.data) > apdu.MaxShortNe
	if len(r.data) > 0 && (long || (c.grThresh >= 0 && len(r.data) > c.grThresh) || (f != nil && f.Kind == FaultForce61)) {
		c.pending, c.pendSW = r.data, r.sw
		return encode(nil, apdu.StatusWord(0x6100|uint16(byte(min(len(r.data), 256)))))
	}
	return encode(r.data, r.sw)
}

// getResponse serves pending data (ISO/IEC 7816-4 §11.6.4).
func (c *Card) getResponse(cmd apdu.Command) res {
	if c.pending == nil {
		return swOnly(apdu.ErrConditionsOfUseNotSatisfied)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return swOnly(apdu.ErrIncorrectP1P2)
	}
	if len(cmd.Data) != 0 || cmd.Ne == 0 {
		return swOnly(apdu.ErrWrongLength)
	}
	n := min(cmd.Ne, len(c.pending))
	out := c.pending[:n:n]
	c.pending = c.pending[n:]
	if len(c.pending) == 0 {
		sw := c.pendSW
		c.pending, c.pendSW = nil, 0
		return res{data: out, sw: sw}
	}
	return res{data: out, sw: apdu.StatusWord(0x6100 | uint16(byte(min(len(c.pending), 256))))}
}

// dispatch runs a plain (or unwrapped) command.
func (c *Card) dispatch(cmd apdu.Command, sm bool) res {
	if c.cur != nil && c.cur.ext != nil {
		if r, ok := c.cur.ext.command(c, cmd, sm); ok {
			return r
		}
	}
	switch cmd.INS {
	case apdu.InsSelect:
		return c.cmdSelect(cmd)
	case apdu.InsReadBinary:
		return c.cmdReadBinary(cmd, sm)
	case apdu.InsUpdateBinary:
		return c.cmdUpdateBinary(cmd, sm)
	case apdu.InsReadRecord:
		return c.cmdReadRecord(cmd, sm)
	case apdu.InsUpdateRecord:
		return c.cmdUpdateRecord(cmd, sm)
	case apdu.InsAppendRecord:
		return c.cmdAppendRecord(cmd, sm)
	case apdu.InsVerify:
		return c.cmdVerify(cmd, sm)
	case apdu.InsChangeReferenceData:
		return c.cmdChangeRefData(cmd, sm)
	case apdu.InsResetRetryCounter:
		return c.cmdResetRetryCounter(cmd, sm)
	case apdu.InsGetChallenge:
		return c.cmdGetChallenge(cmd)
	case apdu.InsMutualAuthenticate:
		return c.cmdMutualAuthenticate(cmd, sm)
	case apdu.InsActivateFile:
		return c.cmdActivateFile(cmd, sm)
	case apdu.InsPutData:
		return c.cmdPutData(cmd, sm) // rekey.go
	case apdu.InsGetResponse:
		// GET RESPONSE under secure messaging is not supported.
		return swOnly(apdu.ErrConditionsOfUseNotSatisfied)
	}
	return swOnly(apdu.ErrINSNotSupported)
}

// allowed reports whether cond holds in the current security state.
func (c *Card) allowed(cond Condition, sm bool) bool {
	if cond.Never {
		return false
	}
	if cond.SM && !sm {
		return false
	}
	if cond.PIN != 0 && !c.sec.verified[cond.PIN] {
		return false
	}
	if cond.Key != 0 && (c.sec.authKey != cond.Key || c.sec.sm == nil) {
		return false
	}
	return true
}
