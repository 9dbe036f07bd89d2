package jpki

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/profile"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	selectAP = "00A4040C0AD392F000260100000001"
	selectA  = "00A4020C02000A"
)

// readScript is the transcript of reading der from EF 000A in chunks of
// chunk bytes (the first READ asks for first bytes), the card answering
// eof past the end.
func readScript(der []byte, first, chunk int) []apdutest.Step {
	steps := []apdutest.Step{{Command: selectAP, Response: "9000"}, {Command: selectA, Response: "9000"}}
	le := func(n int) string {
		if n > 256 {
			return fmt.Sprintf("00%04X", n)
		}
		return fmt.Sprintf("%02X", n&0xFF)
	}
	n := min(first, len(der))
	steps = append(steps, apdutest.Step{Command: "00B00000" + le(first), Response: hex.EncodeToString(der[:n]) + "9000"})
	for off := n; off < len(der); {
		k := min(chunk, len(der)-off)
		steps = append(steps, apdutest.Step{Command: fmt.Sprintf("00B0%04X", off) + le(k), Response: hex.EncodeToString(der[off:off+k]) + "9000"})
		off += k
	}
	return steps
}

func TestReadCertificateShortAPDUs(t *testing.T) {
	p := newTestPKI(t)
	der := p.leaf.Raw
	require.InDelta(t, 1900, len(der), 100, "the test certificate is about 1.9 KB")
	card := apdutest.NewCard(t, readScript(der, 256, 256)...)
	cert, err := ReadCertificate(context.Background(), card, EFAuthCertificate, ReadOptions{})
	require.NoError(t, err)
	assert.Equal(t, der, cert.Raw)
	// SELECT AP, SELECT EF, ceil(len/256) READs: every READ but the last
	// asks for 256 bytes, the last for exactly what is left.
	assert.Len(t, card.Sent(), 2+(len(der)+255)/256)
}

func TestReadCertificateExtendedOneRead(t *testing.T) {
	p := newTestPKI(t)
	der := p.leaf.Raw
	card := apdutest.NewCard(t,
		apdutest.Step{Command: selectAP, Response: "9000"},
		apdutest.Step{Command: selectA, Response: "9000"},
		// One extended READ of up to 4096 bytes: the card gives what the
		// EF holds (the certificate and its padding), end of file.
		apdutest.Step{Command: "00B00000001000", Response: hex.EncodeToString(der) + "0000" + "6282"},
	)
	cert, err := ReadCertificate(context.Background(), card, EFAuthCertificate, ReadOptions{MaxChunk: 4096})
	require.NoError(t, err)
	assert.Equal(t, der, cert.Raw)
}

func TestReadCertificateExtendedRefusedFallsBack(t *testing.T) {
	p := newTestPKI(t)
	der := p.leaf.Raw
	steps := readScript(der, 256, 256)
	// The first extended READ is refused with 6700; one short READ for
	// the header follows, then the rest in short READs.
	steps = append(steps[:2], append([]apdutest.Step{{Command: "00B00000001000", Response: "6700"}}, steps[2:]...)...)
	card := apdutest.NewCard(t, steps...)
	cert, err := ReadCertificate(context.Background(), card, EFAuthCertificate, ReadOptions{MaxChunk: 4096})
	require.NoError(t, err)
	assert.Equal(t, der, cert.Raw)
}

func TestReadCertificateRefusesBeforeReading(t *testing.T) {
	tests := []struct {
		name  string
		first string // answer to the first READ
		want  error
	}{
		// 30 82 13 88: 5004 bytes announced, 4096 allowed: one READ only.
		{"too large", "30821388" + strings.Repeat("00", 252) + "9000", ErrMalformed},
		{"not a SEQUENCE", "31820100" + strings.Repeat("00", 252) + "9000", ErrMalformed},
		{"indefinite length", "3080" + strings.Repeat("00", 254) + "9000", ErrMalformed},
		{"four length bytes", "308400000100" + strings.Repeat("00", 250) + "9000", ErrMalformed},
		{"empty EF", "9000", ErrMalformed},
		{"non-minimal length", "30810a" + strings.Repeat("00", 253) + "9000", ErrMalformed},
		{"security status", "6982", apdu.ErrSecurityStatusNotSatisfied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := []apdutest.Step{
				{Command: selectAP, Response: "9000"},
				{Command: selectA, Response: "9000"},
				{Command: "00B0000000", Response: tt.first},
			}
			if tt.want == apdu.ErrSecurityStatusNotSatisfied {
				// A refused certificate: the token is read to tell a
				// smartphone from a card.
				steps = append(steps, apdutest.Step{Command: "00A4020C020006", Response: "9000"},
					apdutest.Step{Command: "00B0000020", Response: hex.EncodeToString([]byte(tokenCard)) + "9000"})
			}
			card := apdutest.NewCard(t, steps...)
			_, err := ReadCertificate(context.Background(), card, EFAuthCertificate, ReadOptions{})
			require.ErrorIs(t, err, tt.want)
			if tt.name == "too large" {
				var se *SizeError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, 5004, se.Size)
				assert.Equal(t, DefaultMaxCertificateSize, se.Max)
			}
		})
	}
}

func TestReadCertificateTruncatedEF(t *testing.T) {
	// The header announces 600 bytes, the EF ends at 300: no loop, a
	// typed error after the READ that made no progress.
	head := "30820254" + strings.Repeat("00", 252)
	card := apdutest.NewCard(t,
		apdutest.Step{Command: selectAP, Response: "9000"},
		apdutest.Step{Command: selectA, Response: "9000"},
		apdutest.Step{Command: "00B0000000", Response: head + "9000"},
		apdutest.Step{Command: "00B0010000", Response: strings.Repeat("00", 44) + "6282"},
		apdutest.Step{Command: "00B0012C00", Response: "6282"},
	)
	_, err := ReadCertificate(context.Background(), card, EFAuthCertificate, ReadOptions{})
	require.ErrorIs(t, err, ErrMalformed)
	var ce *CertificateInvalidError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ReasonMalformed, ce.Reason)
}

func TestSmartphoneDetected(t *testing.T) {
	tok := hex.EncodeToString(append([]byte(tokenSmartphone), make([]byte, 17)...))
	card := apdutest.NewCard(t, apdutest.Script(t, `
		`+selectAP+` => 9000
		`+selectA+` => 9000
		00B0000000 => 6982
		00A4020C020006 => 9000
		00B0000020 => `+tok+` 9000
	`)...)
	_, err := ReadCertificate(context.Background(), card, EFAuthCertificate, ReadOptions{})
	require.ErrorIs(t, err, ErrSmartphone)
	require.ErrorIs(t, err, apdu.ErrSecurityStatusNotSatisfied)
}

func TestNotJPKI(t *testing.T) {
	card := apdutest.NewCard(t, apdutest.Step{Command: selectAP, Response: "6A82"})
	_, err := ReadCertificate(context.Background(), card, EFAuthCertificate, ReadOptions{})
	require.ErrorIs(t, err, ErrNotJPKI)
	require.ErrorIs(t, err, apdu.ErrFileNotFound)
}

func TestReadOptionsValidated(t *testing.T) {
	for _, o := range []ReadOptions{{MaxChunk: -1}, {MaxChunk: apdu.MaxExtendedNe + 1}, {MaxSize: 3}, {MaxSize: MaxCertificateSize + 1}} {
		_, err := Open(context.Background(), apdutest.NewCard(t), o)
		require.ErrorIs(t, err, ErrConfig, "%+v", o)
	}
}

func TestPINStatus(t *testing.T) {
	tests := []struct {
		sw   string
		want profile.PasswordStatus
		err  bool
	}{
		{"63C3", profile.PasswordStatus{Remaining: 3}, false},
		{"63C1", profile.PasswordStatus{Remaining: 1}, false},
		{"63C0", profile.PasswordStatus{Blocked: true}, false},
		{"6983", profile.PasswordStatus{Blocked: true}, false},
		{"9000", profile.PasswordStatus{Verified: true, Remaining: -1}, false},
		{"6A82", profile.PasswordStatus{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.sw, func(t *testing.T) {
			// VERIFY without data is case 1: 00 20 00 80, no Lc, no Le.
			card := apdutest.NewCard(t, apdutest.Script(t, `
				`+selectAP+` => 9000
				00A4020C020018 => 9000
				00200080 => `+tt.sw)...)
			st, err := PINStatus(context.Background(), card)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, st)
		})
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestVerifyPIN(t *testing.T) {
	ctx := context.Background()
	t.Run("format refused, nothing sent", func(t *testing.T) {
		for _, pin := range []string{"", "123", "12345", "12a4", "１２３４"} {
			card := apdutest.NewCard(t, apdutest.Step{Command: selectAP, Response: "9000"})
			err := VerifyPIN(ctx, card, profile.Password(pin), VerifyOptions{})
			require.ErrorIs(t, err, ErrPINFormat, pin)
		}
	})
	t.Run("wrong PIN, typed, not retried", func(t *testing.T) {
		card := apdutest.NewCard(t, apdutest.Script(t, `
			`+selectAP+` => 9000
			00A4020C020018 => 9000
			00200080 => 63C3
			0020008004 31323335 => 63C2`)...)
		err := VerifyPIN(ctx, card, profile.Password("1235"), VerifyOptions{})
		var pe *profile.PasswordError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, 2, pe.Remaining)
		var te *apdu.TriesError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 2, te.Remaining)
		assert.NotContains(t, err.Error(), "1235")
	})
	t.Run("last try refused", func(t *testing.T) {
		card := apdutest.NewCard(t, apdutest.Script(t, `
			`+selectAP+` => 9000
			00A4020C020018 => 9000
			00200080 => 63C1`)...)
		err := VerifyPIN(ctx, card, profile.Password("1234"), VerifyOptions{})
		require.ErrorIs(t, err, profile.ErrLastTry)
	})
	t.Run("last try allowed", func(t *testing.T) {
		card := apdutest.NewCard(t, apdutest.Script(t, `
			`+selectAP+` => 9000
			00A4020C020018 => 9000
			00200080 => 63C1
			0020008004 31323334 => 9000`)...)
		require.NoError(t, VerifyPIN(ctx, card, profile.Password("1234"), VerifyOptions{AllowLastTry: true}))
	})
	t.Run("blocked", func(t *testing.T) {
		card := apdutest.NewCard(t, apdutest.Script(t, `
			`+selectAP+` => 9000
			00A4020C020018 => 9000
			00200080 => 6983`)...)
		err := VerifyPIN(ctx, card, profile.Password("1234"), VerifyOptions{AllowLastTry: true})
		require.ErrorIs(t, err, apdu.ErrBlocked)
		var pe *profile.PasswordError
		require.ErrorAs(t, err, &pe)
		assert.True(t, pe.Blocked)
	})
}

// TestDigestInfoSHA256Vector checks the DigestInfo prefix against RFC 8017
// §9.2 note 1 and that the card's raw PKCS#1 v1.5 signature of it is the
// standard RSASSA-PKCS1-v1_5 signature with SHA-256.
func TestDigestInfoSHA256Vector(t *testing.T) {
	const rfc8017 = "30 31 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20" // RFC 8017 §9.2 note 1, SHA-256
	digest := sha256.Sum256([]byte("abc"))
	di, err := DigestInfoSHA256(digest[:])
	require.NoError(t, err)
	assert.Equal(t, mustHex(strings.ReplaceAll(rfc8017, " ", ""))[:19], di[:19])
	assert.Equal(t, digest[:], di[19:])
	// FIPS 180-2 example: SHA-256("abc").
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex.EncodeToString(digest[:]))

	key := testKeys()[1]
	raw, err := rsa.SignPKCS1v15(nil, key, crypto.Hash(0), di)
	require.NoError(t, err)
	std, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	require.NoError(t, err)
	assert.Equal(t, std, raw)

	_, err = DigestInfoSHA256(make([]byte, 20))
	require.ErrorIs(t, err, ErrConfig)
}

func TestSignAPDU(t *testing.T) {
	digest := sha256.Sum256([]byte("challenge"))
	di, _ := DigestInfoSHA256(digest[:])
	sig := strings.Repeat("5A", 256)
	card := apdutest.NewCard(t, apdutest.Script(t, `
		`+selectAP+` => 9000
		00A4020C020017 => 9000
		802A008033`+hex.EncodeToString(di)+`00 => `+sig+` 9000`)...)
	c, err := Open(context.Background(), card, ReadOptions{})
	require.NoError(t, err)
	got, err := c.SignDigest(context.Background(), digest[:])
	require.NoError(t, err)
	assert.Len(t, got, 256)

	short := apdutest.NewCard(t, apdutest.Script(t, `
		`+selectAP+` => 9000
		00A4020C020017 => 9000
		802A008033* => 0102 9000`)...)
	c, err = Open(context.Background(), short, ReadOptions{})
	require.NoError(t, err)
	_, err = c.SignDigest(context.Background(), digest[:])
	require.ErrorIs(t, err, ErrMalformed)
}

// lengthKnown is a transport that reports extended length as learned.
type lengthKnown struct {
	*apdutest.Card
	ls apdu.LengthSupport
}

func (l *lengthKnown) LengthSupport() *apdu.LengthSupport { return &l.ls }

// TestReadChunkFromLengthSupport: with MaxChunk 0, a transport that knows
// extended length gets through is read in one extended READ.
func TestReadChunkFromLengthSupport(t *testing.T) {
	p := newTestPKI(t)
	der := p.leaf.Raw
	card := &lengthKnown{Card: apdutest.NewCard(t,
		apdutest.Step{Command: selectAP, Response: "9000"},
		apdutest.Step{Command: selectA, Response: "9000"},
		apdutest.Step{Command: "00B00000001000", Response: hex.EncodeToString(der) + "6282"},
	)}
	card.ls.Store(apdu.Supported)
	cert, err := ReadCertificate(context.Background(), card, EFAuthCertificate, ReadOptions{})
	require.NoError(t, err)
	assert.Equal(t, der, cert.Raw)
}
