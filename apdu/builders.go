package apdu

import "fmt"

// P2 values of SELECT (ISO/IEC 7816-4 §11.2.2, table 63): what the card
// returns about the selected file.
const (
	// SelectReturnFCI asks for the file control information (FCI, tag 6F).
	SelectReturnFCI byte = 0x00
	// SelectReturnFCP asks for the file control parameters (FCP, tag 62).
	SelectReturnFCP byte = 0x04
	// SelectReturnFMD asks for the file management data (FMD, tag 64).
	SelectReturnFMD byte = 0x08
	// SelectNoResponse asks for no response data.
	SelectNoResponse byte = 0x0C
)

// Limits of the builders' arguments.
const (
	// MaxBinaryOffset is the largest offset READ BINARY and UPDATE BINARY
	// can address in P1-P2 (15 bits, ISO/IEC 7816-4 §11.3.3).
	MaxBinaryOffset = 0x7FFF
	// MaxSFI is the largest short EF identifier (§7.2.2: 1 to 30).
	MaxSFI = 30
)

// The builders below return a command with CLA 00 (interindustry, no
// secure messaging, basic channel); a secure-messaging session or a
// logical channel sets its own CLA bits on the way out. An argument out of
// range gives a command that fails to encode with ErrInvalidCommand, so a
// bad argument is reported where the command is sent, never sent wrong.

// invalidf returns a command that reports err when encoded.
func invalidf(ins Ins, format string, args ...any) Command {
	return Command{INS: ins, invalid: fmt.Errorf("%w: %v: %s", ErrInvalidCommand, ins, fmt.Sprintf(format, args...))}
}

// SelectAID returns SELECT by DF name (P1 = 04, first or only occurrence)
// of the application identifier aid, asking for no response data
// (ISO/IEC 7816-4 §11.2.2). For the FCI, set P2 to SelectReturnFCI and
// Ne to MaxShortNe. An AID is 5 to 16 bytes (§12.2.3).
func SelectAID(aid []byte) Command {
	if len(aid) < 5 || len(aid) > 16 {
		return invalidf(InsSelect, "AID of %d bytes, want 5 to 16", len(aid))
	}
	return Command{INS: InsSelect, P1: 0x04, P2: SelectNoResponse, Data: aid}
}

// SelectEF returns SELECT of the EF with file identifier fid under the
// current DF (P1 = 02, ISO/IEC 7816-4 §11.2.2). p2 says what to return
// (SelectReturnFCP, SelectNoResponse, ...); unless it is SelectNoResponse,
// Ne is MaxShortNe.
func SelectEF(fid uint16, p2 byte) Command {
	c := Command{INS: InsSelect, P1: 0x02, P2: p2, Data: []byte{byte(fid >> 8), byte(fid)}}
	if p2&0x0C != SelectNoResponse {
		c.Ne = MaxShortNe
	}
	return c
}

// ReadBinary returns READ BINARY of up to ne bytes at offset off of the
// current EF (ISO/IEC 7816-4 §11.3.3, P1 bit 8 = 0, offset in 15 bits).
func ReadBinary(off, ne int) Command {
	if off < 0 || off > MaxBinaryOffset {
		return invalidf(InsReadBinary, "offset %d out of range 0..%d", off, MaxBinaryOffset)
	}
	return Command{INS: InsReadBinary, P1: byte(off >> 8), P2: byte(off), Ne: ne}
}

// ReadBinarySFI returns READ BINARY of up to ne bytes at offset off of the
// EF with short identifier sfi, which the command also selects
// (ISO/IEC 7816-4 §11.3.3, P1 = 100 sfi, offset in P2).
func ReadBinarySFI(sfi byte, off byte, ne int) Command {
	if sfi < 1 || sfi > MaxSFI {
		return invalidf(InsReadBinary, "SFI %d out of range 1..%d", sfi, MaxSFI)
	}
	return Command{INS: InsReadBinary, P1: 0x80 | sfi, P2: off, Ne: ne}
}

// UpdateBinary returns UPDATE BINARY of data at offset off of the current
// EF (ISO/IEC 7816-4 §11.3.5, offset in 15 bits as in READ BINARY).
func UpdateBinary(off int, data []byte) Command {
	if off < 0 || off > MaxBinaryOffset {
		return invalidf(InsUpdateBinary, "offset %d out of range 0..%d", off, MaxBinaryOffset)
	}
	return Command{INS: InsUpdateBinary, P1: byte(off >> 8), P2: byte(off), Data: data}
}

// recordP2 is P2 of the record commands (ISO/IEC 7816-4 §11.4.2, table
// 67): the SFI (0: the current EF) in bits 8-4 and mode in bits 3-1.
func recordP2(ins Ins, sfi, mode byte) (byte, error) {
	if sfi > MaxSFI {
		return 0, fmt.Errorf("%w: %v: SFI %d out of range 0..%d", ErrInvalidCommand, ins, sfi, MaxSFI)
	}
	return sfi<<3 | mode, nil
}

// ReadRecord returns READ RECORD of record number rec (1 to 254) of the
// EF with short identifier sfi, or of the current EF when sfi is 0
// (ISO/IEC 7816-4 §11.4.3, P2 mode 100: record number in P1).
func ReadRecord(sfi, rec byte, ne int) Command {
	p2, err := recordP2(InsReadRecord, sfi, 0x04)
	if err != nil {
		return Command{INS: InsReadRecord, invalid: err}
	}
	if rec == 0 || rec == 0xFF {
		return invalidf(InsReadRecord, "record number %d out of range 1..254", rec)
	}
	return Command{INS: InsReadRecord, P1: rec, P2: p2, Ne: ne}
}

// UpdateRecord returns UPDATE RECORD replacing record number rec of the EF
// with short identifier sfi (0: the current EF) by data (ISO/IEC 7816-4
// §11.4.5, P2 mode 100).
func UpdateRecord(sfi, rec byte, data []byte) Command {
	p2, err := recordP2(InsUpdateRecord, sfi, 0x04)
	if err != nil {
		return Command{INS: InsUpdateRecord, invalid: err}
	}
	if rec == 0 || rec == 0xFF {
		return invalidf(InsUpdateRecord, "record number %d out of range 1..254", rec)
	}
	return Command{INS: InsUpdateRecord, P1: rec, P2: p2, Data: data}
}

// AppendRecord returns APPEND RECORD adding data as a new record to the EF
// with short identifier sfi (0: the current EF) (ISO/IEC 7816-4 §11.4.6).
func AppendRecord(sfi byte, data []byte) Command {
	p2, err := recordP2(InsAppendRecord, sfi, 0x00)
	if err != nil {
		return Command{INS: InsAppendRecord, invalid: err}
	}
	return Command{INS: InsAppendRecord, P2: p2, Data: data}
}

// Verify returns VERIFY of the reference data (a password) ref against
// data (ISO/IEC 7816-4 §11.5.6, P1 = 00). With no data the card reports the
// retry counter without spending a try. The command carries a secret:
// send it under WithSecret if no Trace masks VERIFY, and wipe data after.
func Verify(ref byte, data []byte) Command {
	return Command{INS: InsVerify, P2: ref, Data: data}
}

// ChangeReferenceData returns CHANGE REFERENCE DATA of ref with P1 = 00:
// data is the current value followed by the new one (ISO/IEC 7816-4
// §11.5.7). With P1 set to 01, data is the new value only.
func ChangeReferenceData(ref byte, data []byte) Command {
	return Command{INS: InsChangeReferenceData, P2: ref, Data: data}
}

// ResetRetryCounter returns RESET RETRY COUNTER of ref (ISO/IEC 7816-4
// §11.5.10): with nw empty, P1 = 03 (reset the counter only); otherwise
// P1 = 02 and nw is the new reference data.
func ResetRetryCounter(ref byte, nw []byte) Command {
	if len(nw) == 0 {
		return Command{INS: InsResetRetryCounter, P1: 0x03, P2: ref}
	}
	return Command{INS: InsResetRetryCounter, P1: 0x02, P2: ref, Data: nw}
}

// GetChallenge returns GET CHALLENGE for a nonce of ne bytes
// (ISO/IEC 7816-4 §11.5.3).
func GetChallenge(ne int) Command {
	return Command{INS: InsGetChallenge, Ne: ne}
}

// MutualAuthenticate returns MUTUAL AUTHENTICATE (EXTERNAL AUTHENTICATE,
// ISO/IEC 7816-4 §11.5.4) with the key reference ref in P2, the host's
// cryptogram in data, and ne bytes expected from the card.
func MutualAuthenticate(ref byte, data []byte, ne int) Command {
	return Command{INS: InsMutualAuthenticate, P2: ref, Data: data, Ne: ne}
}

// GetResponse returns GET RESPONSE for ne bytes (ISO/IEC 7816-4 §11.6.4).
// A Channel sends it for you after 61xx.
func GetResponse(ne int) Command {
	return Command{INS: InsGetResponse, Ne: ne}
}

// ActivateFile returns ACTIVATE FILE of the current file (ISO/IEC 7816-4
// §11.2.6, P1-P2 = 00 00, no data).
func ActivateFile() Command {
	return Command{INS: InsActivateFile}
}
