package reader

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mynacard/freespace/apdu"
)

// The codes are those of pcsc-lite's pcsclite.h (identical to WinSCard).
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name string
		op   string
		code uint32
		want []error // sentinels the error must match
		not  []error // sentinels it must not match
	}{
		{"removed card", opTransmit, 0x80100069, []error{errCardRemoved, apdu.ErrCardRemoved}, []error{ErrCardReset}},
		{"no smartcard at connect", opConnect, 0x8010000C, []error{errCardRemoved, apdu.ErrCardRemoved}, nil},
		{"not transacted right after removal", opTransmit, 0x80100016, []error{errCardRemoved, apdu.ErrCardRemoved}, nil},
		{"not transacted at begin transaction", opBeginTransaction, 0x80100016, []error{errCardRemoved}, nil},
		{"not transacted elsewhere is unmapped", opConnect, 0x80100016, nil, []error{errCardRemoved}},
		{"reset card", opTransmit, 0x80100068, []error{ErrCardReset, apdu.ErrCardReset}, []error{errCardRemoved}},
		{"unknown reader", opConnect, 0x80100009, []error{ErrNoReader}, nil},
		{"no readers", opListReaders, 0x8010002E, []error{ErrNoReader}, nil},
		{"reader unavailable", opTransmit, 0x80100017, []error{ErrNoReader}, nil},
		{"no service", opEstablishContext, 0x8010001D, []error{ErrNoService}, nil},
		{"service stopped", opTransmit, 0x8010001E, []error{ErrNoService}, nil},
		{"sharing violation", opConnect, 0x8010000B, []error{ErrSharingViolation}, nil},
		{"timeout", opGetStatusChange, 0x8010000A, []error{ErrTimeout}, nil},
		{"unpowered card", opConnect, 0x80100067, []error{ErrCardUnusable}, []error{errCardRemoved, ErrNoReader}},
		{"mute card", opConnect, 0x80100066, []error{ErrCardUnusable}, []error{errCardRemoved, ErrNoReader}},
		{"unsupported card", opConnect, 0x80100065, []error{ErrCardUnusable}, []error{errCardRemoved, ErrNoReader}},
		{"unreadable ATR at connect", opConnect, 0x8010000F, []error{ErrCardUnusable}, nil},
		{"protocol mismatch elsewhere is unmapped", opTransmit, 0x8010000F, nil, []error{ErrCardUnusable}},
		{"comm error: pcscd went away", opListReaders, 0x80100013, []error{ErrNoService}, []error{errCardRemoved}},
	}
	all := []error{errCardRemoved, ErrCardReset, ErrNoReader, ErrNoService, ErrSharingViolation, ErrTimeout, ErrCardUnusable}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newError(tt.op, "Some Reader 00 00", tt.code)
			var pe *PCSCError
			if assert.ErrorAs(t, err, &pe) {
				assert.Equal(t, tt.code, pe.Code)
				assert.Equal(t, tt.op, pe.Op)
			}
			for _, w := range tt.want {
				assert.ErrorIs(t, err, w)
			}
			for _, n := range tt.not {
				assert.NotErrorIs(t, err, n)
			}
			if len(tt.want) == 0 {
				for _, s := range all {
					assert.NotErrorIs(t, err, s)
				}
			}
			assert.Contains(t, err.Error(), CodeName(tt.code))
			assert.Contains(t, err.Error(), "Some Reader 00 00")
		})
	}
}

func TestNoErrorForSuccess(t *testing.T) {
	assert.NoError(t, newError(opTransmit, "", 0))
}

// TestNoServiceFactsAndRemedy: the error says what happened; the remedy
// (start pcscd) comes from Remedy, for the CLI to print beside it.
func TestNoServiceFactsAndRemedy(t *testing.T) {
	err := newError(opEstablishContext, "", 0x8010001D)
	assert.NotContains(t, err.Error(), "start pcscd")
	assert.Contains(t, err.Error(), "SCARD_E_NO_SERVICE")
	assert.Contains(t, Remedy(err), "start pcscd")
}

// TestRemedy: a remedy for the conditions an operator can fix, none for
// the others, and no remedy inside any sentinel's text.
func TestRemedy(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{ErrNoService, "start pcscd"},
		{newError(opConnect, "r", codeUnpoweredCard), "insert it again"},
		{ErrNoCgo, "CGO_ENABLED=1"},
		{ErrAccessDenied, "polkit"},
		{errCardRemoved, ""},
		{ErrTimeout, ""},
		{nil, ""},
	}
	for _, tc := range tests {
		if tc.want == "" {
			assert.Empty(t, Remedy(tc.err), "%v", tc.err)
		} else {
			assert.Contains(t, Remedy(tc.err), tc.want, "%v", tc.err)
		}
	}
	for _, s := range []error{ErrNoService, ErrCardUnusable, ErrNoCgo, ErrAccessDenied} {
		assert.NotContains(t, s.Error(), "systemctl")
		assert.NotContains(t, s.Error(), "insert it again")
		assert.NotContains(t, s.Error(), "CGO_ENABLED")
	}
}

func TestCodeName(t *testing.T) {
	assert.Equal(t, "SCARD_W_REMOVED_CARD", CodeName(0x80100069))
	assert.Equal(t, "SCARD code 0x80100FFF", CodeName(0x80100FFF))
}

func TestStateString(t *testing.T) {
	assert.Equal(t, "unaware", State(0).String())
	assert.Equal(t, "present|inuse", (StatePresent | StateInUse).String())
	s := ReaderState{State: StatePresent | StateChanged}
	assert.True(t, s.Present())
	assert.False(t, s.Empty())
	assert.False(t, s.Gone())
	assert.True(t, ReaderState{State: StateUnknown}.Gone())
}

func TestNoCgoMessage(t *testing.T) {
	assert.True(t, strings.Contains(ErrNoCgo.Error(), "without cgo"))
	for _, w := range []string{"CGO_ENABLED=1", "libpcsclite-dev"} {
		assert.True(t, strings.Contains(Remedy(ErrNoCgo), w), w)
	}
	assert.False(t, errors.Is(ErrNoCgo, ErrNoService))
}

// Transmit refuses, before any PC/SC call, a command that is no APDU: an
// empty one would make the binding index an empty slice (a panic).
func TestCheckCommandLen(t *testing.T) {
	for _, n := range []int{0, 1, 3, MaxCommandLen + 1} {
		assert.ErrorIs(t, checkCommandLen(make([]byte, n)), apdu.ErrInvalidCommand, "%d bytes", n)
	}
	assert.ErrorIs(t, checkCommandLen(nil), apdu.ErrInvalidCommand)
	for _, n := range []int{4, 5, MaxCommandLen} {
		assert.NoError(t, checkCommandLen(make([]byte, n)), "%d bytes", n)
	}
}

// A card that vanished while pcscd waited for its answer (no response
// bytes) is a removal and nothing else: before, the error also matched
// apdu.ErrMalformedResponse, and the Type C read classified a valid card
// pulled mid-read as malformed.
func TestNoResponseIsOnlyARemoval(t *testing.T) {
	err := noResponse("Some Reader 00 00")
	assert.ErrorIs(t, err, errCardRemoved)
	assert.ErrorIs(t, err, apdu.ErrCardRemoved)
	assert.NotErrorIs(t, err, apdu.ErrMalformedResponse)
	assert.Equal(t, 1, strings.Count(err.Error(), "reader:"), err.Error())
	assert.Contains(t, err.Error(), "Some Reader 00 00")
}

// Every error of the package says "reader:" once, and on one line.
func TestPrefixOnce(t *testing.T) {
	codes := []uint32{codeRemovedCard, codeNoSmartcard, codeNotTransacted, codeResetCard, codeUnknownReader,
		codeNoService, codeServiceStopped, codeCommError, codeSharingViolation, codeUnpoweredCard,
		codeProtoMismatch, codeTimeout, codeSecurityViolation, 0x80100FFF}
	for _, code := range codes {
		for _, op := range []string{opTransmit, opConnect, opEstablishContext} {
			msg := newError(op, "Some Reader 00 00", code).Error()
			assert.Equal(t, 1, strings.Count(msg, "reader:"), msg)
			assert.NotContains(t, msg, "apdu:", msg)
			assert.NotContains(t, msg, "\n", msg)
		}
	}
	for _, s := range []error{errCardRemoved, ErrCardReset, ErrNoReader, ErrNoService, ErrAccessDenied, ErrSharingViolation, ErrCardUnusable, ErrTimeout, ErrClosed, ErrNoCgo} {
		assert.Equal(t, 1, strings.Count(s.Error(), "reader:"), s.Error())
	}
	assert.Equal(t, "reader: card removed", errCardRemoved.Error())
	assert.Equal(t, `reader: SCardTransmit "R": SCARD_W_REMOVED_CARD (0x80100069): card removed`, newError(opTransmit, "R", codeRemovedCard).Error())
}

// SCARD_W_SECURITY_VIOLATION, seen during a pcscd outage, maps to a
// sentinel whose message says what pcscd refused, and to no other.
func TestSecurityViolationIsAccessDenied(t *testing.T) {
	for _, op := range []string{opEstablishContext, opGetStatusChange, opConnect, opTransmit} {
		err := newError(op, "", codeSecurityViolation)
		assert.ErrorIs(t, err, ErrAccessDenied)
		for _, s := range []error{errCardRemoved, ErrNoService, ErrNoReader, ErrCardUnusable} {
			assert.NotErrorIs(t, err, s)
		}
		assert.Contains(t, err.Error(), "SCARD_W_SECURITY_VIOLATION")
		assert.Contains(t, err.Error(), "refused")
	}
}
