package apdu

import (
	"errors"
	"fmt"
)

// StatusWord is SW1 SW2 of a response APDU (ISO/IEC 7816-4 §5.6). It
// implements error so that status words are comparable error values:
//
//	if errors.Is(err, apdu.ErrFileNotFound) { ... }
type StatusWord uint16

// SW1 returns the first status byte.
func (sw StatusWord) SW1() byte { return byte(sw >> 8) }

// SW2 returns the second status byte.
func (sw StatusWord) SW2() byte { return byte(sw) }

// OK reports whether sw is 9000 (normal processing).
func (sw StatusWord) OK() bool { return sw == SWSuccess }

// Error implements error: "apdu: 6A82 file or application not found".
func (sw StatusWord) Error() string {
	if d := sw.describe(); d != "" {
		return fmt.Sprintf("apdu: %04X %s", uint16(sw), d)
	}
	return fmt.Sprintf("apdu: status %04X", uint16(sw))
}

// String returns the four hex digits.
func (sw StatusWord) String() string { return fmt.Sprintf("%04X", uint16(sw)) }

// Err returns nil for 9000, a *TriesError for 63Cx, 6983 and 6984, and sw
// itself otherwise.
func (sw StatusWord) Err() error {
	switch {
	case sw == SWSuccess:
		return nil
	case sw&0xFFF0 == 0x63C0:
		return &TriesError{SW: sw, Remaining: int(sw & 0x000F)}
	case sw == ErrAuthMethodBlocked || sw == ErrReferenceDataNotUsable:
		return &TriesError{SW: sw, Remaining: 0}
	}
	return sw
}

// SWSuccess is 9000, normal processing.
const SWSuccess StatusWord = 0x9000

// ErrVerificationFailed is the sentinel every *TriesError matches with
// errors.Is: a VERIFY or authentication failed or reported its counter.
var ErrVerificationFailed = errors.New("apdu: verification failed")

// ErrBlocked is matched by a *TriesError whose Remaining is zero.
var ErrBlocked = errors.New("apdu: reference data blocked")

// TriesError is a verification status carrying the remaining tries:
// 63Cx (x tries left; ISO/IEC 7816-4 §5.6, table 6) and 6983 / 6984
// (blocked: Remaining is 0).
type TriesError struct {
	SW        StatusWord // 63Cx, 6983 or 6984
	Remaining int        // tries left; 0: blocked
}

// Error implements error.
func (e *TriesError) Error() string {
	switch e.Remaining {
	case 0:
		return fmt.Sprintf("apdu: %04X verification blocked, no try left", uint16(e.SW))
	case 1:
		return fmt.Sprintf("apdu: %04X verification failed, 1 try left", uint16(e.SW))
	}
	return fmt.Sprintf("apdu: %04X verification failed, %d tries left", uint16(e.SW), e.Remaining)
}

// Unwrap returns the status word, so errors.Is(err, apdu.StatusWord(0x63C2))
// and errors.Is(err, apdu.ErrAuthMethodBlocked) work.
func (e *TriesError) Unwrap() error { return e.SW }

// Is matches ErrVerificationFailed always and ErrBlocked when no tries remain.
func (e *TriesError) Is(target error) bool {
	return target == ErrVerificationFailed || (target == ErrBlocked && e.Remaining == 0)
}
