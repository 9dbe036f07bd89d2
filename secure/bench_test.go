package secure

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"testing"

	"github.com/mynacard/freespace/apdu"
)

// repeatRand yields the same bytes over and over.
type repeatRand struct{ b []byte }

func (r repeatRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b[i%len(r.b)]
	}
	return len(p), nil
}

// BenchmarkSMHostRoundTrip measures the host's work for one protected APDU
// round trip through Session.Transmit: protect a command with 200 data
// bytes (UPDATE BINARY, Le 200), then verify and decrypt a 200-byte
// protected response. The card's answer is precomputed and the SSC reset
// before each call, so no card work is timed.
func BenchmarkSMHostRoundTrip(b *testing.B) {
	for _, s := range allSuites {
		b.Run(s.Name(), func(b *testing.B) {
			k := SessionKeys{Enc: bytes.Repeat([]byte{1}, s.KeyLen()), MAC: bytes.Repeat([]byte{2}, s.KeyLen()), SSC: make([]byte, s.SSCLen())}
			card, err := newSMCore(s, k)
			if err != nil {
				b.Fatal(err)
			}
			cmd, _ := apdu.Command{INS: apdu.InsUpdateBinary, Data: make([]byte, 200), Ne: 200}.Bytes()
			card.incSSC() // the command
			resp := card.wrapResponse(apdu.Response{Data: make([]byte, 200), SW: apdu.SWSuccess})
			sess, err := NewSession(apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) { return resp, nil }), s, k)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(200)
			b.ResetTimer()
			for b.Loop() {
				clear(sess.core.ssc[:])
				if _, err := sess.Transmit(ctx, cmd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSMFullRoundTrip is the same exchange with the in-memory card
// side doing its share (unwrap command, wrap response): host plus card.
func BenchmarkSMFullRoundTrip(b *testing.B) {
	for _, s := range allSuites {
		b.Run(s.Name(), func(b *testing.B) {
			sess, _ := newPair(b, s)
			cmd, _ := apdu.Command{INS: apdu.InsUpdateBinary, Data: make([]byte, 200), Ne: 200}.Bytes()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := sess.Transmit(ctx, cmd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMutualAuthHost measures the host's work for one mutual
// authentication (GET CHALLENGE and MUTUAL AUTHENTICATE round, checks, key
// derivation, session set-up); the card's answers are precomputed for a
// fixed terminal randomness.
func BenchmarkMutualAuthHost(b *testing.B) {
	for _, s := range allSuites {
		b.Run(s.Name(), func(b *testing.B) {
			kEnc, kMac := testKeys(s)
			a, err := NewCardAuthenticator(s, kEnc, kMac, repeatRand{[]byte{7, 1, 9}})
			if err != nil {
				b.Fatal(err)
			}
			card := &memCard{auth: a, handler: echoHandler}
			var answers [][]byte
			rec := apdu.TransportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
				r, err := card.Transmit(ctx, cmd)
				answers = append(answers, r)
				return r, err
			})
			cfg := Config{Suite: s, KEnc: kEnc, KMac: kMac, Rand: repeatRand{[]byte{3, 5}}}
			ctx := context.Background()
			if _, err := MutualAuthenticate(ctx, rec, cfg); err != nil {
				b.Fatal(err)
			}
			i := 0
			replay := apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) {
				r := answers[i%2]
				i++
				return r, nil
			})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := MutualAuthenticate(ctx, replay, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMutualAuthFull is one mutual authentication against the
// in-memory card side (host plus card work).
func BenchmarkMutualAuthFull(b *testing.B) {
	for _, s := range allSuites {
		b.Run(s.Name(), func(b *testing.B) {
			kEnc, kMac := testKeys(s)
			a, err := NewCardAuthenticator(s, kEnc, kMac, nil)
			if err != nil {
				b.Fatal(err)
			}
			card := &memCard{auth: a, handler: echoHandler}
			cfg := Config{Suite: s, KEnc: kEnc, KMac: kMac}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := MutualAuthenticate(ctx, card, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaselineAESCBC is the reference for the ratios in
// docs/PERFORMANCE.md: the raw block-cipher work of one AES-128 protected
// round trip of 200 bytes done with the standard library alone (CBC
// encryption of 208 bytes of data and 256 bytes of MAC input for the
// command, CBC decryption of 208 bytes and encryption of 240 bytes of MAC
// input for the response), without any SM logic.
func BenchmarkBaselineAESCBC(b *testing.B) {
	blk, _ := aes.NewCipher(bytes.Repeat([]byte{1}, 16))
	iv := make([]byte, 16)
	enc := cipher.NewCBCEncrypter(blk, iv)
	dec := cipher.NewCBCDecrypter(blk, iv)
	buf := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		enc.CryptBlocks(buf[:208], buf[:208])
		enc.CryptBlocks(buf[:256], buf[:256])
		dec.CryptBlocks(buf[:208], buf[:208])
		enc.CryptBlocks(buf[:240], buf[:240])
	}
}

func TestSMHostRoundTripAllocs(t *testing.T) {
	// One protected round trip allocates only the returned plain response,
	// whatever the data length.
	for _, s := range allSuites {
		k := SessionKeys{Enc: bytes.Repeat([]byte{1}, s.KeyLen()), MAC: bytes.Repeat([]byte{2}, s.KeyLen()), SSC: make([]byte, s.SSCLen())}
		card, err := newSMCore(s, k)
		if err != nil {
			t.Fatal(err)
		}
		cmd, _ := apdu.Command{INS: apdu.InsUpdateBinary, Data: make([]byte, 200), Ne: 200}.Bytes()
		card.incSSC()
		resp := card.wrapResponse(apdu.Response{Data: make([]byte, 200), SW: apdu.SWSuccess})
		sess, err := NewSession(apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) { return resp, nil }), s, k)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		allocs := testing.AllocsPerRun(100, func() {
			clear(sess.core.ssc[:])
			if _, err := sess.Transmit(ctx, cmd); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 1 {
			t.Errorf("%s: %.0f allocations per protected round trip, want ≤ 1 (the returned response)", s.Name(), allocs)
		}
	}
}
