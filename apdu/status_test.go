package apdu

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// namedStatusWords lists every named interindustry status word of
// ISO/IEC 7816-4 §5.6, table 6, as declared in status_codes.go.
var namedStatusWords = []StatusWord{
	WarnNoInformation62, WarnTriggeringByCard, WarnDataCorrupted, WarnEndOfFile,
	WarnSelectedFileDeact, WarnFCIFormat, WarnTerminationState, WarnNoInputFromSensor,
	WarnRecordDeactivated, WarnNoInformation63, WarnFileFilledUp,
	ErrExecution, ErrImmediateResponse, ErrTriggeringByCard, ErrMemoryChanged, ErrMemoryFailure,
	ErrSecurityIssue, ErrWrongLength,
	ErrCLAFunctionNotSupported, ErrLogicalChannelNotSupported, ErrSecureMessagingNotSupported,
	ErrLastCommandOfChainExpected, ErrChainingNotSupported,
	ErrCommandNotAllowed, ErrIncompatibleFileStructure, ErrSecurityStatusNotSatisfied,
	ErrAuthMethodBlocked, ErrReferenceDataNotUsable, ErrConditionsOfUseNotSatisfied,
	ErrCommandNotAllowedNoEF, ErrSMDataObjectsMissing, ErrSMDataObjectsIncorrect,
	ErrWrongParametersNoInfo, ErrIncorrectDataField, ErrFunctionNotSupported,
	ErrFileNotFound, ErrRecordNotFound, ErrNotEnoughMemory, ErrNcInconsistentTLV,
	ErrIncorrectP1P2, ErrNcInconsistentP1P2, ErrReferencedDataNotFound,
	ErrFileAlreadyExists, ErrDFNameAlreadyExists,
	ErrWrongP1P2, ErrINSNotSupported, ErrCLANotSupported, ErrNoPreciseDiagnosis,
}

func TestStatusWordBytes(t *testing.T) {
	sw := StatusWord(0x6A82)
	assert.Equal(t, byte(0x6A), sw.SW1())
	assert.Equal(t, byte(0x82), sw.SW2())
	assert.Equal(t, "6A82", sw.String())
	assert.True(t, SWSuccess.OK())
	assert.False(t, sw.OK())
}

func TestNamedStatusWordsAreComparableErrors(t *testing.T) {
	seen := map[StatusWord]bool{}
	for _, sw := range namedStatusWords {
		t.Run(sw.String(), func(t *testing.T) {
			require.False(t, seen[sw], "duplicate constant")
			seen[sw] = true

			err := sw.Err()
			require.Error(t, err)
			assert.ErrorIs(t, err, sw)
			wrapped := fmt.Errorf("reading EF: %w", err)
			assert.ErrorIs(t, wrapped, sw, "through a wrap")

			var got StatusWord
			require.True(t, errors.As(wrapped, &got))
			assert.Equal(t, sw, got)

			assert.NotEqual(t, "", sw.describe(), "every named code has a description")
			assert.True(t, strings.HasPrefix(sw.Error(), "apdu: "+sw.String()+" "), sw.Error())

			// A named status word matches no other named one.
			for _, other := range namedStatusWords {
				if other != sw {
					assert.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

func TestStatusWordErr(t *testing.T) {
	assert.NoError(t, SWSuccess.Err())
	assert.NoError(t, StatusWord(0x9000).Err())
	// Unnamed and proprietary codes are still errors carrying the value.
	for _, sw := range []StatusWord{0x9001, 0x6F12, 0x6A90, 0x0000} {
		err := sw.Err()
		require.Error(t, err)
		assert.Equal(t, sw, err)
		assert.Contains(t, err.Error(), sw.String())
	}
}

func TestStatusWordDescriptions(t *testing.T) {
	tests := []struct {
		sw   StatusWord
		want string
	}{
		{0x9000, "apdu: 9000 normal processing"},
		{0x6110, "apdu: 6110 response bytes still available"},
		{0x6C08, "apdu: 6C08 wrong Le field, exact length in SW2"},
		{0x63C2, "apdu: 63C2 verification failed, counter in SW2"},
		{0x6210, "apdu: 6210 warning: triggering by the card"},
		{0x6480, "apdu: 6480 execution error: triggering by the card"},
		{0x6481, "apdu: status 6481"},
		{0x6A82, "apdu: 6A82 file or application not found"},
		{0x9F10, "apdu: status 9F10"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.sw.Error())
	}
}

// 63Cx carries the remaining tries in x; 6983 (authentication method
// blocked) and 6984 (reference data not usable) mean no tries remain
// (ISO/IEC 7816-4 §5.6, table 6, and the VERIFY command).
func TestTriesError(t *testing.T) {
	tests := []struct {
		sw        StatusWord
		remaining int
		blocked   bool
		msg       string
	}{
		{0x63C0, 0, true, "apdu: 63C0 verification blocked, no try left"},
		{0x63C1, 1, false, "apdu: 63C1 verification failed, 1 try left"},
		{0x63C2, 2, false, "apdu: 63C2 verification failed, 2 tries left"},
		{0x63C5, 5, false, "apdu: 63C5 verification failed, 5 tries left"},
		{0x63CF, 15, false, "apdu: 63CF verification failed, 15 tries left"},
		{0x6983, 0, true, "apdu: 6983 verification blocked, no try left"},
		{0x6984, 0, true, "apdu: 6984 verification blocked, no try left"},
	}
	for _, tc := range tests {
		t.Run(tc.sw.String(), func(t *testing.T) {
			err := fmt.Errorf("verify PIN: %w", tc.sw.Err())

			var te *TriesError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tc.remaining, te.Remaining)
			assert.Equal(t, tc.sw, te.SW)

			assert.ErrorIs(t, err, ErrVerificationFailed)
			assert.ErrorIs(t, err, tc.sw, "the status word itself still matches")
			if tc.blocked {
				assert.ErrorIs(t, err, ErrBlocked)
			} else {
				assert.NotErrorIs(t, err, ErrBlocked)
			}
			// "1 try left", never "1 tries" (issue 11 §3.6).
			assert.Equal(t, tc.msg, te.Error())

			var sw StatusWord
			require.ErrorAs(t, err, &sw)
			assert.Equal(t, tc.sw, sw)
		})
	}
	assert.ErrorIs(t, StatusWord(0x6983).Err(), ErrAuthMethodBlocked)
	assert.ErrorIs(t, StatusWord(0x6984).Err(), ErrReferenceDataNotUsable)
}

func TestNonTriesCodesAreNotVerificationFailures(t *testing.T) {
	for _, sw := range []StatusWord{0x6300, 0x6381, 0x6982, 0x6985, 0x63B1, 0x6A82} {
		err := sw.Err()
		assert.NotErrorIs(t, err, ErrVerificationFailed, sw.String())
		assert.NotErrorIs(t, err, ErrBlocked, sw.String())
		var te *TriesError
		assert.False(t, errors.As(err, &te), sw.String())
	}
}
