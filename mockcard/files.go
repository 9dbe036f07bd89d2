package mockcard

import (
	"bytes"

	"github.com/mynacard/freespace/apdu"
)

// neWildcard reports whether ne is the "all available" value of a short
// (00) or extended (0000) Le field.
func neWildcard(ne int) bool { return ne == apdu.MaxShortNe || ne == apdu.MaxExtendedNe }

// cmdSelect is SELECT (ISO/IEC 7816-4 §11.2.2).
func (c *Card) cmdSelect(cmd apdu.Command) res {
	switch cmd.P2 {
	case 0x00, 0x04, 0x0C:
	default:
		return swOnly(apdu.ErrIncorrectP1P2)
	}
	switch cmd.P1 {
	case 0x00: // MF, by FID 3F00 or with no data
		if len(cmd.Data) != 0 && !bytes.Equal(cmd.Data, []byte{0x3F, 0x00}) {
			if len(cmd.Data) != 2 {
				return swOnly(apdu.ErrWrongLength)
			}
			return swOnly(apdu.ErrFileNotFound)
		}
		c.dropSecurity()
		c.cur, c.curEF = nil, nil
		return c.fci(cmd, nil, []byte{0x83, 0x02, 0x3F, 0x00})
	case 0x04: // by DF name
		if len(cmd.Data) < 1 || len(cmd.Data) > 16 {
			return swOnly(apdu.ErrWrongLength)
		}
		a := c.findApp(cmd.Data)
		if a == nil {
			return swOnly(apdu.ErrFileNotFound)
		}
		// Selecting an AP always starts a fresh security state, even
		// when it is already selected.
		c.dropSecurity()
		c.cur, c.curEF = a, nil
		tlv := append([]byte{0x84, byte(len(a.aid))}, a.aid...)
		return c.fci(cmd, append(fciWithCUID(a, tlv), c.fciProprietary(a)...), tlv)
	case 0x02: // EF under the current DF
		if len(cmd.Data) != 2 {
			return swOnly(apdu.ErrWrongLength)
		}
		if c.cur == nil {
			return swOnly(apdu.ErrFileNotFound)
		}
		fid := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		f := c.cur.efByFID(fid)
		if f == nil {
			return swOnly(apdu.ErrFileNotFound)
		}
		c.curEF = f
		return c.fci(cmd, nil, f.fcp(c.sizeLen))
	}
	return swOnly(apdu.ErrIncorrectP1P2)
}

// fci builds the SELECT answer: P2=00 FCI template 6F, P2=04 FCP
// template 62, P2=0C nothing. fciBody is used for 6F (fcpBody when nil).
func (c *Card) fci(cmd apdu.Command, fciBody, fcpBody []byte) res {
	var out []byte
	switch cmd.P2 {
	case 0x0C:
		return swOnly(apdu.SWSuccess)
	case 0x00:
		if fciBody == nil {
			fciBody = fcpBody
		}
		out = append([]byte{0x6F, byte(len(fciBody))}, fciBody...)
	case 0x04:
		out = append([]byte{0x62, byte(len(fcpBody))}, fcpBody...)
	}
	if cmd.Ne == 0 {
		// Case 3: no response data expected.
		return swOnly(apdu.SWSuccess)
	}
	if cmd.Ne < len(out) && !neWildcard(cmd.Ne) {
		return swOnly(apdu.StatusWord(0x6C00 | uint16(len(out))))
	}
	return res{data: out, sw: apdu.SWSuccess}
}

// fcp is the EF's control parameters: 80 size (on sizeLen bytes, 1 to 4),
// 82 descriptor, 83 FID.
func (f *ef) fcp(sizeLen int) []byte {
	size := len(f.data)
	desc := byte(0x01) // transparent
	if f.spec.Kind == LinearRecords {
		desc = 0x04 // linear variable
		size = 0
		for _, r := range f.records {
			size += len(r)
		}
	}
	out := []byte{0x80, byte(sizeLen)}
	for i := sizeLen - 1; i >= 0; i-- {
		out = append(out, byte(size>>(8*i)))
	}
	return append(out, 0x82, 0x01, desc, 0x83, 0x02, byte(f.spec.FID>>8), byte(f.spec.FID))
}

// fileOp is what a file command does to its EF: the access condition of
// the EF it is checked against (Access.Read, Update or Append).
type fileOp uint8

const (
	opRead fileOp = iota
	opUpdate
	opAppend
)

// condition returns the access condition of op.
func (a Access) condition(op fileOp) Condition {
	switch op {
	case opRead:
		return a.Read
	case opUpdate:
		return a.Update
	}
	return a.Append
}

// lengthsOK checks the command's body against its case (ISO/IEC 7816-4
// §5.1): a read carries no data and expects some (case 2), a write
// carries data and expects none (case 3).
func lengthsOK(cmd apdu.Command, op fileOp) bool {
	write := op != opRead
	return (len(cmd.Data) != 0) == write && (cmd.Ne != 0) != write
}

// checkEF is the part of every file command after its target EF is
// resolved: the EF's structure (6981 when it is not kind) and the access
// condition of op in the AP's lifecycle state (6982).
func (c *Card) checkEF(f *ef, kind EFKind, op fileOp, sm bool) apdu.StatusWord {
	if f.spec.Kind != kind {
		return apdu.ErrIncompatibleFileStructure
	}
	if !c.allowed(c.cur.access(f).condition(op), sm) {
		return apdu.ErrSecurityStatusNotSatisfied
	}
	return apdu.SWSuccess
}

// binaryTarget resolves P1-P2 of READ/UPDATE BINARY (§11.3.3): P1 bit 8
// set: SFI in P1 bits 5-1 (bits 7-6 zero), offset P2; otherwise a 15-bit
// offset in P1-P2 into the current EF. Selecting by SFI makes the EF
// current.
func (c *Card) binaryTarget(cmd apdu.Command) (*ef, int, apdu.StatusWord) {
	if cmd.P1&0x80 != 0 {
		if cmd.P1&0x60 != 0 {
			return nil, 0, apdu.ErrIncorrectP1P2
		}
		sfi := cmd.P1 & 0x1F
		if sfi == 0 || sfi == 0x1F {
			return nil, 0, apdu.ErrIncorrectP1P2
		}
		if c.cur == nil {
			return nil, 0, apdu.ErrFileNotFound
		}
		f := c.cur.efBySFI(sfi)
		if f == nil {
			return nil, 0, apdu.ErrFileNotFound
		}
		c.curEF = f
		return f, int(cmd.P2), apdu.SWSuccess
	}
	if c.curEF == nil {
		return nil, 0, apdu.ErrCommandNotAllowedNoEF
	}
	return c.curEF, int(cmd.P1)<<8 | int(cmd.P2), apdu.SWSuccess
}

// binaryEF runs the checks of READ and UPDATE BINARY in the card's order
// (lengths, target, structure, access, offset) and returns the EF and the
// offset, which is at most the EF's current size (6B00 beyond).
func (c *Card) binaryEF(cmd apdu.Command, op fileOp, sm bool) (*ef, int, apdu.StatusWord) {
	if !lengthsOK(cmd, op) {
		return nil, 0, apdu.ErrWrongLength
	}
	f, off, sw := c.binaryTarget(cmd)
	if sw == apdu.SWSuccess {
		sw = c.checkEF(f, Transparent, op, sm)
	}
	if sw != apdu.SWSuccess {
		return nil, 0, sw
	}
	if off > len(f.data) {
		return nil, 0, apdu.ErrWrongP1P2
	}
	return f, off, apdu.SWSuccess
}

// cmdReadBinary is READ BINARY (§11.3.3). Ne beyond the end returns the
// bytes there are with 6282, except the wildcard Le (00 / 0000), which
// means "all available" and gets 9000.
func (c *Card) cmdReadBinary(cmd apdu.Command, sm bool) res {
	f, off, sw := c.binaryEF(cmd, opRead, sm)
	if sw != apdu.SWSuccess {
		return swOnly(sw)
	}
	avail := len(f.data) - off
	n := min(cmd.Ne, avail)
	out := append([]byte(nil), f.data[off:off+n]...)
	if n < cmd.Ne && !neWildcard(cmd.Ne) {
		return res{data: out, sw: apdu.WarnEndOfFile}
	}
	if n == 0 {
		return res{sw: apdu.WarnEndOfFile}
	}
	return res{data: out, sw: apdu.SWSuccess}
}

// cmdUpdateBinary is UPDATE BINARY (§11.3.5). The EF's size grows with
// writes up to its allocated MaxSize (6A84 beyond); an offset past the
// current end is 6B00.
func (c *Card) cmdUpdateBinary(cmd apdu.Command, sm bool) res {
	f, off, sw := c.binaryEF(cmd, opUpdate, sm)
	if sw != apdu.SWSuccess {
		return swOnly(sw)
	}
	if off+len(cmd.Data) > f.spec.MaxSize {
		return swOnly(apdu.ErrNotEnoughMemory)
	}
	data := c.torn(cmd.Data)
	if end := off + len(data); end > len(f.data) {
		f.data = append(f.data, make([]byte, end-len(f.data))...)
	}
	copy(f.data[off:], data)
	return swOnly(apdu.SWSuccess)
}

// torn returns the part of a write that reaches the memory: all of it, or
// its first c.tear bytes while a tearing fault is active.
func (c *Card) torn(data []byte) []byte {
	if c.tear >= 0 && c.tear < len(data) {
		return data[:c.tear]
	}
	return data
}

// recordTarget resolves the EF of a record command from P2 bits 8-4
// (SFI; 0: the current EF) and checks bits 3-1 against want.
func (c *Card) recordTarget(p2, want byte) (*ef, apdu.StatusWord) {
	if p2&0x07 != want {
		return nil, apdu.ErrIncorrectP1P2
	}
	sfi := p2 >> 3
	if sfi == 0x1F {
		return nil, apdu.ErrIncorrectP1P2
	}
	if sfi == 0 {
		if c.curEF == nil {
			return nil, apdu.ErrCommandNotAllowedNoEF
		}
		return c.curEF, apdu.SWSuccess
	}
	if c.cur == nil {
		return nil, apdu.ErrFileNotFound
	}
	f := c.cur.efBySFI(sfi)
	if f == nil {
		return nil, apdu.ErrFileNotFound
	}
	c.curEF = f
	return f, apdu.SWSuccess
}

// recordEF runs the checks of the record commands in the card's order
// (lengths, P1, target, structure, access). READ and UPDATE RECORD name a
// record in P1 (1..254, P2 bits 3-1 = 100): its index is returned, 6A83
// when the EF has no such record. APPEND RECORD has P1 = 00 and P2 bits
// 3-1 = 000; its index is the next free one.
func (c *Card) recordEF(cmd apdu.Command, op fileOp, sm bool) (*ef, int, apdu.StatusWord) {
	if !lengthsOK(cmd, op) {
		return nil, 0, apdu.ErrWrongLength
	}
	want := byte(0x04)
	if op == opAppend {
		want = 0x00
		if cmd.P1 != 0x00 {
			return nil, 0, apdu.ErrIncorrectP1P2
		}
	} else if cmd.P1 == 0x00 || cmd.P1 == 0xFF {
		return nil, 0, apdu.ErrIncorrectP1P2
	}
	f, sw := c.recordTarget(cmd.P2, want)
	if sw == apdu.SWSuccess {
		sw = c.checkEF(f, LinearRecords, op, sm)
	}
	if sw != apdu.SWSuccess {
		return nil, 0, sw
	}
	if op == opAppend {
		return f, len(f.records), apdu.SWSuccess
	}
	i := int(cmd.P1) - 1
	if i >= len(f.records) {
		return nil, 0, apdu.ErrRecordNotFound
	}
	return f, i, apdu.SWSuccess
}

// cmdReadRecord is READ RECORD (§11.4.3), P2 = SFI<<3 | 100: the record
// numbered P1 (1..254). Ne shorter than the record gets 6Cxx; longer (and
// not the wildcard) returns the record with 6282.
func (c *Card) cmdReadRecord(cmd apdu.Command, sm bool) res {
	f, i, sw := c.recordEF(cmd, opRead, sm)
	if sw != apdu.SWSuccess {
		return swOnly(sw)
	}
	rec := f.records[i]
	switch {
	case cmd.Ne < len(rec):
		return swOnly(apdu.StatusWord(0x6C00 | uint16(len(rec))))
	case cmd.Ne > len(rec) && !neWildcard(cmd.Ne):
		return res{data: append([]byte(nil), rec...), sw: apdu.WarnEndOfFile}
	}
	return res{data: append([]byte(nil), rec...), sw: apdu.SWSuccess}
}

// cmdUpdateRecord is UPDATE RECORD (§11.4.5), P2 = SFI<<3 | 100: replaces
// record P1 whole (its length may change up to MaxRecordLen, 6A84 beyond).
// Torn, the record is overwritten in place byte by byte: the first bytes
// are new, the rest old.
func (c *Card) cmdUpdateRecord(cmd apdu.Command, sm bool) res {
	f, i, sw := c.recordEF(cmd, opUpdate, sm)
	if sw != apdu.SWSuccess {
		return swOnly(sw)
	}
	if len(cmd.Data) > f.spec.MaxRecordLen {
		return swOnly(apdu.ErrNotEnoughMemory)
	}
	data := c.torn(cmd.Data)
	if len(data) == len(cmd.Data) {
		f.records[i] = append([]byte(nil), data...)
		return swOnly(apdu.SWSuccess)
	}
	old := f.records[i]
	rec := append([]byte(nil), data...)
	if len(old) > len(rec) {
		rec = append(rec, old[len(rec):]...)
	}
	f.records[i] = rec
	return swOnly(apdu.SWSuccess)
}

// cmdAppendRecord is APPEND RECORD (§11.4.6), P1 = 00, P2 = SFI<<3 | 000.
// Torn, a record of the bytes written so far is appended.
func (c *Card) cmdAppendRecord(cmd apdu.Command, sm bool) res {
	f, _, sw := c.recordEF(cmd, opAppend, sm)
	if sw != apdu.SWSuccess {
		return swOnly(sw)
	}
	if len(f.records) >= f.spec.MaxRecords || len(cmd.Data) > f.spec.MaxRecordLen {
		return swOnly(apdu.ErrNotEnoughMemory)
	}
	data := c.torn(cmd.Data)
	if len(data) > 0 {
		f.records = append(f.records, append([]byte(nil), data...))
	}
	return swOnly(apdu.SWSuccess)
}

// fciWithCUID appends 85 10 CUID (proprietary information, ISO/IEC 7816-4
// §7.4.3) to the FCI of an AP that has a 16-byte EF.CUID (FID 0001), so
// that hosts learn the CUID with the SELECT itself (docs/PROTOCOL.md §6.1).
func fciWithCUID(a *app, body []byte) []byte {
	f := a.efByFID(0x0001)
	if f == nil || f.spec.Kind != Transparent || len(f.data) != 16 {
		return body
	}
	out := make([]byte, 0, len(body)+18)
	out = append(append(out, body...), 0x85, 16)
	return append(out, f.data...)
}
