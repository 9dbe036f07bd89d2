package apdu

import "fmt"

// Ins is an instruction byte (INS) of an interindustry command
// (ISO/IEC 7816-4 §5.4.2, table 4). Formatted with %s or %v it prints the
// command's name ("SELECT"), with %x, %X or %d the byte itself, so a log
// line can say both: fmt.Sprintf("%v (INS %02X)", ins, ins).
type Ins byte

// Interindustry instructions that the freespace card APs use, with the
// ISO/IEC 7816-4:2020 clause that defines each command. An odd INS is the
// variant whose data field is BER-TLV encoded (§5.4.2).
const (
	// InsDeactivateFile is DEACTIVATE FILE (§11.2.5).
	InsDeactivateFile Ins = 0x04
	// InsEraseBinary is ERASE BINARY (§11.3.7).
	InsEraseBinary Ins = 0x0E
	// InsVerify is VERIFY (§11.5.6): checks reference data such as a
	// password, or with no data field asks for the retry counter.
	InsVerify Ins = 0x20
	// InsChangeReferenceData is CHANGE REFERENCE DATA (§11.5.7).
	InsChangeReferenceData Ins = 0x24
	// InsDisableVerificationRequirement is DISABLE VERIFICATION
	// REQUIREMENT (§11.5.9).
	InsDisableVerificationRequirement Ins = 0x26
	// InsEnableVerificationRequirement is ENABLE VERIFICATION REQUIREMENT
	// (§11.5.8).
	InsEnableVerificationRequirement Ins = 0x28
	// InsResetRetryCounter is RESET RETRY COUNTER (§11.5.10): unblocks
	// reference data and may set a new value.
	InsResetRetryCounter Ins = 0x2C
	// InsActivateFile is ACTIVATE FILE (§11.2.6).
	InsActivateFile Ins = 0x44
	// InsManageChannel is MANAGE CHANNEL (§11.1.2).
	InsManageChannel Ins = 0x70
	// InsExternalAuthenticate is EXTERNAL AUTHENTICATE (§11.5.4). It shares
	// its byte with InsMutualAuthenticate: the data field tells them apart.
	InsExternalAuthenticate Ins = 0x82
	// InsMutualAuthenticate is MUTUAL AUTHENTICATE (§11.5.4), the
	// EXTERNAL AUTHENTICATE variant in which both sides prove a key.
	InsMutualAuthenticate Ins = 0x82
	// InsGetChallenge is GET CHALLENGE (§11.5.3): a nonce from the card.
	InsGetChallenge Ins = 0x84
	// InsGeneralAuthenticate is GENERAL AUTHENTICATE (§11.5.5).
	InsGeneralAuthenticate Ins = 0x86
	// InsInternalAuthenticate is INTERNAL AUTHENTICATE (§11.5.2).
	InsInternalAuthenticate Ins = 0x88
	// InsSelect is SELECT (§11.2.2): selects a DF by name (AID) or an
	// EF or DF by file identifier.
	InsSelect Ins = 0xA4
	// InsReadBinary is READ BINARY (§11.3.3).
	InsReadBinary Ins = 0xB0
	// InsReadRecord is READ RECORD (§11.4.3).
	InsReadRecord Ins = 0xB2
	// InsGetResponse is GET RESPONSE (§11.6.4): fetches the rest of a
	// response the card announced with 61xx. Channel sends it for you.
	InsGetResponse Ins = 0xC0
	// InsEnvelope is ENVELOPE (§11.6.3).
	InsEnvelope Ins = 0xC2
	// InsGetData is GET DATA (§11.4.7).
	InsGetData Ins = 0xCA
	// InsWriteBinary is WRITE BINARY (§11.3.4).
	InsWriteBinary Ins = 0xD0
	// InsWriteRecord is WRITE RECORD (§11.4.4).
	InsWriteRecord Ins = 0xD2
	// InsUpdateBinary is UPDATE BINARY (§11.3.5).
	InsUpdateBinary Ins = 0xD6
	// InsPutData is PUT DATA (§11.4.8).
	InsPutData Ins = 0xDA
	// InsUpdateRecord is UPDATE RECORD (§11.4.5).
	InsUpdateRecord Ins = 0xDC
	// InsAppendRecord is APPEND RECORD (§11.4.6).
	InsAppendRecord Ins = 0xE2
)

// insNames names the instructions of the table above; 82 is named for the
// mutual authentication the card APs use.
var insNames = map[Ins]string{
	InsDeactivateFile:                 "DEACTIVATE FILE",
	InsEraseBinary:                    "ERASE BINARY",
	InsVerify:                         "VERIFY",
	InsChangeReferenceData:            "CHANGE REFERENCE DATA",
	InsDisableVerificationRequirement: "DISABLE VERIFICATION REQUIREMENT",
	InsEnableVerificationRequirement:  "ENABLE VERIFICATION REQUIREMENT",
	InsResetRetryCounter:              "RESET RETRY COUNTER",
	InsActivateFile:                   "ACTIVATE FILE",
	InsManageChannel:                  "MANAGE CHANNEL",
	InsMutualAuthenticate:             "MUTUAL AUTHENTICATE",
	InsGetChallenge:                   "GET CHALLENGE",
	InsGeneralAuthenticate:            "GENERAL AUTHENTICATE",
	InsInternalAuthenticate:           "INTERNAL AUTHENTICATE",
	InsSelect:                         "SELECT",
	InsReadBinary:                     "READ BINARY",
	InsReadRecord:                     "READ RECORD",
	InsGetResponse:                    "GET RESPONSE",
	InsEnvelope:                       "ENVELOPE",
	InsGetData:                        "GET DATA",
	InsWriteBinary:                    "WRITE BINARY",
	InsWriteRecord:                    "WRITE RECORD",
	InsUpdateBinary:                   "UPDATE BINARY",
	InsPutData:                        "PUT DATA",
	InsUpdateRecord:                   "UPDATE RECORD",
	InsAppendRecord:                   "APPEND RECORD",
}

// String returns the command's name, for example "READ BINARY"; the
// BER-TLV variant of a command (odd INS) is named like its even twin with
// " (odd)"; an instruction this package does not know is "INS xx".
func (i Ins) String() string {
	if n, ok := insNames[i]; ok {
		return n
	}
	if n, ok := insNames[i&^1]; ok && i&1 == 1 {
		return n + " (odd)"
	}
	return fmt.Sprintf("INS %02X", byte(i))
}

// Format prints the name for %s, %v and %q and the byte for every other
// verb, so %02X of an Ins is two hex digits, never the hex of its name.
func (i Ins) Format(f fmt.State, verb rune) {
	switch verb {
	case 's', 'v', 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), i.String())
	default:
		fmt.Fprintf(f, fmt.FormatString(f, verb), byte(i))
	}
}
