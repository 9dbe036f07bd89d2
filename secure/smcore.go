package secure

import (
	"crypto/subtle"
	"fmt"
	"github.com/mynacard/freespace/internal/cryptoprim"

	"github.com/mynacard/freespace/apdu"
)

// smCore is the secure messaging state shared by the host Session and the
// card-side CardSession: the suite bound to the session keys and the send
// sequence counter. It is not safe for concurrent use; its owners lock.
type smCore struct {
	c      *crypto
	ssc    [16]byte
	sscLen int
	mac    []byte   // scratch: MAC input
	body   []byte   // scratch: protected command body
	out    []byte   // scratch: encoded protected command
	blk    [16]byte // scratch: IV and MAC output, kept off the stack so that
	// passing it to cipher interfaces does not allocate
}

func newSMCore(s Suite, k SessionKeys) (*smCore, error) {
	if len(k.SSC) != s.SSCLen() {
		return nil, fmt.Errorf("secure: %s needs a %d-byte SSC, got %d", s.Name(), s.SSCLen(), len(k.SSC))
	}
	c, err := s.newCrypto(k.Enc, k.MAC)
	if err != nil {
		return nil, err
	}
	m := &smCore{c: c, sscLen: s.SSCLen()}
	copy(m.ssc[:], k.SSC)
	return m, nil
}

// zero drops the keyed ciphers and wipes the counter and the scratch
// buffers. Go's cipher.Block key schedules cannot be wiped; the core drops
// every reference to them.
func (m *smCore) zero() {
	m.c = nil
	clear(m.ssc[:])
	clear(m.blk[:])
	clear(m.mac[:cap(m.mac)])
	clear(m.body[:cap(m.body)])
	clear(m.out[:cap(m.out)])
}

// incSSC increments the send sequence counter (big-endian, wrapping).
func (m *smCore) incSSC() {
	for i := m.sscLen - 1; i >= 0; i-- {
		m.ssc[i]++
		if m.ssc[i] != 0 {
			return
		}
	}
}

// iv returns the CBC IV of secure messaging: zero for TDES, E(KS_enc, SSC)
// for AES (ICAO Doc 9303 part 11 §9.8.6.2).
func (m *smCore) iv() (iv [16]byte) {
	if m.c.ivFromSSC {
		m.c.block.Encrypt(m.blk[:16], m.ssc[:16])
		iv = m.blk
		clear(m.blk[:])
	}
	return iv
}

// computeMAC returns MAC(KS_mac, pad(SSC || hdr || dos)) where hdr, when
// not nil, is CLA INS P1 P2 padded to a block.
func (m *smCore) computeMAC(hdr []byte, dos []byte) [MACLen]byte {
	bs := m.c.bs
	b := append(m.mac[:0], m.ssc[:m.sscLen]...)
	if hdr != nil {
		start := len(b)
		b = append(b, hdr...)
		b = cryptoprim.PadFrom(b, start, bs)
	}
	b = append(b, dos...)
	b = cryptoprim.Pad(b, bs)
	var t [MACLen]byte
	copy(t[:], m.c.mac(m.blk[:0], b))
	clear(b)
	clear(m.blk[:])
	m.mac = b
	return t
}

// protectCLA returns the class byte of the protected form of a command of
// class cla: for the first interindustry classes (00-0F) and proprietary
// classes (80-FE) b4 b3 are set to 11 (0x0C, "SM, header authenticated",
// ISO/IEC 7816-4 §5.4.1), keeping the logical channel and chaining bits;
// for the further interindustry classes (40-7F) b6 is set (0x20).
func protectCLA(cla byte) (byte, error) {
	switch {
	case cla == 0xFF:
		return 0, fmt.Errorf("%w: CLA FF is invalid", apdu.ErrInvalidCommand)
	case cla&0xE0 == 0 || cla&0x80 != 0:
		if cla&0x0C != 0 {
			return 0, fmt.Errorf("%w: CLA %02X already indicates secure messaging", apdu.ErrInvalidCommand, cla)
		}
		if cla|0x0C == 0xFF {
			return 0, fmt.Errorf("%w: CLA %02X has no protected form (FF is invalid)", apdu.ErrInvalidCommand, cla)
		}
		return cla | 0x0C, nil
	case cla&0xC0 == 0x40:
		if cla&0x20 != 0 {
			return 0, fmt.Errorf("%w: CLA %02X already indicates secure messaging", apdu.ErrInvalidCommand, cla)
		}
		return cla | 0x20, nil
	}
	return 0, fmt.Errorf("%w: CLA %02X is reserved", apdu.ErrInvalidCommand, cla)
}

// IsProtected reports whether a command's class byte indicates secure
// messaging (ISO/IEC 7816-4 §5.4.1: b4 b3 = 11 in the first interindustry
// and proprietary classes, b6 in the further ones). A card uses it to route
// a command to CardSession.UnwrapCommand.
func IsProtected(cla byte) bool {
	switch {
	case cla == 0xFF:
		return false
	case cla&0xE0 == 0 || cla&0x80 != 0:
		return cla&0x0C == 0x0C
	case cla&0xC0 == 0x40:
		return cla&0x20 != 0
	}
	return false
}

// plainCLA undoes protectCLA.
func plainCLA(cla byte) byte {
	if cla&0xC0 == 0x40 {
		return cla &^ 0x20
	}
	return cla &^ 0x0C
}

// wrapCommand protects c (ICAO Doc 9303 part 11 §9.8.4) and returns the
// encoded protected command, which aliases m.out. It increments the SSC.
func (m *smCore) wrapCommand(c apdu.Command) ([]byte, error) {
	cla, err := protectCLA(c.CLA)
	if err != nil {
		return nil, err
	}
	if _, err := c.EncodedLen(); err != nil {
		return nil, err
	}
	bs := m.c.bs
	ext := c.IsExtended()
	// Refuse before the SSC moves: a command that is not sent must not
	// advance the host's counter past the card's.
	if n := protectedBodyLen(len(c.Data), c.Ne, byte(c.INS), ext, bs); n > apdu.MaxExtendedLc {
		return nil, fmt.Errorf("%w: protected command data of %d bytes exceeds %d (plain data of %d bytes)", apdu.ErrInvalidCommand, n, apdu.MaxExtendedLc, len(c.Data))
	}
	m.incSSC()
	body := m.body[:0]
	if len(c.Data) > 0 {
		plen := cryptoprim.PaddedLen(len(c.Data), bs)
		if c.INS&1 == 1 {
			body = append(body, tagCryptogramOdd)
			body = appendLen(body, plen)
		} else {
			body = append(body, tagCryptogram)
			body = appendLen(body, plen+1)
			body = append(body, paddingIndicator)
		}
		start := len(body)
		body = append(body, c.Data...)
		body = cryptoprim.PadFrom(body, start, bs)
		iv := m.iv()
		m.c.cbcEncrypt(body[start:], body[start:], iv[:bs])
	}
	if c.Ne > 0 {
		if ext {
			body = append(body, tagLe, 2, byte(c.Ne>>8), byte(c.Ne))
		} else {
			body = append(body, tagLe, 1, byte(c.Ne))
		}
	}
	hdr := [4]byte{cla, byte(c.INS), c.P1, c.P2}
	t := m.computeMAC(hdr[:], body)
	body = append(body, tagMAC, MACLen)
	body = append(body, t[:]...)
	m.body = body
	outer := apdu.Command{CLA: cla, INS: c.INS, P1: c.P1, P2: c.P2, Data: body, Ne: apdu.MaxShortNe}
	if ext || len(body) > apdu.MaxShortLc {
		outer.Extended, outer.Ne = true, apdu.MaxExtendedNe
	}
	out, err := outer.AppendTo(m.out[:0])
	if err != nil {
		return nil, err
	}
	m.out = out
	return out, nil
}

// protectedBodyLen is the length of the data field wrapCommand builds for
// nc bytes of plain data and Ne ne: [DO87 or DO85] [DO97] DO8E.
func protectedBodyLen(nc, ne int, ins byte, ext bool, bs int) int {
	n := 2 + MACLen
	if nc > 0 {
		plen := cryptoprim.PaddedLen(nc, bs)
		if ins&1 == 1 {
			n += 1 + lenLen(plen) + plen
		} else {
			n += 1 + lenLen(plen+1) + 1 + plen
		}
	}
	if ne > 0 {
		n += 3
		if ext {
			n++
		}
	}
	return n
}

// plainSMErrors are the status words a card may send unprotected in answer
// to a protected command: it could not verify the command (6987 objects
// missing, 6988 objects incorrect), does not support SM on it (6882), or
// has no session (6982). Each ends the session.
func isPlainSMError(sw apdu.StatusWord) bool {
	switch sw {
	case apdu.ErrSMDataObjectsMissing, apdu.ErrSMDataObjectsIncorrect,
		apdu.ErrSecureMessagingNotSupported, apdu.ErrSecurityStatusNotSatisfied:
		return true
	}
	return false
}

// isResponseDOTag reports whether b is the tag of a data object a
// protected response may open with: DO87, DO99 or DO8E.
func isResponseDOTag(b byte) bool {
	return b == tagCryptogram || b == tagStatus || b == tagMAC
}

// unwrapResponse checks and decrypts a protected response (ICAO Doc 9303
// part 11 §9.8.5) and appends the plain response (data || SW) to dst. It
// increments the SSC. The order of checks is: structure, MAC (constant
// time), DO99 against the real status word, then decryption and padding.
func (m *smCore) unwrapResponse(dst, raw []byte) ([]byte, error) {
	r, err := apdu.ParseResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrResponseMalformed, err)
	}
	if len(r.Data) == 0 {
		if isPlainSMError(r.SW) {
			return nil, fmt.Errorf("%w: %w", ErrCardRejectedSM, r.SW)
		}
		return nil, fmt.Errorf("%w: plain status %s", ErrResponseUnprotected, r.SW)
	}
	if !isResponseDOTag(r.Data[0]) {
		// A protected response opens with DO87, DO99 or DO8E
		// (docs/PROTOCOL.md §4.3). Anything else, such as the plain
		// template 70 04 80 02 55 31 of a card that dropped secure
		// messaging, is an unprotected answer (§4.4), not a malformed
		// protected one.
		return nil, fmt.Errorf("%w: %d bytes of plain data (first byte %02X), status %s", ErrResponseUnprotected, len(r.Data), r.Data[0], r.SW)
	}
	m.incSSC()
	var do87, do99, do8E []byte
	rest := r.Data
	macEnd := 0
	for len(rest) > 0 {
		tag, val, next, err := readDO(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: at offset %d: %w", ErrResponseMalformed, len(r.Data)-len(rest), err)
		}
		switch {
		case tag == tagCryptogram && do87 == nil && do99 == nil && do8E == nil:
			do87 = val
		case tag == tagStatus && do99 == nil && do8E == nil:
			do99 = val
		case tag == tagMAC && do8E == nil:
			do8E = val
			macEnd = len(r.Data) - len(rest)
		default:
			return nil, fmt.Errorf("%w: unexpected data object %02X at offset %d", ErrResponseMalformed, tag, len(r.Data)-len(rest))
		}
		rest = next
	}
	switch {
	case do8E == nil:
		return nil, fmt.Errorf("%w: no MAC (DO8E)", ErrResponseMalformed)
	case len(do8E) != MACLen:
		return nil, fmt.Errorf("%w: MAC of %d bytes, want %d", ErrResponseMalformed, len(do8E), MACLen)
	case do99 == nil:
		return nil, fmt.Errorf("%w: no status (DO99)", ErrResponseMalformed)
	case len(do99) != 2:
		return nil, fmt.Errorf("%w: DO99 of %d bytes, want 2", ErrResponseMalformed, len(do99))
	}
	t := m.computeMAC(nil, r.Data[:macEnd])
	if subtle.ConstantTimeCompare(t[:], do8E) != 1 {
		return nil, ErrResponseMAC
	}
	if sw := apdu.StatusWord(uint16(do99[0])<<8 | uint16(do99[1])); sw != r.SW {
		return nil, fmt.Errorf("%w: DO99 %s, response %s", ErrStatusMismatch, sw, r.SW)
	}
	start := len(dst)
	if do87 != nil {
		bs := m.c.bs
		if len(do87) < 1+bs || (len(do87)-1)%bs != 0 || do87[0] != paddingIndicator {
			return nil, fmt.Errorf("%w: DO87 of %d bytes is no padded cryptogram", ErrResponseMalformed, len(do87))
		}
		dst = append(dst, do87[1:]...)
		iv := m.iv()
		m.c.cbcDecrypt(dst[start:], dst[start:], iv[:bs])
		plain, ok := cryptoprim.Unpad(dst[start:], bs)
		if !ok {
			clear(dst[start:])
			return nil, fmt.Errorf("%w: bad padding in DO87", ErrResponseMalformed)
		}
		clear(dst[start+len(plain):])
		dst = dst[:start+len(plain)]
	}
	return append(dst, do99[0], do99[1]), nil
}

// unwrapCommand is the card side of wrapCommand: it checks and decrypts a
// protected command. Errors wrap 6987 (data objects missing) or 6988
// (incorrect), the status the card answers in plain.
func (m *smCore) unwrapCommand(raw []byte) (apdu.Command, error) {
	c, err := apdu.ParseCommand(raw)
	if err != nil {
		return apdu.Command{}, smIncorrect("%v", err)
	}
	if !IsProtected(c.CLA) {
		return apdu.Command{}, smMissing("CLA %02X does not indicate secure messaging", c.CLA)
	}
	// The SSC counts every protected command, valid or not, so a replayed
	// or forged command desynchronises nothing it should not (ICAO Doc
	// 9303 part 11 §9.8.2).
	m.incSSC()
	dos, err := splitCommandDOs(c.Data)
	if err != nil {
		return apdu.Command{}, err
	}
	// The MAC covers the padded header and every DO before DO8E
	// (ISO/IEC 7816-4 §10.2.3.1), compared in constant time.
	hdr := [4]byte{c.CLA, byte(c.INS), c.P1, c.P2}
	t := m.computeMAC(hdr[:], c.Data[:dos.macEnd])
	if subtle.ConstantTimeCompare(t[:], dos.mac) != 1 {
		return apdu.Command{}, fmt.Errorf("%w: %w", ErrCommandMAC, apdu.ErrSMDataObjectsIncorrect)
	}
	in := apdu.Command{CLA: plainCLA(c.CLA), INS: c.INS, P1: c.P1, P2: c.P2}
	if in.Ne, in.Extended, err = decodeDO97(dos.le); err != nil {
		return apdu.Command{}, err
	}
	if dos.data != nil {
		if in.Data, err = m.decryptCommandData(dos.dataTag, dos.data, c.INS); err != nil {
			return apdu.Command{}, err
		}
		if len(in.Data) > apdu.MaxShortLc {
			in.Extended = true
		}
	}
	return in, nil
}

// smMissing and smIncorrect are the errors of a malformed protected
// command: the SM data objects missing (6987) or incorrect (6988),
// ISO/IEC 7816-4 §5.6 table 6.
func smMissing(format string, a ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrCommandMalformed, apdu.ErrSMDataObjectsMissing, fmt.Sprintf(format, a...))
}

func smIncorrect(format string, a ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrCommandMalformed, apdu.ErrSMDataObjectsIncorrect, fmt.Sprintf(format, a...))
}

// commandDOs are the SM data objects of a protected command.
type commandDOs struct {
	data    []byte // the value of DO87 or DO85, nil if absent
	dataTag byte   // 87 or 85
	le      []byte // the value of DO97, nil if absent
	mac     []byte // the value of DO8E
	macEnd  int    // offset of DO8E: the MAC covers the bytes before it
}

// splitCommandDOs reads the data field of a protected command: in this
// order and at most once each, DO87 or DO85 (the cryptogram), DO97 (Le),
// DO8E (the MAC, mandatory, 8 bytes), as ICAO Doc 9303 part 11 §9.8.4
// lays them out. Anything else is refused.
func splitCommandDOs(field []byte) (commandDOs, error) {
	var d commandDOs
	rest := field
	for len(rest) > 0 {
		tag, val, next, err := readDO(rest)
		if err != nil {
			return d, smIncorrect("at offset %d: %v", len(field)-len(rest), err)
		}
		switch {
		case (tag == tagCryptogram || tag == tagCryptogramOdd) && d.data == nil && d.le == nil && d.mac == nil:
			d.data, d.dataTag = val, tag
		case tag == tagLe && d.le == nil && d.mac == nil:
			d.le = val
		case tag == tagMAC && d.mac == nil:
			d.mac = val
			d.macEnd = len(field) - len(rest)
		default:
			return d, smIncorrect("unexpected data object %02X at offset %d", tag, len(field)-len(rest))
		}
		rest = next
	}
	if d.mac == nil {
		return d, smMissing("no MAC (DO8E)")
	}
	if len(d.mac) != MACLen {
		return d, smIncorrect("MAC of %d bytes, want %d", len(d.mac), MACLen)
	}
	return d, nil
}

// decodeDO97 turns the value of DO97 into Ne: absent, none; one byte, a
// short Le (00 = 256); two bytes, an extended Le (0000 = 65536), as
// ISO/IEC 7816-4 §5.1 encodes Le.
func decodeDO97(le []byte) (ne int, extended bool, err error) {
	switch len(le) {
	case 0:
		if le != nil {
			return 0, false, smIncorrect("empty DO97")
		}
		return 0, false, nil
	case 1:
		if ne = int(le[0]); ne == 0 {
			ne = apdu.MaxShortNe
		}
		return ne, false, nil
	case 2:
		if ne = int(le[0])<<8 | int(le[1]); ne == 0 {
			ne = apdu.MaxExtendedNe
		}
		return ne, true, nil
	}
	return 0, false, smIncorrect("DO97 of %d bytes", len(le))
}

// decryptCommandData decrypts the cryptogram of DO87 (even INS: padding
// indicator 01, then the ciphertext) or DO85 (odd INS: the ciphertext
// only), ISO/IEC 7816-4 §10.2.2, and removes padding method 2.
func (m *smCore) decryptCommandData(tag byte, ct []byte, ins apdu.Ins) ([]byte, error) {
	bs := m.c.bs
	if tag == tagCryptogram {
		if len(ct) == 0 || ct[0] != paddingIndicator {
			return nil, smIncorrect("DO87 without padding indicator 01")
		}
		ct = ct[1:]
	}
	if (tag == tagCryptogram) != (ins&1 == 0) {
		return nil, smIncorrect("DO%02X with INS %02X", tag, ins)
	}
	if len(ct) < bs || len(ct)%bs != 0 {
		return nil, smIncorrect("cryptogram of %d bytes", len(ct))
	}
	data := make([]byte, len(ct))
	iv := m.iv()
	m.c.cbcDecrypt(data, ct, iv[:bs])
	plain, ok := cryptoprim.Unpad(data, bs)
	if !ok {
		clear(data)
		return nil, smIncorrect("bad padding in cryptogram")
	}
	return plain, nil
}

// wrapResponse protects a response on the card side (ICAO Doc 9303 part 11
// §9.8.5): [DO87] DO99 DO8E, then SW1 SW2. It increments the SSC.
func (m *smCore) wrapResponse(r apdu.Response) []byte {
	m.incSSC()
	bs := m.c.bs
	out := make([]byte, 0, len(r.Data)+bs+4+4+2+MACLen+2+2)
	if len(r.Data) > 0 {
		plen := cryptoprim.PaddedLen(len(r.Data), bs)
		out = append(out, tagCryptogram)
		out = appendLen(out, plen+1)
		out = append(out, paddingIndicator)
		start := len(out)
		out = append(out, r.Data...)
		out = cryptoprim.PadFrom(out, start, bs)
		iv := m.iv()
		m.c.cbcEncrypt(out[start:], out[start:], iv[:bs])
	}
	out = append(out, tagStatus, 2, r.SW.SW1(), r.SW.SW2())
	t := m.computeMAC(nil, out)
	out = append(out, tagMAC, MACLen)
	out = append(out, t[:]...)
	return append(out, r.SW.SW1(), r.SW.SW2())
}

// MaxCommandData returns the largest plain command data length whose
// protected command, with DO87 (padding indicator and padded cryptogram),
// DO97 and DO8E, still fits one short APDU (Nc ≤ 255), or one extended APDU
// (Nc ≤ 65535) when extended is true. Chunk UPDATE BINARY and the like by
// this size. TDES: 231 (short), AES: 223 (short).
func MaxCommandData(s Suite, extended bool) int {
	limit, do97 := apdu.MaxShortLc, 3
	if extended {
		limit, do97 = apdu.MaxExtendedLc, 4
	}
	return maxPlain(s.BlockSize(), limit-do97-(2+MACLen))
}

// MaxResponseData returns the largest plain response data length whose
// protected response, with DO87, DO99 and DO8E, still fits a short
// response (Ne ≤ 256), or an extended one (Ne ≤ 65536) when extended is
// true. Use it as Le of READ BINARY and the like. TDES: 231, AES: 223
// (short).
func MaxResponseData(s Suite, extended bool) int {
	limit := apdu.MaxShortNe
	if extended {
		limit = apdu.MaxExtendedNe
	}
	return maxPlain(s.BlockSize(), limit-4-(2+MACLen))
}

// maxPlain is the largest n whose DO87 (tag, length, indicator and n bytes
// padded with method 2) fits in room bytes.
func maxPlain(bs, room int) int {
	for p := (room / bs) * bs; p > 0; p -= bs {
		if 1+lenLen(p+1)+1+p <= room {
			return p - 1
		}
	}
	return 0
}
