package reader

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
)

// Sentinel errors. Errors returned by this package match them with
// errors.Is; the PC/SC code, when there is one, is available through
// errors.As with *PCSCError.
var (
	// ErrNoCgo is returned by every constructor when the package was built
	// without cgo (CGO_ENABLED=0, or no C compiler or libpcsclite headers).
	ErrNoCgo error = &sentinel{msg: "built without cgo, which PC/SC needs"}
	// ErrCardReset: another application reset the card; call Reconnect.
	// It also matches apdu.ErrCardReset.
	ErrCardReset error = &sentinel{msg: "card reset", wraps: apdu.ErrCardReset}
	// ErrNoReader: the reader does not exist (any more), or there are no
	// readers at all.
	ErrNoReader error = &sentinel{msg: "no such reader"}
	// ErrNoService: the PC/SC service is not running (start pcscd, for
	// example with its systemd socket).
	ErrNoService error = &sentinel{msg: "PC/SC service not running"}
	// ErrAccessDenied: the PC/SC service refused the call
	// (SCARD_W_SECURITY_VIOLATION): its access control (polkit) does not
	// authorize the process, or pcscd is stopping or restarting. A new
	// Context once the service is back works again.
	ErrAccessDenied error = &sentinel{msg: "PC/SC service refused the call (its access control, or pcscd stopping or restarting)"}
	// ErrSharingViolation: another application holds the card exclusively
	// (or holds a shared connection when exclusive access was requested).
	ErrSharingViolation error = &sentinel{msg: "sharing violation: another application is using the card"}
	// ErrCardUnusable is a card present in the reader that cannot be used:
	// not powered, not answering the reset, or of a kind the reader does
	// not support (SCARD_W_UNPOWERED_CARD, SCARD_W_UNRESPONSIVE_CARD,
	// SCARD_W_UNSUPPORTED_CARD, and SCARD_E_PROTO_MISMATCH when connecting:
	// an ATR that allows no protocol).
	ErrCardUnusable error = &sentinel{msg: "the card does not answer (unpowered, mute or unsupported)"}
	// ErrTimeout: the PC/SC operation timed out.
	ErrTimeout error = &sentinel{msg: "timeout"}
	// ErrClosed: the Context or Card was closed.
	ErrClosed error = &sentinel{msg: "use of closed context or card"}
)

// errCardRemoved is the removal: the card left the reader, or there is no
// card. Callers match it as apdu.ErrCardRemoved, the one canonical removal
// sentinel (and nothing else of package apdu: a removal is never also a
// malformed response); it exists so that the message says "reader:" once.
var errCardRemoved error = &sentinel{msg: "card removed", wraps: apdu.ErrCardRemoved}

// sentinel is a sentinel error of the package. Its message carries the
// package prefix once; errors that embed it (*PCSCError, wrapped) use msg,
// without the prefix, so that no message says "reader:" twice.
type sentinel struct {
	msg   string
	wraps error // an apdu sentinel it also matches, or nil
}

// Error returns "reader: " and the message.
func (s *sentinel) Error() string { return "reader: " + s.msg }

// Unwrap returns the apdu sentinel it also matches, or nil.
func (s *sentinel) Unwrap() error { return s.wraps }

// detail is an error of this package that explains a sentinel with the
// facts of one occurrence: "reader: <what>: <sentinel message>".
type detail struct {
	what string
	err  *sentinel
}

// Error returns "reader: ", what, and the sentinel's message.
func (d *detail) Error() string { return "reader: " + d.what + ": " + d.err.msg }

// Unwrap returns the sentinel.
func (d *detail) Unwrap() error { return d.err }

// withDetail returns an error matching the sentinel s, described by what.
func withDetail(s error, what string) error {
	return &detail{what: what, err: s.(*sentinel)}
}

// noResponse is the error of a Transmit that pcscd reported as successful
// with no response bytes, which it does when the card vanished while it
// waited for the answer. It matches errCardRemoved only: wrapping
// apdu.ErrMalformedResponse as well made callers that test for a
// malformed answer first refuse a valid card pulled mid-read as unreadable
// instead of asking for it again.
func noResponse(readerName string) error {
	return withDetail(errCardRemoved, fmt.Sprintf("%q returned no response bytes", readerName))
}

// MaxCommandLen is the longest command APDU Transmit sends: an extended
// case 4 APDU with 65535 data bytes (ISO/IEC 7816-4 §5.1: 4 header bytes,
// 3 bytes of Lc, the data, 2 bytes of Le).
const MaxCommandLen = 4 + 3 + apdu.MaxExtendedLc + 2

// checkCommandLen refuses a command that no card can take: shorter than the
// header (the binding would index an empty slice) or longer than
// MaxCommandLen.
func checkCommandLen(cmd []byte) error {
	if len(cmd) < 4 || len(cmd) > MaxCommandLen {
		return fmt.Errorf("reader: command of %d bytes, want 4..%d: %w", len(cmd), MaxCommandLen, apdu.ErrInvalidCommand)
	}
	return nil
}

// PC/SC return codes (pcsclite.h, winscard.h) that this package maps or
// names. They are listed here rather than taken from the cgo binding so that
// the mapping builds and is tested without cgo.
const (
	codeCancelled          uint32 = 0x80100002
	codeInvalidHandle      uint32 = 0x80100003
	codeUnknownReader      uint32 = 0x80100009
	codeTimeout            uint32 = 0x8010000A
	codeSharingViolation   uint32 = 0x8010000B
	codeNoSmartcard        uint32 = 0x8010000C
	codeNotTransacted      uint32 = 0x80100016
	codeReaderUnavailable  uint32 = 0x80100017
	codeCommError          uint32 = 0x80100013
	codeNoService          uint32 = 0x8010001D
	codeServiceStopped     uint32 = 0x8010001E
	codeNoReadersAvailable uint32 = 0x8010002E
	codeProtoMismatch      uint32 = 0x8010000F
	codeUnsupportedCard    uint32 = 0x80100065
	codeUnresponsiveCard   uint32 = 0x80100066
	codeUnpoweredCard      uint32 = 0x80100067
	codeResetCard          uint32 = 0x80100068
	codeRemovedCard        uint32 = 0x80100069
	codeSecurityViolation  uint32 = 0x8010006A
)

// CodeName returns the symbolic name of a PC/SC return code, such as
// "SCARD_W_REMOVED_CARD", or "SCARD code 0x..." for codes it does not know.
func CodeName(code uint32) string {
	switch code {
	case 0x80100001:
		return "SCARD_F_INTERNAL_ERROR"
	case codeCancelled:
		return "SCARD_E_CANCELLED"
	case codeInvalidHandle:
		return "SCARD_E_INVALID_HANDLE"
	case 0x80100004:
		return "SCARD_E_INVALID_PARAMETER"
	case 0x80100005:
		return "SCARD_E_INVALID_TARGET"
	case 0x80100006:
		return "SCARD_E_NO_MEMORY"
	case 0x80100007:
		return "SCARD_F_WAITED_TOO_LONG"
	case 0x80100008:
		return "SCARD_E_INSUFFICIENT_BUFFER"
	case codeUnknownReader:
		return "SCARD_E_UNKNOWN_READER"
	case codeTimeout:
		return "SCARD_E_TIMEOUT"
	case codeSharingViolation:
		return "SCARD_E_SHARING_VIOLATION"
	case codeNoSmartcard:
		return "SCARD_E_NO_SMARTCARD"
	case 0x8010000D:
		return "SCARD_E_UNKNOWN_CARD"
	case 0x8010000E:
		return "SCARD_E_CANT_DISPOSE"
	case codeProtoMismatch:
		return "SCARD_E_PROTO_MISMATCH"
	case 0x80100010:
		return "SCARD_E_NOT_READY"
	case 0x80100011:
		return "SCARD_E_INVALID_VALUE"
	case 0x80100012:
		return "SCARD_E_SYSTEM_CANCELLED"
	case 0x80100013:
		return "SCARD_F_COMM_ERROR"
	case 0x80100014:
		return "SCARD_F_UNKNOWN_ERROR"
	case 0x80100015:
		return "SCARD_E_INVALID_ATR"
	case codeNotTransacted:
		return "SCARD_E_NOT_TRANSACTED"
	case codeReaderUnavailable:
		return "SCARD_E_READER_UNAVAILABLE"
	case 0x80100018:
		return "SCARD_P_SHUTDOWN"
	case 0x80100019:
		return "SCARD_E_PCI_TOO_SMALL"
	case 0x8010001A:
		return "SCARD_E_READER_UNSUPPORTED"
	case 0x8010001B:
		return "SCARD_E_DUPLICATE_READER"
	case 0x8010001C:
		return "SCARD_E_CARD_UNSUPPORTED"
	case codeNoService:
		return "SCARD_E_NO_SERVICE"
	case codeServiceStopped:
		return "SCARD_E_SERVICE_STOPPED"
	case 0x8010001F:
		return "SCARD_E_UNSUPPORTED_FEATURE"
	case codeNoReadersAvailable:
		return "SCARD_E_NO_READERS_AVAILABLE"
	case 0x8010002F:
		return "SCARD_E_COMM_DATA_LOST"
	case 0x80100031:
		return "SCARD_E_SERVER_TOO_BUSY"
	case codeUnsupportedCard:
		return "SCARD_W_UNSUPPORTED_CARD"
	case codeUnresponsiveCard:
		return "SCARD_W_UNRESPONSIVE_CARD"
	case codeUnpoweredCard:
		return "SCARD_W_UNPOWERED_CARD"
	case codeResetCard:
		return "SCARD_W_RESET_CARD"
	case codeRemovedCard:
		return "SCARD_W_REMOVED_CARD"
	case codeSecurityViolation:
		return "SCARD_W_SECURITY_VIOLATION"
	}
	return fmt.Sprintf("SCARD code 0x%08X", code)
}

// PCSCError is a failed PC/SC call. Unwrap returns the sentinel the code
// maps to (apdu.ErrCardRemoved, ErrNoService, ...), or nil for unmapped codes.
type PCSCError struct {
	Op     string // the PC/SC function, e.g. "SCardTransmit"
	Reader string // the reader name, when the call concerns one reader
	Code   uint32 // the PC/SC return code
}

// Error describes the call, the reader and the code, followed by the
// sentinel's explanation for mapped codes.
func (e *PCSCError) Error() string {
	s := "reader: " + e.Op
	if e.Reader != "" {
		s += " " + fmt.Sprintf("%q", e.Reader)
	}
	s += ": " + CodeName(e.Code) + fmt.Sprintf(" (0x%08X)", e.Code)
	if sent, ok := sentinelFor(e.Op, e.Code).(*sentinel); ok {
		s += ": " + sent.msg
	}
	return s
}

// Unwrap returns the sentinel for the code, or nil.
func (e *PCSCError) Unwrap() error { return sentinelFor(e.Op, e.Code) }

// sentinelFor maps a PC/SC code to a sentinel.
//
// SCARD_E_NOT_TRANSACTED is what pcsc-lite returns from SCardTransmit when
// the card has just been removed but the reader has not been polled yet, so
// it counts as a removal for the calls that exchange data with the card.
func sentinelFor(op string, code uint32) error {
	switch code {
	case codeRemovedCard, codeNoSmartcard:
		return errCardRemoved
	case codeNotTransacted:
		switch op {
		case opTransmit, opBeginTransaction, opEndTransaction, opStatus:
			return errCardRemoved
		}
		return nil
	case codeResetCard:
		return ErrCardReset
	case codeUnknownReader, codeNoReadersAvailable, codeReaderUnavailable:
		return ErrNoReader
	case codeNoService, codeServiceStopped, codeCommError:
		// SCARD_F_COMM_ERROR: the connection to pcscd broke (it stopped or
		// restarted); a new context is needed once it is back.
		return ErrNoService
	case codeSharingViolation:
		return ErrSharingViolation
	case codeSecurityViolation:
		// polkit refusing the process, and pcsc-lite during an outage:
		// seen from SCardEstablishContext, SCardGetStatusChange and
		// SCardReleaseContext while pcscd stopped or restarted.
		return ErrAccessDenied
	case codeUnpoweredCard, codeUnresponsiveCard, codeUnsupportedCard:
		return ErrCardUnusable
	case codeProtoMismatch:
		// At connection: pcscd found no protocol the card's ATR allows (an
		// unreadable or non-ISO 7816 ATR).
		switch op {
		case opConnect, opReconnect:
			return ErrCardUnusable
		}
		return nil
	case codeTimeout:
		return ErrTimeout
	}
	return nil
}

// PC/SC function names used in errors.
const (
	opEstablishContext = "SCardEstablishContext"
	opListReaders      = "SCardListReaders"
	opGetStatusChange  = "SCardGetStatusChange"
	opConnect          = "SCardConnect"
	opReconnect        = "SCardReconnect"
	opDisconnect       = "SCardDisconnect"
	opTransmit         = "SCardTransmit"
	opBeginTransaction = "SCardBeginTransaction"
	opEndTransaction   = "SCardEndTransaction"
	opStatus           = "SCardStatus"
	opReleaseContext   = "SCardReleaseContext"
)

// newError wraps a PC/SC return code, or returns nil for SCARD_S_SUCCESS.
func newError(op, readerName string, code uint32) error {
	if code == 0 {
		return nil
	}
	return &PCSCError{Op: op, Reader: readerName, Code: code}
}

// Remedy returns what an operator can do about err, or "" when this package
// knows nothing to advise: error strings carry facts, a command-line tool
// prints the remedy beside them.
func Remedy(err error) string {
	switch {
	case errors.Is(err, ErrNoService):
		return "start pcscd (for example `systemctl start pcscd.socket`, or `pcscd` as root)"
	case errors.Is(err, ErrCardUnusable):
		return "take the card out and insert it again"
	case errors.Is(err, ErrNoCgo):
		return "build with CGO_ENABLED=1, a C compiler and libpcsclite-dev"
	case errors.Is(err, ErrAccessDenied):
		return "check pcscd's access control (polkit), or retry once pcscd is back"
	}
	return ""
}
