package cardap

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// TestMapAuthAPErrorReasons feeds mapAuthAPError (and then refusal, as
// Identify does) each error typea, typed, secure and the transport return,
// wrapped the way they wrap it, and checks the Reason. The key/password
// cases are the ones easy to confuse: a status of 63Cx or 6983 means a
// password's tries after VERIFY, but a key's after MUTUAL AUTHENTICATE or
// GET CHALLENGE.
func TestMapAuthAPErrorReasons(t *testing.T) {
	tries := func(sw apdu.StatusWord) error { return sw.Err() }
	wrapAuth := func(sw apdu.StatusWord) error {
		return fmt.Errorf("typea: mutual authentication: %w", fmt.Errorf("%w: %w", secure.ErrTerminalRejected, tries(sw)))
	}
	tests := []struct {
		name string
		err  error
		want Reason
		only string // "a" or "d": an error of that AP's package only
	}{
		{"AP not on the card", fmt.Errorf("typea: select: %w", profile.ErrNotPresent), ReasonUnknownCard, ""},
		{"record 1 empty", profile.ErrNotPersonalized, ReasonNotPersonalized, ""},
		{"record format", fmt.Errorf("typea: record 2: %w", typea.ErrRecordFormat), ReasonMalformed, "a"},
		{"type D envelope", fmt.Errorf("typed: slot 1: %w", profile.ErrMalformed), ReasonMalformed, "d"},
		{"type D data copied or tampered", typed.ErrAuthentication, ReasonMalformed, ""},
		{"one try left, not allowed", typea.ErrLastTry, ReasonPasswordBlocked, ""},
		{"card swapped", apsession.ErrCardSwapped, ReasonCardRemoved, ""},
		{"card removed mid-read", fmt.Errorf("secure: %w", apdu.ErrCardRemoved), ReasonCardRemoved, ""},
		{"card reset", apdu.ErrCardReset, ReasonCardRemoved, ""},
		{"password needed, none given", typea.ErrPasswordRequired, ReasonPasswordRequired, ""},
		{"password too long", apsession.ErrPasswordFormat, ReasonPasswordRequired, ""},
		{"wrong password, 2 left", &profile.PasswordError{Remaining: 2, Err: &apdu.TriesError{SW: 0x63C2, Remaining: 2}}, ReasonPasswordWrong, ""},
		{"password blocked (6983 to VERIFY)", &profile.PasswordError{Blocked: true, Err: &apdu.TriesError{SW: 0x6983}}, ReasonPasswordBlocked, ""},
		{"type D VERIFY 63C1", fmt.Errorf("typed: verify: %w", tries(0x63C1)), ReasonPasswordWrong, ""},
		{"type D VERIFY 6983", fmt.Errorf("typed: verify: %w", tries(0x6983)), ReasonPasswordBlocked, ""},
		{"key blocked (6983 to MUTUAL AUTHENTICATE)", wrapAuth(0x6983), ReasonAuthFailed, ""},
		{"key blocked (6984 to MUTUAL AUTHENTICATE)", wrapAuth(0x6984), ReasonAuthFailed, ""},
		{"wrong operator key (63C2 to MUTUAL AUTHENTICATE)", wrapAuth(0x63C2), ReasonAuthFailed, ""},
		{"wrong operator key (6300)", wrapAuth(0x6300), ReasonAuthFailed, ""},
		{"other suite configured (6700 to MUTUAL AUTHENTICATE)", wrapAuth(0x6700), ReasonAuthFailed, ""},
		{"card's answer of the wrong length", fmt.Errorf("%w: MUTUAL AUTHENTICATE: %w", secure.ErrCardCryptogram, apdu.ErrMalformedResponse), ReasonAuthFailed, ""},
		{"key blocked (6983 to GET CHALLENGE)", fmt.Errorf("%w: %w", secure.ErrChallenge, tries(0x6983)), ReasonAuthFailed, ""},
		{"card cryptogram", secure.ErrCardCryptogram, ReasonAuthFailed, ""},
		{"nonce mismatch", secure.ErrNonceMismatch, ReasonAuthFailed, ""},
		{"SM response MAC", fmt.Errorf("%w: %w", secure.ErrSessionClosed, secure.ErrResponseMAC), ReasonAuthFailed, ""},
		{"SM plain answer", secure.ErrResponseUnprotected, ReasonAuthFailed, ""},
		{"SM status mismatch", secure.ErrStatusMismatch, ReasonAuthFailed, ""},
		{"SM rejected by card", fmt.Errorf("%w: %w", secure.ErrCardRejectedSM, apdu.StatusWord(0x6988)), ReasonAuthFailed, ""},
		{"SM malformed", secure.ErrResponseMalformed, ReasonAuthFailed, ""},
		{"SM session closed after removal", fmt.Errorf("%w: %w", secure.ErrSessionClosed, apdu.ErrCardRemoved), ReasonCardRemoved, ""},
		{"other card status", apdu.StatusWord(0x6F00), ReasonCardError, ""},
		{"unknown data key version", &typed.KeyVersionError{KeyID: "d", Version: 9, Err: errors.New("no such version")}, ReasonCardError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mapped := map[string]error{
				"a": mapAuthAPError(tt.err, profile.ErrNotPresent, profile.ErrNotPersonalized, typea.ErrRecordFormat, typea.ErrLastTry, typea.ErrCardSwapped),
				"d": mapAuthAPError(tt.err, profile.ErrNotPresent, nil, profile.ErrMalformed, typed.ErrLastTry, typed.ErrCardSwapped),
			}
			for ap, mapped := range mapped {
				if tt.only != "" && ap != tt.only {
					continue
				}
				if tt.want == ReasonNotPersonalized && !errors.Is(mapped, profile.ErrNotPersonalized) {
					continue // typed reports "no data" before mapAuthAPError
				}
				got := ReasonOf(refusal(mapped, nil))
				assert.Equal(t, tt.want, got, "%v", mapped)
				assert.ErrorIs(t, mapped, tt.err, "the cause stays reachable")
			}
		})
	}
}
