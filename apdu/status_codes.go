package apdu

// Interindustry status words of ISO/IEC 7816-4 §5.6, table 6. Each is a
// comparable error value. 61xx, 63Cx and 6Cxx carry a count in SW2 and are
// matched by SW1 (see StatusWord.Err and Channel).
const (
	// 62xx: warning, state of non-volatile memory unchanged.
	WarnNoInformation62   StatusWord = 0x6200
	WarnTriggeringByCard  StatusWord = 0x6202 // 6202-6280: triggering by the card
	WarnDataCorrupted     StatusWord = 0x6281
	WarnEndOfFile         StatusWord = 0x6282
	WarnSelectedFileDeact StatusWord = 0x6283
	WarnFCIFormat         StatusWord = 0x6284
	WarnTerminationState  StatusWord = 0x6285
	WarnNoInputFromSensor StatusWord = 0x6286
	WarnRecordDeactivated StatusWord = 0x6287
	// 63xx: warning, state of non-volatile memory changed.
	WarnNoInformation63 StatusWord = 0x6300
	WarnFileFilledUp    StatusWord = 0x6381
	// 64xx: execution error, state of non-volatile memory unchanged.
	ErrExecution         StatusWord = 0x6400
	ErrImmediateResponse StatusWord = 0x6401
	ErrTriggeringByCard  StatusWord = 0x6402 // 6402-6480: triggering by the card
	// 65xx: execution error, state of non-volatile memory changed.
	ErrMemoryChanged StatusWord = 0x6500
	ErrMemoryFailure StatusWord = 0x6581
	// 66xx: security-related issues.
	ErrSecurityIssue StatusWord = 0x6600
	// 67xx: wrong length.
	ErrWrongLength StatusWord = 0x6700
	// 68xx: functions in CLA not supported.
	ErrCLAFunctionNotSupported     StatusWord = 0x6800
	ErrLogicalChannelNotSupported  StatusWord = 0x6881
	ErrSecureMessagingNotSupported StatusWord = 0x6882
	ErrLastCommandOfChainExpected  StatusWord = 0x6883
	ErrChainingNotSupported        StatusWord = 0x6884
	// 69xx: command not allowed.
	ErrCommandNotAllowed           StatusWord = 0x6900
	ErrIncompatibleFileStructure   StatusWord = 0x6981
	ErrSecurityStatusNotSatisfied  StatusWord = 0x6982
	ErrAuthMethodBlocked           StatusWord = 0x6983
	ErrReferenceDataNotUsable      StatusWord = 0x6984
	ErrConditionsOfUseNotSatisfied StatusWord = 0x6985
	ErrCommandNotAllowedNoEF       StatusWord = 0x6986
	ErrSMDataObjectsMissing        StatusWord = 0x6987
	ErrSMDataObjectsIncorrect      StatusWord = 0x6988
	// 6Axx: wrong parameters P1-P2.
	ErrWrongParametersNoInfo  StatusWord = 0x6A00
	ErrIncorrectDataField     StatusWord = 0x6A80
	ErrFunctionNotSupported   StatusWord = 0x6A81
	ErrFileNotFound           StatusWord = 0x6A82
	ErrRecordNotFound         StatusWord = 0x6A83
	ErrNotEnoughMemory        StatusWord = 0x6A84
	ErrNcInconsistentTLV      StatusWord = 0x6A85
	ErrIncorrectP1P2          StatusWord = 0x6A86
	ErrNcInconsistentP1P2     StatusWord = 0x6A87
	ErrReferencedDataNotFound StatusWord = 0x6A88
	ErrFileAlreadyExists      StatusWord = 0x6A89
	ErrDFNameAlreadyExists    StatusWord = 0x6A8A
	// 6B00: wrong parameters P1-P2 (offset outside the EF).
	ErrWrongP1P2 StatusWord = 0x6B00
	// 6D00: instruction code not supported or invalid.
	ErrINSNotSupported StatusWord = 0x6D00
	// 6E00: class not supported.
	ErrCLANotSupported StatusWord = 0x6E00
	// 6F00: no precise diagnosis.
	ErrNoPreciseDiagnosis StatusWord = 0x6F00
)

// describe returns the ISO/IEC 7816-4 meaning of sw, or "".
func (sw StatusWord) describe() string {
	switch sw1 := sw.SW1(); {
	case sw1 == 0x61:
		return "response bytes still available"
	case sw1 == 0x6C:
		return "wrong Le field, exact length in SW2"
	case sw&0xFFF0 == 0x63C0:
		return "verification failed, counter in SW2"
	case sw == SWSuccess:
		return "normal processing"
	}
	switch sw {
	case WarnNoInformation62:
		return "warning: no information given, memory unchanged"
	case WarnDataCorrupted:
		return "warning: part of returned data may be corrupted"
	case WarnEndOfFile:
		return "warning: end of file or record reached before reading Ne bytes"
	case WarnSelectedFileDeact:
		return "warning: selected file deactivated"
	case WarnFCIFormat:
		return "warning: file control information not formatted per 7816-4"
	case WarnTerminationState:
		return "warning: selected file in termination state"
	case WarnNoInputFromSensor:
		return "warning: no input data available from a sensor"
	case WarnRecordDeactivated:
		return "warning: at least one referenced record deactivated"
	case WarnNoInformation63:
		return "warning: no information given, memory changed"
	case WarnFileFilledUp:
		return "warning: file filled up by the last write"
	case ErrExecution:
		return "execution error, memory unchanged"
	case ErrImmediateResponse:
		return "immediate response required by the card"
	case ErrMemoryChanged:
		return "execution error, memory changed"
	case ErrMemoryFailure:
		return "memory failure"
	case ErrSecurityIssue:
		return "security-related issue"
	case ErrWrongLength:
		return "wrong length"
	case ErrCLAFunctionNotSupported:
		return "functions in CLA not supported"
	case ErrLogicalChannelNotSupported:
		return "logical channel not supported"
	case ErrSecureMessagingNotSupported:
		return "secure messaging not supported"
	case ErrLastCommandOfChainExpected:
		return "last command of the chain expected"
	case ErrChainingNotSupported:
		return "command chaining not supported"
	case ErrCommandNotAllowed:
		return "command not allowed"
	case ErrIncompatibleFileStructure:
		return "command incompatible with file structure"
	case ErrSecurityStatusNotSatisfied:
		return "security status not satisfied"
	case ErrAuthMethodBlocked:
		return "authentication method blocked"
	case ErrReferenceDataNotUsable:
		return "reference data not usable"
	case ErrConditionsOfUseNotSatisfied:
		return "conditions of use not satisfied"
	case ErrCommandNotAllowedNoEF:
		return "command not allowed (no current EF)"
	case ErrSMDataObjectsMissing:
		return "expected secure messaging data objects missing"
	case ErrSMDataObjectsIncorrect:
		return "incorrect secure messaging data objects"
	case ErrWrongParametersNoInfo:
		return "wrong parameters P1-P2"
	case ErrIncorrectDataField:
		return "incorrect parameters in the command data field"
	case ErrFunctionNotSupported:
		return "function not supported"
	case ErrFileNotFound:
		return "file or application not found"
	case ErrRecordNotFound:
		return "record not found"
	case ErrNotEnoughMemory:
		return "not enough memory space in the file"
	case ErrNcInconsistentTLV:
		return "Nc inconsistent with TLV structure"
	case ErrIncorrectP1P2:
		return "incorrect parameters P1-P2"
	case ErrNcInconsistentP1P2:
		return "Nc inconsistent with parameters P1-P2"
	case ErrReferencedDataNotFound:
		return "referenced data or reference data not found"
	case ErrFileAlreadyExists:
		return "file already exists"
	case ErrDFNameAlreadyExists:
		return "DF name already exists"
	case ErrWrongP1P2:
		return "wrong parameters P1-P2 (offset outside the EF)"
	case ErrINSNotSupported:
		return "instruction code not supported or invalid"
	case ErrCLANotSupported:
		return "class not supported"
	case ErrNoPreciseDiagnosis:
		return "no precise diagnosis"
	}
	if sw.SW1() == 0x62 && sw.SW2() >= 0x02 && sw.SW2() <= 0x80 {
		return "warning: triggering by the card"
	}
	if sw.SW1() == 0x64 && sw.SW2() >= 0x02 && sw.SW2() <= 0x80 {
		return "execution error: triggering by the card"
	}
	return ""
}
