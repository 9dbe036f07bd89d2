package mockcard

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The card behaviour of docs/PROTOCOL.md profile 2.1 where the
// independent host of issue 11 (section 2b) found the mock more lenient
// than the profile. Each test failed against the mock of profile 2.0.

// typeAKeys are explicit card keys 01, 02, 03 of a Type A or D AP.
func typeAKeys() APKeys {
	k := func(ref byte, b byte) KeySpec {
		return KeySpec{Ref: ref, Suite: "AES-128", Enc: mustKey(bytes.Repeat([]byte{b}, 16)), Mac: mustKey(bytes.Repeat([]byte{b + 1}, 16))}
	}
	return APKeys{Keys: []KeySpec{k(KeyRefRead, 0x10), k(KeyRefUpdate, 0x20), k(KeyRefAdmin, 0x30)}}
}

// authTypeA selects the Type A AP and authenticates with key ref.
func authTypeA(t *testing.T, c *Card, ref byte) *secure.Session {
	t.Helper()
	require.Equal(t, "9000", tx(t, c, "00A4040C0B"+hexAID(profile.DefaultAID(profile.TypeA))))
	b := byte(0x10 * ref)
	s, err := secure.MutualAuthenticate(context.Background(), c, secure.Config{Suite: secure.AES128,
		KEnc: bytes.Repeat([]byte{b}, 16), KMac: bytes.Repeat([]byte{b + 1}, 16), KeyRef: ref})
	require.NoError(t, err)
	return s
}

func hexAID(aid profile.AID) string { return strings.ToUpper(hex.EncodeToString(aid)) }

func typeACard(t *testing.T, pw *APPassword, unsealed bool) *Card {
	t.Helper()
	c, err := New(WithTypeA(TypeA{Identity: profile.Identity{UserID: "U1"}, Keys: typeAKeys(), Password: pw, Unsealed: unsealed}))
	require.NoError(t, err)
	return c
}

var readRecord1 = apdu.Command{INS: apdu.InsReadRecord, P1: 1, P2: 0x1C, Ne: 256}

// §6.4: in the default (after-authentication) mode a password sent in
// clear is refused with 6982 and spends no try.
func TestPlainVerifyRefusedByDefault(t *testing.T) {
	c := typeACard(t, &APPassword{Value: profile.Password("1234")}, false)
	tx(t, c, "00A4040C0B"+hexAID(profile.DefaultAID(profile.TypeA)))
	assert.Equal(t, "6982", tx(t, c, "002000810431323334"), "password in clear before authentication")
	assert.Equal(t, "63C3", tx(t, c, "00200081"), "no try spent")
	s := authTypeA(t, c, KeyRefRead)
	_, sw := smDo(t, s, readRecord1)
	assert.Equal(t, apdu.ErrSecurityStatusNotSatisfied, sw, "no verified state from the clear VERIFY")
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsVerify, P2: 0x81, Data: []byte("1234")}))
	_, sw = smDo(t, s, readRecord1)
	assert.Equal(t, apdu.SWSuccess, sw)
}

// §3.3: a successful MUTUAL AUTHENTICATE starts a new security state: a
// password verified under the previous session is verified no more.
func TestVerifiedStateEndsWithMutualAuthentication(t *testing.T) {
	c := typeACard(t, &APPassword{Value: profile.Password("1234")}, false)
	s := authTypeA(t, c, KeyRefRead)
	require.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsVerify, P2: 0x81, Data: []byte("1234")}))
	// Re-authenticate with the same key (plain GET CHALLENGE, MUTUAL
	// AUTHENTICATE), as a second terminal program would.
	s2, err := secure.MutualAuthenticate(context.Background(), c, secure.Config{Suite: secure.AES128,
		KEnc: bytes.Repeat([]byte{0x10}, 16), KMac: bytes.Repeat([]byte{0x11}, 16), KeyRef: KeyRefRead})
	require.NoError(t, err)
	_, sw := smDo(t, s2, readRecord1)
	assert.Equal(t, apdu.ErrSecurityStatusNotSatisfied, sw, "the verified state did not survive the new authentication")
}

// §6.4 before-authentication mode: a clear VERIFY is accepted while no
// session is open, and that verified state carries into the session
// that the next MUTUAL AUTHENTICATE opens.
func TestBeforeAuthPasswordCarriesIntoSession(t *testing.T) {
	c := typeACard(t, &APPassword{Value: profile.Password("1234"), BeforeAuth: true}, false)
	tx(t, c, "00A4040C0B"+hexAID(profile.DefaultAID(profile.TypeA)))
	assert.Equal(t, "9000", tx(t, c, "002000810431323334"))
	b := bytes.Repeat([]byte{0x10}, 16)
	s, err := secure.MutualAuthenticate(context.Background(), c, secure.Config{Suite: secure.AES128, KEnc: b, KMac: bytes.Repeat([]byte{0x11}, 16), KeyRef: KeyRefRead})
	require.NoError(t, err)
	_, sw := smDo(t, s, readRecord1)
	assert.Equal(t, apdu.SWSuccess, sw)
	_, err = New(WithTypeD(TypeD{Keys: typeAKeys(), Password: &APPassword{Value: profile.Password("1234"), BeforeAuth: true}}))
	assert.ErrorIs(t, err, ErrConfig, "before-auth is not a Type D mode")
}

// §8.1: ACTIVATE FILE needs the administrative key also on a sealed AP.
func TestActivateFileOnSealedAPNeedsAdminKey(t *testing.T) {
	c := typeACard(t, nil, false)
	tx(t, c, "00A4040C0B"+hexAID(profile.DefaultAID(profile.TypeA)))
	assert.Equal(t, "6982", tx(t, c, "00440000"), "plain")
	for _, ref := range []byte{KeyRefRead, KeyRefUpdate} {
		s := authTypeA(t, c, ref)
		assert.Equal(t, apdu.ErrSecurityStatusNotSatisfied, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsActivateFile}), "key %02X", ref)
	}
	s := authTypeA(t, c, KeyRefAdmin)
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsActivateFile}))
}

// §1.4: a response longer than 256 bytes to a short APDU comes through
// 61xx and GET RESPONSE, also when the card takes extended length.
func TestLongAnswerToShortAPDUUses61xx(t *testing.T) {
	tr := &Transcript{}
	c := newTestCard(t, WithTranscript(tr))
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	require.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x03}}))
	data, sw := smDo(t, s, apdu.Command{INS: apdu.InsReadBinary, Ne: 256})
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Len(t, data, 256)
	assert.Positive(t, tr.Count(apdu.InsGetResponse), "GET RESPONSE used")
	for _, e := range tr.Exchanges() {
		assert.LessOrEqual(t, len(e.Response), 258, "a short APDU gets at most 256 bytes")
	}
	// An extended APDU gets the whole answer at once.
	data, sw = smDo(t, s, apdu.Command{INS: apdu.InsReadBinary, Ne: 300, Extended: true})
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Len(t, data, 300)
}

// §4.4: one status word for "no session": 6982.
func TestProtectedCommandWithoutSessionIs6982(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	assert.Equal(t, "6982", tx(t, c, "0CB000000D970100"+"8E080000000000000000"+"00"))
}

// §3.1: a correct M_IFD over an S without the card's RND.ICC is 6300
// and spends no try; the challenge is gone.
func TestWrongRNDICCIs6300WithoutTry(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	// The terminal sees another RND.ICC than the card sent: its S is
	// correctly MACed but carries the wrong nonce.
	liar := &apdutest.Interceptor{Next: c, Rewrite: func(e apdutest.Exchange) ([]byte, error) {
		if e.Ins() == apdu.InsGetChallenge && len(e.Response) == 10 {
			r := append([]byte(nil), e.Response...)
			r[0] ^= 0xFF
			return r, e.Err
		}
		return e.Response, e.Err
	}}
	_, err := secure.MutualAuthenticate(context.Background(), liar, secure.Config{Suite: secure.AES128, KEnc: testKey1Enc, KMac: testKey1Mac, KeyRef: 0x01})
	var sw apdu.StatusWord
	require.ErrorAs(t, err, &sw)
	assert.Equal(t, apdu.StatusWord(0x6300), sw)
	n, err := c.KeyTriesLeft(testAID, 0x01)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "no try spent")
	assert.Equal(t, "6985", tx(t, c, "0082000138"+strings.Repeat("00", 56)+"00"), "challenge consumed")
}

// §3.1: key reference 00 is no alias of the first key.
func TestKeyReference00NotFound(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	tx(t, c, "0084000008")
	assert.Equal(t, "6A88", tx(t, c, "0082000038"+strings.Repeat("00", 56)+"00"))
	n, _ := c.KeyTriesLeft(testAID, 0x01)
	assert.Equal(t, 3, n)
}

// §3.1: the order of checks of MUTUAL AUTHENTICATE: a wrong length is
// 6700 and neither spends a try nor consumes the challenge; a blocked key
// is 6983 even without a challenge.
func TestMutualAuthenticateCheckOrder(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	tx(t, c, "0084000008")
	assert.Equal(t, "6700", tx(t, c, "008200010400112233"+"00"))
	assert.Equal(t, "6700", tx(t, c, "0082000138"+strings.Repeat("00", 56)), "no Le")
	n, _ := c.KeyTriesLeft(testAID, 0x01)
	assert.Equal(t, 3, n, "no try spent")
	// The challenge is still outstanding: a cryptogram under a wrong key
	// is counted.
	assert.Equal(t, "63C2", tx(t, c, "0082000138"+strings.Repeat("00", 56)+"00"))
	tx(t, c, "0084000008")
	assert.Equal(t, "63C1", tx(t, c, "0082000238"+strings.Repeat("00", 56)+"00"), "key 02 allows 2 failures")
	tx(t, c, "0084000008")
	assert.Equal(t, "63C0", tx(t, c, "0082000238"+strings.Repeat("00", 56)+"00"))
	tx(t, c, "0084000008")
	assert.Equal(t, "6983", tx(t, c, "0082000238"+strings.Repeat("00", 56)+"00"))
	assert.Equal(t, "6983", tx(t, c, "0082000238"+strings.Repeat("00", 56)+"00"), "blocked, no challenge")
	assert.Equal(t, "6A88", tx(t, c, "0082000938"+strings.Repeat("00", 56)+"00"))
}

// §4.4: a plain GET CHALLENGE during a session is answered and leaves
// the session as it is; a failed MUTUAL AUTHENTICATE then leaves it too
// (§3.3).
func TestPlainGetChallengeKeepsSession(t *testing.T) {
	c := newTestCard(t)
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	r := tx(t, c, "0084000008")
	assert.Equal(t, "9000", sw(r))
	assert.Len(t, r, 20)
	assert.Equal(t, "63C2", tx(t, c, "0082000138"+strings.Repeat("00", 56)+"00"))
	require.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x03}}), "the session survived")
}

// §1.1: a pre-installed AP the mock does not implement is not on the
// card: its SELECT answers 6A82, so a probe never finds an empty AP.
func TestPreinstalledAPsNotImplementedAreAbsent(t *testing.T) {
	c := MustNew(WithPreinstalledAPs(), WithTypeC(profile.Identity{UserID: "U1"}))
	for _, p := range PreinstalledAPs() {
		if p.Implemented() {
			continue
		}
		assert.Equal(t, "6A82", tx(t, c, "00A4040C0A"+hexAID(p.AID)), p.Name)
	}
}

// §1.4: SELECT MF and READ RECORD with Le = 00.
func TestSelectMFAndReadRecordWildcard(t *testing.T) {
	c := newTestCard(t)
	assert.Equal(t, "6F0483023F009000", tx(t, c, "00A4000000"))
	assert.Equal(t, "9000", tx(t, c, "00A4000C023F00"))
	tx(t, c, selTest)
	tx(t, c, "002000810431323334")
	assert.Equal(t, hex.EncodeToString([]byte("r1"))+"9000", strings.ToLower(tx(t, c, "00B2011400")))
	assert.Equal(t, "6C02", tx(t, c, "00B2011401"))
	assert.Equal(t, "72316282", tx(t, c, "00B2011403"))
}

// S4: the FCI of a test card carries A5 { C2 04 "TEST" }; a card built
// WithTestMarker(false) does not.
func TestFCITestCardMarker(t *testing.T) {
	for _, on := range []bool{true, false} {
		c := MustNew(WithTypeC(profile.Identity{UserID: "U1"}), WithTestMarker(on))
		r := tx(t, c, "00A404000B"+hexAID(profile.DefaultAID(profile.TypeC))+"00")
		assert.Equal(t, "9000", sw(r))
		assert.Equal(t, on, strings.Contains(r, "A506C20454455354"), "marker %v: %s", on, r)
		d, err := c.Clone()
		require.NoError(t, err)
		assert.Equal(t, r, tx(t, d, "00A404000B"+hexAID(profile.DefaultAID(profile.TypeC))+"00"), "Clone keeps the setting")
	}
}

// §4.4: 6882 (an SM indication other than 0C) ends the session.
func TestSMIndicationNotSupportedEndsSession(t *testing.T) {
	c := newTestCard(t)
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	assert.Equal(t, "6882", tx(t, c, "08B0000001"))
	_, err := s.Transmit(context.Background(), []byte{0x00, 0xB0, 0x81, 0x00, 0x01})
	require.Error(t, err)
	assert.Equal(t, "6982", tx(t, c, "0CB000000D970101"+"8E080000000000000000"+"00"), "no session any more")
}

// §1.4: a plain SELECT of the MF during a session is processed (it clears
// the security state) like a SELECT by DF name, not refused with 6987.
func TestPlainSelectMFInSession(t *testing.T) {
	c := newTestCard(t)
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	assert.Equal(t, "9000", tx(t, c, "00A4000C"))
	_, err := s.Transmit(context.Background(), []byte{0x00, 0xB0, 0x81, 0x00, 0x01})
	require.Error(t, err, "no session any more")
}
