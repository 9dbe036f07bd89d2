package mockcard

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/secure"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// authenticate selects the test AP and runs the host side of mutual
// authentication (package secure) against the card.
func authenticate(t testing.TB, c *Card, ref byte, enc, mac []byte) *secure.Session {
	t.Helper()
	require.Equal(t, "9000", tx(t, c, selTest))
	s, err := secure.MutualAuthenticate(context.Background(), c, secure.Config{Suite: secure.AES128, KEnc: enc, KMac: mac, KeyRef: ref})
	require.NoError(t, err)
	return s
}

// smSW sends cmd through the session and returns its status word.
func smSW(t testing.TB, s *secure.Session, ctx context.Context, cmd apdu.Command) apdu.StatusWord {
	t.Helper()
	raw, err := cmd.Bytes()
	require.NoError(t, err)
	resp, err := s.Transmit(ctx, raw)
	require.NoError(t, err)
	r, err := apdu.ParseResponse(resp)
	require.NoError(t, err)
	return r.SW
}

func smDo(t testing.TB, s *secure.Session, cmd apdu.Command) ([]byte, apdu.StatusWord) {
	t.Helper()
	raw, err := cmd.Bytes()
	require.NoError(t, err)
	resp, err := s.Transmit(context.Background(), raw)
	require.NoError(t, err)
	r, err := apdu.ParseResponse(resp)
	require.NoError(t, err)
	return append([]byte(nil), r.Data...), r.SW
}

func TestMutualAuthenticationAndSecureMessaging(t *testing.T) {
	c := newTestCard(t)
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)

	// EF 0103 needs key 01 and SM: readable now, 300 bytes in two reads.
	require.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x03}}))
	data, sw := smDo(t, s, apdu.Command{INS: apdu.InsReadBinary, Ne: 200})
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Len(t, data, 200)
	data, sw = smDo(t, s, apdu.Command{INS: apdu.InsReadBinary, P1: 0x00, P2: 200, Ne: 256})
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Len(t, data, 100)
	assert.Equal(t, byte(200), data[0])

	// VERIFY under SM, then UPDATE RECORD (key 01 + SM).
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsVerify, P2: 0x81, Data: []byte("1234")}))
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsUpdateRecord, P1: 1, P2: 0x14, Data: []byte("new")}))
	recs, err := c.ReadRecords(testAID, 0x0102)
	require.NoError(t, err)
	assert.Equal(t, []byte("new"), recs[0])

	// A plain command ends the session: 6987, then the EF is closed again.
	assert.Equal(t, "6987", tx(t, c, "00B0000001"))
	_, err = s.Transmit(context.Background(), []byte{0x00, 0xB0, 0x00, 0x00, 0x01})
	require.Error(t, err, "the card dropped the session; the host's MACs fail now")
	tx(t, c, selTest)
	tx(t, c, "00A4020C020103")
	assert.Equal(t, "6982", tx(t, c, "00B0000001"))
}

func TestSMTamperedCommandEndsSession(t *testing.T) {
	c := newTestCard(t)
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	require.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x01}}))
	// A protected READ BINARY (DO97 Le, DO8E) whose MAC is wrong.
	bad := []byte{0x0C, 0xB0, 0x00, 0x00, 0x0D, 0x97, 0x01, 0x05, 0x8E, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00}
	assert.Equal(t, "6988", tx(t, c, encodeHex(bad)))
	assert.Equal(t, "6982", tx(t, c, encodeHex(bad)), "no session any more")
	// A protected command without DO8E.
	authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	assert.Equal(t, "6987", tx(t, c, "0CB000000397010500"))
}

func encodeHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}

func TestMutualAuthenticationFailuresBlockKey(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	wrong := bytes.Repeat([]byte{0x55}, 16)
	// Key 02 allows 2 failures.
	for left := 1; left >= 0; left-- {
		_, err := secure.MutualAuthenticate(context.Background(), c, secure.Config{Suite: secure.AES128, KEnc: wrong, KMac: wrong, KeyRef: 0x02})
		require.ErrorIs(t, err, secure.ErrTerminalRejected)
		var te *apdu.TriesError
		require.True(t, errors.As(err, &te))
		assert.Equal(t, left, te.Remaining)
	}
	_, err := secure.MutualAuthenticate(context.Background(), c, secure.Config{Suite: secure.AES128, KEnc: testKey2Enc, KMac: testKey2Mac, KeyRef: 0x02})
	require.ErrorIs(t, err, apdu.ErrAuthMethodBlocked, "blocked even with the right key")
	n, err := c.KeyTriesLeft(testAID, 0x02)
	require.NoError(t, err)
	assert.Equal(t, 0, n)

	// Key 01 is unaffected; a success resets its counter.
	_, err = secure.MutualAuthenticate(context.Background(), c, secure.Config{Suite: secure.AES128, KEnc: wrong, KMac: wrong, KeyRef: 0x01})
	require.Error(t, err)
	n, _ = c.KeyTriesLeft(testAID, 0x01)
	assert.Equal(t, 2, n)
	authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	n, _ = c.KeyTriesLeft(testAID, 0x01)
	assert.Equal(t, 3, n)
}

func TestChallengeIsSingleUse(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	r1 := tx(t, c, "0084000008")
	require.Equal(t, "9000", sw(r1))
	assert.Len(t, r1, 20)
	// A failed MUTUAL AUTHENTICATE consumes it (a wrong length is not
	// executed and does not).
	assert.Equal(t, "6700", tx(t, c, "008200010400112233"+"00"))
	assert.Equal(t, "63C2", tx(t, c, "0082000138"+strings.Repeat("00", 56)+"00"))
	assert.Equal(t, "6985", tx(t, c, "0082000138"+strings.Repeat("00", 56)+"00"))
	// SELECT drops an outstanding challenge.
	tx(t, c, "0084000008")
	tx(t, c, selTest)
	assert.Equal(t, "6985", tx(t, c, "0082000138"+strings.Repeat("00", 56)+"00"))
}

func TestResetRetryCounterUnderAdminKey(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	for range 3 {
		tx(t, c, "002000810430303030")
	}
	require.Equal(t, "6983", tx(t, c, "00200081"))
	// The user key is not the administrative key.
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	assert.Equal(t, apdu.ErrSecurityStatusNotSatisfied, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsResetRetryCounter, P1: 0x03, P2: 0x81}))

	s = authenticate(t, c, 0x02, testKey2Enc, testKey2Mac)
	ctx := context.Background()
	assert.Equal(t, apdu.ErrIncorrectDataField, smSW(t, s, ctx, apdu.Command{INS: apdu.InsResetRetryCounter, P1: 0x02, P2: 0x81, Data: []byte("12")}))
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, apdu.Command{INS: apdu.InsResetRetryCounter, P1: 0x02, P2: 0x81, Data: []byte("9876")}))
	assert.Equal(t, apdu.StatusWord(0x63C3), smSW(t, s, ctx, apdu.Command{INS: apdu.InsVerify, P2: 0x81}))
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, apdu.Command{INS: apdu.InsVerify, P2: 0x81, Data: []byte("9876")}))
	// Unblock only (P1 = 03).
	tx(t, c, selTest)
	for range 3 {
		tx(t, c, "002000810430303030")
	}
	s = authenticate(t, c, 0x02, testKey2Enc, testKey2Mac)
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, apdu.Command{INS: apdu.InsResetRetryCounter, P1: 0x03, P2: 0x81}))
	n, _ := c.PINTriesLeft(testAID, 0x81)
	assert.Equal(t, 3, n)
}

func TestProtectedSelectOfAnotherAPIsAnsweredProtected(t *testing.T) {
	c := newTestCard(t)
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsSelect, P1: 0x04, P2: 0x0C, Data: otherAID}))
	assert.Equal(t, "6982", tx(t, c, "0CB0000001"), "session gone after the SELECT")
}

// Without extended length a protected response longer than 256 bytes comes
// through 61xx / GET RESPONSE, which the host session follows.
func TestLongProtectedResponseWithoutExtendedLength(t *testing.T) {
	tr := &Transcript{}
	c := newTestCard(t, WithExtendedLength(false), WithTranscript(tr))
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	require.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x03}}))
	data, sw := smDo(t, s, apdu.Command{INS: apdu.InsReadBinary, Ne: 256})
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Len(t, data, 256)
	assert.Positive(t, tr.Count(apdu.InsGetResponse), "GET RESPONSE used")
	for _, e := range tr.Exchanges() {
		assert.LessOrEqual(t, len(e.Response), 258, "short responses only")
	}
}

// Every suite of package secure works end to end against the card.
func TestMutualAuthenticationEverySuite(t *testing.T) {
	for _, suite := range []secure.Suite{secure.TDES, secure.AES128, secure.AES192, secure.AES256} {
		t.Run(suite.Name(), func(t *testing.T) {
			enc := bytes.Repeat([]byte{0x4A}, suite.KeyLen())
			mac := bytes.Repeat([]byte{0x5B}, suite.KeyLen())
			spec := testSpec()
			spec.Keys[0] = KeySpec{Ref: 0x01, Suite: suite.Name(), Enc: mustKey(enc), Mac: mustKey(mac)}
			c := MustNew(WithAP(spec))
			tx(t, c, selTest)
			s, err := secure.MutualAuthenticate(context.Background(), c, secure.Config{Suite: suite, KEnc: enc, KMac: mac, KeyRef: 0x01})
			require.NoError(t, err)
			require.Equal(t, apdu.SWSuccess, smSW(t, s, context.Background(), apdu.Command{INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x03}}))
			data, sw := smDo(t, s, apdu.Command{INS: apdu.InsReadBinary, P2: 10, Ne: 5})
			require.Equal(t, apdu.SWSuccess, sw)
			assert.Equal(t, []byte{10, 11, 12, 13, 14}, data)
		})
	}
}

// Re-authentication inside a session: GET CHALLENGE and MUTUAL
// AUTHENTICATE sent protected are answered protected by the old session,
// which ends with that answer; the card then holds the new key's session.
func TestProtectedReauthentication(t *testing.T) {
	tr := &Transcript{}
	c := newTestCard(t, WithTranscript(tr))
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	_, err := secure.MutualAuthenticate(context.Background(), s, secure.Config{Suite: secure.AES128, KEnc: testKey2Enc, KMac: testKey2Mac, KeyRef: 0x02})
	require.NoError(t, err, "the card's answer came back protected by the old session")
	last, ok := tr.Last()
	require.True(t, ok)
	assert.Equal(t, byte(0x0C), last.Command[0], "MUTUAL AUTHENTICATE went protected")
	n, err := c.KeyTriesLeft(testAID, 0x02)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "no failure counted")
	c.mu.Lock()
	assert.Equal(t, byte(0x02), c.sec.authKey, "the card's session is key 02's")
	assert.NotNil(t, c.sec.sm)
	c.mu.Unlock()
	// The old session is over on the card: a command under its keys fails.
	_, err = s.Transmit(context.Background(), []byte{0x00, 0xB0, 0x81, 0x00, 0x01})
	assert.Error(t, err)
}

// shortLeOnce shortens the Le of the first MUTUAL AUTHENTICATE it sees
// to 0x10, as a host with a wrong idea of the answer's length would send.
func shortLeOnce(next apdu.Transport) *apdutest.Interceptor {
	done := false
	return &apdutest.Interceptor{Next: next, RewriteCommand: func(_ int, cmd []byte) []byte {
		if done || len(cmd) <= 5 || apdu.Ins(cmd[1]) != apdu.InsMutualAuthenticate {
			return cmd
		}
		done = true
		cmd = append([]byte(nil), cmd...)
		cmd[len(cmd)-1] = 0x10
		return cmd
	}}
}

// A MUTUAL AUTHENTICATE whose Le is shorter than the answer gets 6Cxx
// without being executed: the challenge stays outstanding, so the resend
// with Le = xx (which apdu.Channel makes by itself) authenticates.
func TestMutualAuthenticateWrongLeCanBeResent(t *testing.T) {
	tr := &Transcript{}
	c := newTestCard(t, WithTranscript(tr))
	require.Equal(t, "9000", tx(t, c, selTest))
	ch := apdu.NewChannel(shortLeOnce(c), apdu.ChannelConfig{})
	s, err := secure.MutualAuthenticate(context.Background(), ch, secure.Config{Suite: secure.AES128, KEnc: testKey1Enc, KMac: testKey1Mac, KeyRef: 0x01})
	require.NoError(t, err, "the resend after 6Cxx authenticates")
	defer s.Close()
	sws := tr.SWs()
	require.Len(t, sws, 4, "SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE twice")
	assert.Equal(t, apdu.StatusWord(0x6C38), sws[2], "AES-128: 48 + 8 bytes")
	assert.Equal(t, apdu.SWSuccess, sws[3])
	n, err := c.KeyTriesLeft(testAID, 0x01)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "no failure counted")
}
