package secure

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
)

var allSuites = []Suite{TDES, AES128, AES192, AES256}

func testKeys(s Suite) (kEnc, kMac []byte) {
	kEnc = bytes.Repeat([]byte{0x11}, s.KeyLen())
	kMac = bytes.Repeat([]byte{0x22}, s.KeyLen())
	return
}

// newPair authenticates a host against an in-memory card.
func newPair(t testing.TB, s Suite) (*Session, *memCard) {
	t.Helper()
	kEnc, kMac := testKeys(s)
	a, err := NewCardAuthenticator(s, kEnc, kMac, nil)
	require.NoError(t, err)
	card := &memCard{auth: a, handler: echoHandler}
	sess, err := MutualAuthenticate(context.Background(), card, Config{Suite: s, KEnc: kEnc, KMac: kMac})
	require.NoError(t, err)
	return sess, card
}

func TestEndToEndAllSuites(t *testing.T) {
	ctx := context.Background()
	for _, s := range allSuites {
		t.Run(s.Name(), func(t *testing.T) {
			sess, _ := newPair(t, s)
			for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 100, MaxCommandData(s, false)} {
				data := bytes.Repeat([]byte{0xA5}, n)
				for _, ins := range []apdu.Ins{0xD6, 0xDB} { // even INS: DO87, odd INS: DO85
					cmd, err := apdu.Command{INS: ins, Data: data, Ne: n}.Bytes()
					require.NoError(t, err)
					resp, err := sess.Transmit(ctx, cmd)
					require.NoError(t, err, "n=%d ins=%02X", n, ins)
					r, err := apdu.ParseResponse(resp)
					require.NoError(t, err)
					assert.Equal(t, apdu.SWSuccess, r.SW)
					assert.Len(t, r.Data, n)
				}
			}
			// Read exactly the largest short response.
			cmd, err := apdu.Command{INS: apdu.InsReadBinary, Ne: MaxResponseData(s, false)}.Bytes()
			require.NoError(t, err)
			resp, err := sess.Transmit(ctx, cmd)
			require.NoError(t, err)
			assert.Len(t, resp, MaxResponseData(s, false)+2)
			// Extended length passes through.
			big := bytes.Repeat([]byte{1}, 1000)
			cmd, err = apdu.Command{INS: apdu.InsUpdateBinary, Data: big, Ne: 1000}.Bytes()
			require.NoError(t, err)
			resp, err = sess.Transmit(ctx, cmd)
			require.NoError(t, err)
			assert.Equal(t, append(big, 0x90, 0x00), resp)
			require.NoError(t, sess.Close())
			_, err = sess.Transmit(ctx, cmd)
			assert.ErrorIs(t, err, ErrSessionClosed)
		})
	}
}

func TestProtectedSizesFitShortAPDUs(t *testing.T) {
	for _, s := range allSuites {
		t.Run(s.Name(), func(t *testing.T) {
			k := SessionKeys{Enc: make([]byte, s.KeyLen()), MAC: make([]byte, s.KeyLen()), SSC: make([]byte, s.SSCLen())}
			core, err := newSMCore(s, k)
			require.NoError(t, err)
			n := MaxCommandData(s, false)
			wire, err := core.wrapCommand(apdu.Command{INS: apdu.InsUpdateBinary, Data: make([]byte, n), Ne: 256})
			require.NoError(t, err)
			c, err := apdu.ParseCommand(wire)
			require.NoError(t, err)
			assert.False(t, c.Extended)
			assert.LessOrEqual(t, len(c.Data), apdu.MaxShortLc)
			// One more byte no longer fits.
			wire, err = core.wrapCommand(apdu.Command{INS: apdu.InsUpdateBinary, Data: make([]byte, n+1), Ne: 256})
			require.NoError(t, err)
			c, err = apdu.ParseCommand(wire)
			require.NoError(t, err)
			assert.True(t, c.Extended)

			m := MaxResponseData(s, false)
			resp := core.wrapResponse(apdu.Response{Data: make([]byte, m), SW: apdu.SWSuccess})
			assert.LessOrEqual(t, len(resp)-2, apdu.MaxShortNe)
			resp = core.wrapResponse(apdu.Response{Data: make([]byte, m+1), SW: apdu.SWSuccess})
			assert.Greater(t, len(resp)-2, apdu.MaxShortNe)
			assert.Greater(t, MaxCommandData(s, true), 65000)
			assert.Greater(t, MaxResponseData(s, true), 65000)
		})
	}
	assert.Equal(t, 231, MaxCommandData(TDES, false))
	assert.Equal(t, 223, MaxCommandData(AES128, false))
}

func TestProtectCLA(t *testing.T) {
	tests := []struct {
		in, out byte
		ok      bool
	}{
		{0x00, 0x0C, true}, {0x01, 0x0D, true}, {0x03, 0x0F, true}, {0x10, 0x1C, true},
		{0x80, 0x8C, true}, {0x40, 0x60, true}, {0x4F, 0x6F, true},
		{0x0C, 0, false}, {0x04, 0, false}, {0x60, 0, false}, {0xFF, 0, false}, {0x20, 0, false},
	}
	for _, tt := range tests {
		got, err := protectCLA(tt.in)
		if !tt.ok {
			assert.ErrorIs(t, err, apdu.ErrInvalidCommand, "%02X", tt.in)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.out, got, "%02X", tt.in)
		assert.True(t, IsProtected(got))
		assert.False(t, IsProtected(tt.in))
		assert.Equal(t, tt.in, plainCLA(got))
	}
}

func TestSuiteByName(t *testing.T) {
	for _, s := range allSuites {
		got, err := SuiteByName(s.Name())
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
	got, err := SuiteByName("aes_256")
	require.NoError(t, err)
	assert.Equal(t, AES256, got)
	_, err = SuiteByName("rc4")
	assert.Error(t, err)
}

func TestInvalidPlainCommandKeepsSession(t *testing.T) {
	sess, _ := newPair(t, AES128)
	ctx := context.Background()
	_, err := sess.Transmit(ctx, []byte{0x00})
	assert.ErrorIs(t, err, apdu.ErrInvalidCommand)
	_, err = sess.Transmit(ctx, []byte{0x0C, 0xB0, 0x00, 0x00, 0x01})
	assert.ErrorIs(t, err, apdu.ErrInvalidCommand)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = sess.Transmit(cctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x01})
	assert.ErrorIs(t, err, context.Canceled)
	assert.NoError(t, sess.Err())
	_, err = sess.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x01})
	assert.NoError(t, err)
}

// TestOversizedCommandKeepsSSC: a plain command whose protected form
// cannot be encoded (more data than MaxCommandData allows even in an
// extended APDU) is refused with apdu.ErrInvalidCommand before the SSC
// moves, so the host and the card stay in step and the next command
// still verifies.
func TestOversizedCommandKeepsSSC(t *testing.T) {
	for _, s := range allSuites {
		t.Run(s.Name(), func(t *testing.T) {
			sess, _ := newPair(t, s)
			ctx := context.Background()
			big, err := apdu.Command{INS: apdu.InsUpdateBinary, Data: make([]byte, apdu.MaxExtendedLc)}.Bytes()
			require.NoError(t, err)
			_, err = sess.Transmit(ctx, big)
			require.ErrorIs(t, err, apdu.ErrInvalidCommand)
			require.NoError(t, sess.Err())
			resp, err := sess.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x01})
			require.NoError(t, err, "the session survives and the SSC did not move")
			assert.Equal(t, []byte{0x00, 0x90, 0x00}, resp)
		})
	}
}

// TestProtectedBodyLen checks the size wrapCommand checks up front
// against the protected commands it really builds.
func TestProtectedBodyLen(t *testing.T) {
	for _, s := range allSuites {
		kEnc, kMac := testKeys(s)
		core, err := newSMCore(s, SessionKeys{Enc: kEnc, MAC: kMac, SSC: make([]byte, s.SSCLen())})
		require.NoError(t, err)
		for _, nc := range []int{0, 1, 7, 8, 15, 16, 17, 110, 111, 126, 127, 128, 255, 256, 300, 65000} {
			for _, ins := range []apdu.Ins{apdu.InsUpdateBinary, apdu.InsUpdateBinary | 1} {
				for _, ne := range []int{0, 1, 256, 65536} {
					c := apdu.Command{INS: ins, Data: make([]byte, nc), Ne: ne, Extended: ne > 256}
					out, err := core.wrapCommand(c)
					require.NoError(t, err)
					got, err := apdu.ParseCommand(out)
					require.NoError(t, err)
					assert.Equal(t, len(got.Data), protectedBodyLen(nc, ne, byte(ins), c.IsExtended(), s.BlockSize()), "%s nc %d ins %02X ne %d", s.Name(), nc, ins, ne)
				}
			}
		}
	}
}

func TestTransportErrorEndsSession(t *testing.T) {
	sess, card := newPair(t, AES128)
	_ = card
	gone := errors.New("reader gone")
	sess.next = apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) {
		return nil, errors.Join(apdu.ErrCardRemoved, gone)
	})
	_, err := sess.Transmit(context.Background(), []byte{0x00, 0xB0, 0x00, 0x00, 0x01})
	assert.ErrorIs(t, err, ErrSessionClosed)
	assert.ErrorIs(t, err, apdu.ErrCardRemoved)
	assert.ErrorIs(t, sess.Err(), ErrSessionClosed)
}

func TestGetResponseOfProtectedResponse(t *testing.T) {
	// T=0 style: the protected response arrives through 61xx and GET
	// RESPONSE; the session reassembles it before unwrapping.
	sess, card := newPair(t, TDES)
	var pending []byte
	inner := card
	sess.next = apdu.TransportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
		if apdu.Ins(cmd[1]) == apdu.InsGetResponse {
			n := int(cmd[4])
			if n > len(pending) {
				n = len(pending)
			}
			out := append([]byte(nil), pending[:n]...)
			pending = pending[n:]
			if len(pending) > 0 {
				return append(out, 0x61, byte(len(pending))), nil
			}
			return append(out, 0x90, 0x00), nil
		}
		resp, err := inner.Transmit(ctx, cmd)
		if err != nil {
			return nil, err
		}
		pending = resp[:len(resp)-2]
		return []byte{0x61, 0x10}, nil
	})
	resp, err := sess.Transmit(context.Background(), []byte{0x00, 0xB0, 0x00, 0x00, 0x30})
	require.NoError(t, err)
	assert.Len(t, resp, 0x30+2)
}

func TestCardAuthenticatorRules(t *testing.T) {
	kEnc, kMac := testKeys(AES128)
	a, err := NewCardAuthenticator(AES128, kEnc, kMac, rand.Reader)
	require.NoError(t, err)
	card := &memCard{auth: a, handler: echoHandler}
	// MUTUAL AUTHENTICATE without GET CHALLENGE: 6985.
	_, _, err = a.Authenticate(make([]byte, 56))
	assert.ErrorIs(t, err, ErrNoChallenge)
	assert.ErrorIs(t, err, apdu.ErrConditionsOfUseNotSatisfied)

	// A challenge is single use: a second MUTUAL AUTHENTICATE with the
	// same (captured) terminal data is refused.
	var captured []byte
	tap := &apdutest.Interceptor{Next: card, Rewrite: func(e apdutest.Exchange) ([]byte, error) {
		if e.Ins() == apdu.InsMutualAuthenticate {
			captured = append([]byte(nil), e.Command...)
		}
		return e.Response, e.Err
	}}
	_, err = MutualAuthenticate(context.Background(), tap, Config{Suite: AES128, KEnc: kEnc, KMac: kMac})
	require.NoError(t, err)
	c, err := apdu.ParseCommand(captured)
	require.NoError(t, err)
	_, _, err = a.Authenticate(c.Data)
	assert.ErrorIs(t, err, ErrNoChallenge)
	// With a new challenge the replayed cryptogram carries the old nonce.
	_, err = a.Challenge()
	require.NoError(t, err)
	_, _, err = a.Authenticate(c.Data)
	assert.ErrorIs(t, err, ErrNonceMismatch)

	// Wrong length and wrong key.
	_, err = a.Challenge()
	require.NoError(t, err)
	_, _, err = a.Authenticate(c.Data[:55])
	assert.ErrorIs(t, err, ErrTerminalCryptogram)
	assert.ErrorIs(t, err, apdu.ErrWrongLength)
	other, _ := testKeys(AES256)
	_, err = MutualAuthenticate(context.Background(), card, Config{Suite: AES128, KEnc: kEnc, KMac: other[:16]})
	assert.ErrorIs(t, err, ErrTerminalRejected)
	var sw apdu.StatusWord
	require.ErrorAs(t, err, &sw)
	assert.Equal(t, apdu.WarnNoInformation63, sw)
	a.Reset()
	_, _, err = a.Authenticate(c.Data)
	assert.ErrorIs(t, err, ErrNoChallenge)
}

func TestCardSessionErrors(t *testing.T) {
	_, card := newPair(t, AES128)
	cs := card.sess
	_, err := cs.UnwrapCommand([]byte{0x00, 0xB0, 0x00, 0x00, 0x01})
	assert.ErrorIs(t, err, ErrCommandMalformed)
	assert.ErrorIs(t, err, apdu.ErrSMDataObjectsMissing)
	// The session has ended: later commands get 6982.
	_, err = cs.UnwrapCommand([]byte{0x0C, 0xB0, 0x00, 0x00, 0x0A, 0x8E, 0x08, 0, 0, 0, 0, 0, 0, 0, 0})
	assert.ErrorIs(t, err, ErrSessionClosed)
	var sw apdu.StatusWord
	require.ErrorAs(t, err, &sw)
	assert.Equal(t, apdu.ErrSecurityStatusNotSatisfied, sw)
	_, err = cs.WrapResponse(apdu.Response{SW: apdu.SWSuccess})
	assert.ErrorIs(t, err, ErrSessionClosed)
}

func TestSessionConcurrentUse(t *testing.T) {
	// Commands from several goroutines are serialized: every one succeeds
	// and the counters of host and card stay in step.
	sess, _ := newPair(t, AES256)
	ctx := context.Background()
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			var err error
			for i := 0; i < 20 && err == nil; i++ {
				var cmd []byte
				cmd, err = apdu.Command{INS: apdu.InsUpdateBinary, Data: []byte{byte(g), byte(i)}, Ne: 2}.Bytes()
				if err == nil {
					var resp []byte
					resp, err = sess.Transmit(ctx, cmd)
					if err == nil && !bytes.Equal(resp, []byte{byte(g), byte(i), 0x90, 0x00}) {
						err = errors.New("wrong response")
					}
				}
			}
			done <- err
		}()
	}
	for g := 0; g < 8; g++ {
		assert.NoError(t, <-done)
	}
}

func TestZeroValueSessionsFail(t *testing.T) {
	var s Session
	_, err := s.Transmit(context.Background(), []byte{0x00, 0xB0, 0x00, 0x00, 0x01})
	assert.ErrorIs(t, err, ErrSessionClosed)
	var cs CardSession
	_, err = cs.UnwrapCommand([]byte{0x0C, 0xB0, 0x00, 0x00})
	assert.ErrorIs(t, err, ErrSessionClosed)
	_, err = cs.WrapResponse(apdu.Response{SW: apdu.SWSuccess})
	assert.ErrorIs(t, err, ErrSessionClosed)
}

func TestZeroValueCardAuthenticator(t *testing.T) {
	var a CardAuthenticator
	_, err := a.Challenge()
	assert.Error(t, err)
	_, _, err = a.Authenticate(make([]byte, 40))
	assert.ErrorIs(t, err, ErrNoChallenge)
}

// TestKeyLengthIsSecuresError: a key of the wrong length, in every suite
// and on both sides, is secure.ErrKeyLength with the lengths, and nothing
// of the internal primitives shows.
func TestKeyLengthIsSecuresError(t *testing.T) {
	for _, s := range allSuites {
		for _, n := range []int{0, 8, 15, 33} {
			k := SessionKeys{Enc: make([]byte, n), MAC: make([]byte, n), SSC: make([]byte, s.SSCLen())}
			_, err := NewSession(apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) { return nil, nil }), s, k)
			require.ErrorIs(t, err, ErrKeyLength, "%s %d", s.Name(), n)
			assert.NotContains(t, err.Error(), "cryptoprim")
			_, err = NewCardAuthenticator(s, make([]byte, n), make([]byte, n), nil)
			require.ErrorIs(t, err, ErrKeyLength, "%s %d", s.Name(), n)
			assert.NotContains(t, err.Error(), "cryptoprim")
		}
	}
}
