package secure

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
)

// forged builds a response with the given data objects and a correct MAC
// under the card's session state: what a card holding the keys, but
// misbehaving, would send.
func forged(core *smCore, dos []byte, sw apdu.StatusWord) []byte {
	core.incSSC()
	t := core.computeMAC(nil, dos)
	out := append(append([]byte(nil), dos...), tagMAC, MACLen)
	out = append(out, t[:]...)
	return append(out, sw.SW1(), sw.SW2())
}

func readCmd(t testing.TB) []byte {
	c, err := apdu.Command{INS: apdu.InsReadBinary, Ne: 4}.Bytes()
	require.NoError(t, err)
	return c
}

// assertEnded checks that err ends the session with cause and that the
// next call fails with ErrSessionClosed and the same cause.
func assertEnded(t *testing.T, sess *Session, err, cause error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrSessionClosed)
	assert.ErrorIs(t, err, cause)
	_, err2 := sess.Transmit(context.Background(), readCmd(t))
	assert.ErrorIs(t, err2, ErrSessionClosed)
	assert.ErrorIs(t, err2, cause)
	assert.ErrorIs(t, sess.Err(), cause)
}

func TestHostileSecureMessaging(t *testing.T) {
	ctx := context.Background()
	for _, s := range allSuites {
		t.Run(s.Name(), func(t *testing.T) {
			tests := []struct {
				name  string
				setup func(card *memCard)
				cause error
			}{
				{"wrong MAC", func(c *memCard) {
					c.tamper = func(r []byte) []byte { r[len(r)-3] ^= 0x01; return r }
				}, ErrResponseMAC},
				{"plain 9000", func(c *memCard) {
					c.tamper = func([]byte) []byte { return []byte{0x90, 0x00} }
				}, ErrResponseUnprotected},
				{"plain data and 9000", func(c *memCard) {
					c.tamper = func([]byte) []byte { return []byte{1, 2, 3, 4, 0x90, 0x00} }
				}, ErrResponseUnprotected},
				// Issue 11 §3.1: a plain BER-TLV answer with data is the
				// unprotected answer of docs/PROTOCOL.md §4.4, not a
				// malformed protected one.
				{"plain template and 9000", func(c *memCard) {
					c.tamper = func([]byte) []byte { return []byte{0x70, 0x04, 0x80, 0x02, 0x55, 0x31, 0x90, 0x00} }
				}, ErrResponseUnprotected},
				{"plain data and 6A82", func(c *memCard) {
					c.tamper = func([]byte) []byte { return []byte{0x70, 0x00, 0x6A, 0x82} }
				}, ErrResponseUnprotected},
				{"plain data and 6988", func(c *memCard) {
					c.tamper = func([]byte) []byte { return []byte{0x01, 0x69, 0x88} }
				}, ErrResponseUnprotected},
				{"DO8E first", func(c *memCard) {
					c.tamper = func(r []byte) []byte { return append([]byte{tagMAC, 0}, r...) }
				}, ErrResponseMalformed},
				{"plain 6A82", func(c *memCard) {
					c.tamper = func([]byte) []byte { return []byte{0x6A, 0x82} }
				}, ErrResponseUnprotected},
				{"plain 6988 from the card", func(c *memCard) {
					c.tamper = func([]byte) []byte { return []byte{0x69, 0x88} }
				}, ErrCardRejectedSM},
				{"DO99 differs from SW", func(c *memCard) {
					c.forge = func(_ apdu.Command, core *smCore) []byte {
						r := forged(core, []byte{tagStatus, 2, 0x90, 0x00}, 0x9000)
						r[len(r)-2], r[len(r)-1] = 0x6A, 0x82
						return r
					}
				}, ErrStatusMismatch},
				{"no DO99", func(c *memCard) {
					c.forge = func(_ apdu.Command, core *smCore) []byte { return forged(core, nil, 0x9000) }
				}, ErrResponseMalformed},
				{"short cryptogram in DO87", func(c *memCard) {
					c.forge = func(_ apdu.Command, core *smCore) []byte {
						dos := append([]byte{tagCryptogram, 6, 1, 1, 2, 3, 4, 5}, tagStatus, 2, 0x90, 0x00)
						return forged(core, dos, 0x9000)
					}
				}, ErrResponseMalformed},
				{"bad padding in DO87", func(c *memCard) {
					c.forge = func(_ apdu.Command, core *smCore) []byte {
						// A block whose plaintext holds no 80 00.. padding,
						// encrypted under the response's IV so that it
						// decrypts to exactly that (an arbitrary block, such
						// as all zeros, decrypts to noise that ends in 80
						// about once in 256 runs).
						core.incSSC()
						pt := bytes.Repeat([]byte{0x11}, core.c.bs)
						ct := make([]byte, len(pt))
						iv := core.iv()
						core.c.cbcEncrypt(ct, pt, iv[:core.c.bs])
						dos := append([]byte{tagCryptogram, byte(1 + len(ct)), 1}, ct...)
						dos = append(dos, tagStatus, 2, 0x90, 0x00)
						t := core.computeMAC(nil, dos)
						out := append(append([]byte(nil), dos...), tagMAC, MACLen)
						out = append(out, t[:]...)
						return append(out, 0x90, 0x00)
					}
				}, ErrResponseMalformed},
				{"data object after DO8E", func(c *memCard) {
					c.tamper = func(r []byte) []byte {
						return append(append(r[:len(r)-2:len(r)-2], tagStatus, 2, 0x90, 0x00), 0x90, 0x00)
					}
				}, ErrResponseMalformed},
				{"stale SSC", func(c *memCard) {
					c.forge = func(in apdu.Command, core *smCore) []byte {
						// The card does not advance its counter for the response.
						for i := core.sscLen - 1; i >= 0; i-- {
							core.ssc[i]--
							if core.ssc[i] != 0xFF {
								break
							}
						}
						return core.wrapResponse(apdu.Response{Data: []byte{1, 2, 3, 4}, SW: apdu.SWSuccess})
					}
				}, ErrResponseMAC},
				{"overlong MAC", func(c *memCard) {
					c.tamper = func(r []byte) []byte {
						sw := r[len(r)-2:]
						body := append([]byte(nil), r[:len(r)-12]...)
						body = append(body, tagMAC, 9)
						body = append(body, r[len(r)-10:len(r)-2]...)
						body = append(body, 0)
						return append(body, sw...)
					}
				}, ErrResponseMalformed},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					sess, card := newPair(t, s)
					tt.setup(card)
					_, err := sess.Transmit(ctx, readCmd(t))
					assertEnded(t, sess, err, tt.cause)
				})
			}
		})
	}
}

func TestHostileReplayedResponse(t *testing.T) {
	ctx := context.Background()
	for _, s := range allSuites {
		t.Run(s.Name(), func(t *testing.T) {
			sess, card := newPair(t, s)
			var first []byte
			card.tamper = func(r []byte) []byte {
				if first == nil {
					first = append([]byte(nil), r...)
					return r
				}
				return append([]byte(nil), first...)
			}
			_, err := sess.Transmit(ctx, readCmd(t))
			require.NoError(t, err)
			_, err = sess.Transmit(ctx, readCmd(t))
			assertEnded(t, sess, err, ErrResponseMAC)
		})
	}
}

func TestPlainSWErrorsEndSession(t *testing.T) {
	for _, sw := range []apdu.StatusWord{0x6987, 0x6988, 0x6882, 0x6982} {
		sess, card := newPair(t, AES128)
		card.tamper = func([]byte) []byte { return []byte{sw.SW1(), sw.SW2()} }
		_, err := sess.Transmit(context.Background(), readCmd(t))
		assertEnded(t, sess, err, ErrCardRejectedSM)
		var got apdu.StatusWord
		require.ErrorAs(t, err, &got)
		assert.Equal(t, sw, got)
	}
}

// authCard answers GET CHALLENGE and MUTUAL AUTHENTICATE with a script
// function of the terminal's decrypted S.
type authCard struct {
	suite     Suite
	cr        *crypto
	challenge []byte
	answer    func(s []byte) ([]byte, apdu.StatusWord)
}

func (c *authCard) Transmit(_ context.Context, raw []byte) ([]byte, error) {
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return nil, err
	}
	if cmd.INS == apdu.InsGetChallenge {
		return append(append([]byte(nil), c.challenge...), 0x90, 0x00), nil
	}
	n := cryptogramLen(c.suite)
	s := make([]byte, n)
	c.cr.cbcDecrypt(s, cmd.Data[:n], make([]byte, c.cr.bs))
	data, sw := c.answer(s)
	return append(data, sw.SW1(), sw.SW2()), nil
}

// encAnswer encrypts and MACs r as a card with the right keys would.
func (c *authCard) encAnswer(r []byte) []byte {
	out := make([]byte, len(r))
	c.cr.cbcEncrypt(out, r, make([]byte, c.cr.bs))
	return c.cr.macPadded(out, out)
}

func TestHostileMutualAuthentication(t *testing.T) {
	ctx := context.Background()
	for _, s := range allSuites {
		t.Run(s.Name(), func(t *testing.T) {
			kEnc, kMac := testKeys(s)
			cr, err := s.newCrypto(kEnc, kMac)
			require.NoError(t, err)
			chal := []byte{1, 2, 3, 4, 5, 6, 7, 8}
			honest := func(c *authCard) func(sIn []byte) ([]byte, apdu.StatusWord) {
				return func(sIn []byte) ([]byte, apdu.StatusWord) {
					r := append(append(append([]byte(nil), sIn[8:16]...), sIn[:8]...), bytes.Repeat([]byte{9}, s.KeyHalfLen())...)
					return c.encAnswer(r), 0x9000
				}
			}
			tests := []struct {
				name   string
				answer func(c *authCard) func([]byte) ([]byte, apdu.StatusWord)
				want   []error
			}{
				{"honest card", honest, nil},
				{"changes its nonce", func(c *authCard) func([]byte) ([]byte, apdu.StatusWord) {
					return func(sIn []byte) ([]byte, apdu.StatusWord) {
						r := append(append([]byte{8, 7, 6, 5, 4, 3, 2, 1}, sIn[:8]...), make([]byte, s.KeyHalfLen())...)
						return c.encAnswer(r), 0x9000
					}
				}, []error{ErrNonceMismatch}},
				{"does not echo RND.IFD", func(c *authCard) func([]byte) ([]byte, apdu.StatusWord) {
					return func(sIn []byte) ([]byte, apdu.StatusWord) {
						r := append(append(append([]byte(nil), chal...), make([]byte, 8)...), make([]byte, s.KeyHalfLen())...)
						return c.encAnswer(r), 0x9000
					}
				}, []error{ErrNonceMismatch}},
				{"reflects the terminal's cryptogram", func(c *authCard) func([]byte) ([]byte, apdu.StatusWord) {
					return func(sIn []byte) ([]byte, apdu.StatusWord) { return c.encAnswer(sIn), 0x9000 }
				}, []error{ErrNonceMismatch}},
				{"wrong MAC key", func(c *authCard) func([]byte) ([]byte, apdu.StatusWord) {
					return func(sIn []byte) ([]byte, apdu.StatusWord) {
						a, _ := honest(c)(sIn)
						a[len(a)-1] ^= 0x80
						return a, 0x9000
					}
				}, []error{ErrCardCryptogram}},
				{"short cryptogram", func(c *authCard) func([]byte) ([]byte, apdu.StatusWord) {
					return func(sIn []byte) ([]byte, apdu.StatusWord) {
						a, _ := honest(c)(sIn)
						return a[:len(a)-1], 0x9000
					}
				}, []error{ErrCardCryptogram, apdu.ErrMalformedResponse}},
				{"overlong cryptogram", func(c *authCard) func([]byte) ([]byte, apdu.StatusWord) {
					return func(sIn []byte) ([]byte, apdu.StatusWord) {
						a, _ := honest(c)(sIn)
						return append(a, 0), 0x9000
					}
				}, []error{ErrCardCryptogram, apdu.ErrMalformedResponse}},
				{"refuses with 63C2", func(*authCard) func([]byte) ([]byte, apdu.StatusWord) {
					return func([]byte) ([]byte, apdu.StatusWord) { return nil, 0x63C2 }
				}, []error{ErrTerminalRejected, apdu.ErrVerificationFailed}},
				{"refuses with 6983", func(*authCard) func([]byte) ([]byte, apdu.StatusWord) {
					return func([]byte) ([]byte, apdu.StatusWord) { return nil, 0x6983 }
				}, []error{ErrTerminalRejected, apdu.ErrBlocked}},
				{"9000 without data", func(*authCard) func([]byte) ([]byte, apdu.StatusWord) {
					return func([]byte) ([]byte, apdu.StatusWord) { return nil, 0x9000 }
				}, []error{ErrCardCryptogram, apdu.ErrMalformedResponse}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c := &authCard{suite: s, cr: cr, challenge: chal}
					c.answer = tt.answer(c)
					sess, err := MutualAuthenticate(ctx, c, Config{Suite: s, KEnc: kEnc, KMac: kMac})
					if tt.want == nil {
						require.NoError(t, err)
						assert.NoError(t, sess.Err())
						return
					}
					assert.Nil(t, sess)
					for _, w := range tt.want {
						assert.ErrorIs(t, err, w)
					}
				})
			}
		})
	}
}

func TestHostileChallenge(t *testing.T) {
	kEnc, kMac := testKeys(TDES)
	// GET CHALLENGE answered with an error, a short nonce, a long nonce
	// and no status word at all: none starts an authentication.
	for _, resp := range []string{"6D00", "010203 9000", "010203040506070809 9000", "90", ""} {
		tr := apdutest.NewCard(t, apdutest.Step{Command: "0084000008", Response: resp, Malformed: true})
		_, err := MutualAuthenticate(context.Background(), tr, Config{Suite: TDES, KEnc: kEnc, KMac: kMac})
		assert.ErrorIs(t, err, ErrChallenge, "%q", resp)
	}
}
