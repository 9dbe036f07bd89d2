package mockcard

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	selJPKI       = "00A4040C0AD392F000260100000001"
	selAuthCert   = "00A4020C02000A"
	selAuthCACert = "00A4020C02000B"
	selSignCert   = "00A4020C020001"
	selSignCACert = "00A4020C020002"
	selToken      = "00A4020C020006"
	selAuthKey    = "00A4020C020017"
	selAuthPIN    = "00A4020C020018"
	selSignKey    = "00A4020C02001A"
	selSignPIN    = "00A4020C02001B"
	verifyStatus  = "00200080"
)

func newJPKICard(t testing.TB, cfg JPKI, opts ...Option) *Card {
	t.Helper()
	c, err := NewJPKI(cfg, opts...)
	require.NoError(t, err)
	return c
}

// verifyAPDU is VERIFY P2=80 with pin as ASCII.
func verifyAPDU(pin string) string {
	return fmt.Sprintf("00200080%02X%s", len(pin), hex.EncodeToString([]byte(pin)))
}

// signAPDU is 80 2A 00 80 Lc DigestInfo(SHA-256(msg)) 00.
func signAPDU(msg []byte) string {
	return fmt.Sprintf("802A0080%02X%s00", len(digestInfo(msg)), hex.EncodeToString(digestInfo(msg)))
}

func digestInfo(msg []byte) []byte {
	sum := sha256.Sum256(msg)
	prefix := mustHex("3031300d060960864801650304020105000420")
	return append(prefix, sum[:]...)
}

// readAll reads the selected EF in short chunks as a host that knows its
// length does: the first 4 bytes give the DER length (OpenSC's sizing).
func readCert(t *testing.T, c *Card) []byte {
	t.Helper()
	head := mustHex(tx(t, c, "00B0000004"))
	require.Equal(t, "9000", hex.EncodeToString(head[4:]))
	require.Equal(t, byte(0x30), head[0])
	require.Equal(t, byte(0x82), head[1])
	total := int(head[2])<<8 | int(head[3]) + 4
	var out []byte
	for off := 0; off < total; {
		n := min(total-off, 256)
		le := byte(n)
		resp := mustHex(tx(t, c, fmt.Sprintf("00B0%04X%02X", off, le)))
		require.Equal(t, "9000", strings.ToUpper(hex.EncodeToString(resp[len(resp)-2:])), "offset %d", off)
		out = append(out, resp[:len(resp)-2]...)
		off += len(resp) - 2
	}
	return out
}

// TestJPKIAuthFlow is the flow of docs/PROTOCOL.md chapter 10 against the
// default mock: the certificates read without a PIN, the PIN status without
// spending a try, VERIFY, SELECT of the key and a signature that verifies
// with the certificate's key.
func TestJPKIAuthFlow(t *testing.T) {
	pki := MustLoadJPKITestPKI()
	c := newJPKICard(t, JPKI{})
	assert.Equal(t, "9000", tx(t, c, selJPKI))
	assert.Equal(t, "9000", tx(t, c, selAuthCert))
	assert.Equal(t, pki.CardAuth.DER, readCert(t, c))
	assert.Equal(t, "9000", tx(t, c, selAuthCACert))
	assert.Equal(t, pki.AuthCA2023.DER, readCert(t, c))
	assert.Equal(t, "9000", tx(t, c, selSignCACert))
	assert.Equal(t, pki.SignCA2023.DER, readCert(t, c))

	assert.Equal(t, "9000", tx(t, c, selAuthPIN))
	for range 3 { // the status query never spends a try
		assert.Equal(t, "63C3", tx(t, c, verifyStatus))
	}
	assert.Equal(t, "9000", tx(t, c, verifyAPDU(JPKITestAuthPIN)))
	assert.Equal(t, "9000", tx(t, c, selAuthKey))
	challenge := []byte("fresh challenge of this tap")
	resp := mustHex(tx(t, c, signAPDU(challenge)))
	require.Len(t, resp, 258)
	assert.Equal(t, []byte{0x90, 0x00}, resp[256:])
	sum := sha256.Sum256(challenge)
	require.NoError(t, rsa.VerifyPKCS1v15(pki.CardAuth.Cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], resp[:256]))
	// The signing key is not usable with the auth PIN.
	assert.Equal(t, "9000", tx(t, c, selSignKey))
	assert.Equal(t, "6982", sw(tx(t, c, signAPDU(challenge))))
}

// TestJPKIAccessConditions: what needs which PIN, and the errors of the
// PIN-EF addressing and the signature command.
func TestJPKIAccessConditions(t *testing.T) {
	tests := []struct {
		name   string
		cfg    JPKI
		script []string // command, want SW (pairs)
	}{
		{"signing cert needs the signing PIN", JPKI{}, []string{
			selSignCert, "9000", "00B0000004", "6982",
			selSignPIN, "9000", verifyStatus, "63C5", verifyAPDU(JPKITestSignPIN), "9000",
			selSignCert, "9000", "00B0000004", "9000"}},
		{"auth PIN does not open the signing cert", JPKI{}, []string{
			selAuthPIN, "9000", verifyAPDU(JPKITestAuthPIN), "9000", selSignCert, "9000", "00B0000004", "6982"}},
		{"keys and PINs are not readable", JPKI{}, []string{
			selAuthKey, "9000", "00B0000001", "6982", selAuthPIN, "9000", "00B0000001", "6982",
			selSignKey, "9000", "00B0000001", "6982"}},
		{"nothing is writable", JPKI{}, []string{selAuthCert, "9000", "00D6000001FF", "6982"}},
		{"signature without PIN", JPKI{}, []string{selAuthKey, "9000", signAPDU([]byte("x")), "6982"}},
		{"signature with no EF selected", JPKI{}, []string{signAPDU([]byte("x")), "6986"}},
		{"signature on a certificate EF", JPKI{}, []string{selAuthCert, "9000", signAPDU([]byte("x")), "6A88"}},
		{"signature with Le 10", JPKI{}, []string{selAuthPIN, "9000", verifyAPDU("1234"), "9000", selAuthKey, "9000",
			"802A008033" + hex.EncodeToString(digestInfo([]byte("x"))) + "10", "6C00"}},
		{"signature without Le", JPKI{}, []string{selAuthPIN, "9000", verifyAPDU("1234"), "9000", selAuthKey, "9000",
			"802A008033" + hex.EncodeToString(digestInfo([]byte("x"))), "6700"}},
		{"signature data too long", JPKI{}, []string{selAuthPIN, "9000", verifyAPDU("1234"), "9000", selAuthKey, "9000",
			"802A0080F6" + strings.Repeat("00", 246) + "00", "6700"}},
		{"signature bad P1-P2", JPKI{}, []string{"802A009E01AA00", "6A86"}},
		{"other proprietary INS", JPKI{}, []string{"80B0000004", "6D00"}},
		{"VERIFY on a non-PIN EF", JPKI{}, []string{selAuthCert, "9000", verifyStatus, "6A88"}},
		{"VERIFY with no EF", JPKI{}, []string{verifyStatus, "6986"}},
		{"VERIFY with a reference, not 80", JPKI{}, []string{selAuthPIN, "9000", "0020001804" + hex.EncodeToString([]byte("1234")), "6A86"}},
		{"auth PIN not digits: no try spent", JPKI{}, []string{selAuthPIN, "9000", verifyAPDU("12A4"), "6A80", verifyStatus, "63C3"}},
		{"auth PIN of 5 digits", JPKI{}, []string{selAuthPIN, "9000", verifyAPDU("12345"), "6A80", verifyStatus, "63C3"}},
		{"signing PIN lower case", JPKI{}, []string{selSignPIN, "9000", verifyAPDU("testsign1"), "6A80", verifyStatus, "63C5"}},
		{"smartphone: auth cert needs the PIN", JPKI{Smartphone: true}, []string{
			selAuthCert, "9000", "00B0000004", "6982",
			selAuthPIN, "9000", verifyAPDU("1234"), "9000", selAuthCert, "9000", "00B0000004", "9000"}},
		{"selecting the AP again drops the PIN", JPKI{}, []string{
			selAuthPIN, "9000", verifyAPDU("1234"), "9000", selJPKI, "9000", selAuthKey, "9000", signAPDU([]byte("x")), "6982"}},
		{"CHANGE with P1 01 needs the PIN verified", JPKI{}, []string{
			selAuthPIN, "9000", "0024018004" + hex.EncodeToString([]byte("4321")), "6982",
			verifyAPDU("1234"), "9000", "0024018004" + hex.EncodeToString([]byte("43X1")), "6A80",
			"0024018004" + hex.EncodeToString([]byte("4321")), "9000", selJPKI, "9000", selAuthPIN, "9000",
			verifyAPDU("1234"), "63C2", verifyAPDU("4321"), "9000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newJPKICard(t, tc.cfg)
			require.Equal(t, "9000", tx(t, c, selJPKI))
			for i := 0; i < len(tc.script); i += 2 {
				assert.Equal(t, tc.script[i+1], sw(tx(t, c, tc.script[i])), "step %d: %s", i/2, tc.script[i])
			}
		})
	}
}

// TestJPKIPINBlocking: 3 wrong auth PINs block it (63C2, 63C1, 63C0, then
// 6983 even for the right PIN and the status query); 5 for the signing PIN.
// A right PIN before the limit restores the counter.
func TestJPKIPINBlocking(t *testing.T) {
	for _, tc := range []struct {
		sel, wrong, right string
		tries             int
	}{
		{selAuthPIN, "0000", JPKITestAuthPIN, JPKIAuthPINTries},
		{selSignPIN, "WRONG1", JPKITestSignPIN, JPKISignPINTries},
	} {
		t.Run(tc.sel, func(t *testing.T) {
			c := newJPKICard(t, JPKI{})
			tx(t, c, selJPKI)
			tx(t, c, tc.sel)
			assert.Equal(t, fmt.Sprintf("63C%X", tc.tries-1), tx(t, c, verifyAPDU(tc.wrong)))
			assert.Equal(t, "9000", tx(t, c, verifyAPDU(tc.right)))
			assert.Equal(t, "9000", tx(t, c, verifyStatus), "verified")
			tx(t, c, selJPKI)
			tx(t, c, tc.sel)
			assert.Equal(t, fmt.Sprintf("63C%X", tc.tries), tx(t, c, verifyStatus), "counter restored")
			for left := tc.tries - 1; left >= 0; left-- {
				assert.Equal(t, fmt.Sprintf("63C%X", left), tx(t, c, verifyAPDU(tc.wrong)))
			}
			assert.Equal(t, "6983", tx(t, c, verifyAPDU(tc.right)))
			assert.Equal(t, "6983", tx(t, c, verifyStatus))
			n, err := c.PINTriesLeft(JPKIAID(), byte(mustHex(tc.sel[len(tc.sel)-4:])[1]))
			require.NoError(t, err)
			assert.Zero(t, n)
		})
	}
}

// TestJPKIToken: EF 0006 names the medium in its first 32 bytes
// (space-padded), 160 bytes in all.
func TestJPKIToken(t *testing.T) {
	for _, tc := range []struct {
		cfg  JPKI
		want string
	}{{JPKI{}, JPKITokenCard}, {JPKI{Smartphone: true}, JPKITokenSmartphone}} {
		c := newJPKICard(t, tc.cfg)
		tx(t, c, selJPKI)
		tx(t, c, selToken)
		resp := mustHex(tx(t, c, "00B0000020"))
		require.Len(t, resp, 34)
		assert.Equal(t, tc.want, strings.TrimRight(string(resp[:32]), " "))
		all, err := c.ReadEF(JPKIAID(), JPKIFIDToken)
		require.NoError(t, err)
		assert.Len(t, all, jpkiTokenLen)
	}
}

// TestJPKIConfig: the configuration is checked before the card exists.
func TestJPKIConfig(t *testing.T) {
	pki := MustLoadJPKITestPKI()
	small, err := rsa.GenerateKey(nopReader{}, 1024)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		cfg  JPKI
	}{
		{"auth PIN letters", JPKI{AuthPIN: []byte("12AB")}},
		{"auth PIN 6 digits", JPKI{AuthPIN: []byte("123456")}},
		{"sign PIN short", JPKI{SignPIN: []byte("AB12")}},
		{"sign PIN lower case", JPKI{SignPIN: []byte("abcdef")}},
		{"cert without key", JPKI{AuthCert: pki.Card2Auth.DER}},
		{"key without cert", JPKI{SignKey: pki.CardSign.Key}},
		{"1024-bit key", JPKI{AuthCert: pki.Card2Auth.DER, AuthKey: small}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewJPKI(tc.cfg)
			require.ErrorIs(t, err, ErrConfig)
		})
	}
	// Two JPKI APs: a configuration error; a pre-installed placeholder is
	// replaced in either option order.
	_, err = New(WithJPKI(JPKI{}), WithJPKI(JPKI{}))
	require.ErrorIs(t, err, ErrConfig)
	for _, opts := range [][]Option{{WithPreinstalledAPs(), WithJPKI(JPKI{})}, {WithJPKI(JPKI{}), WithPreinstalledAPs()}} {
		c, err := New(opts...)
		require.NoError(t, err)
		implemented := 0
		for _, p := range PreinstalledAPs() {
			if p.Implemented() {
				implemented++
			}
		}
		assert.Len(t, c.AIDs(), implemented, "only the pre-installed APs the mock implements are on the card")
		tx(t, c, selJPKI)
		assert.Equal(t, "9000", tx(t, c, selAuthCert))
		assert.Equal(t, "9000", sw(tx(t, c, "00B0000004")))
	}
	// A custom certificate and key are what the card serves and signs with.
	c := newJPKICard(t, JPKI{AuthCert: pki.Card2Auth.DER, AuthKey: pki.Card2Auth.Key, AuthPIN: []byte("9876")})
	tx(t, c, selJPKI)
	tx(t, c, selAuthCert)
	assert.Equal(t, pki.Card2Auth.DER, readCert(t, c))
	tx(t, c, selAuthPIN)
	assert.Equal(t, "9000", tx(t, c, verifyAPDU("9876")))
	tx(t, c, selAuthKey)
	resp := mustHex(tx(t, c, signAPDU([]byte("m"))))
	sum := sha256.Sum256([]byte("m"))
	require.NoError(t, rsa.VerifyPKCS1v15(&pki.Card2Auth.Key.PublicKey, crypto.SHA256, sum[:], resp[:256]))
}

// nopReader is an io.Reader for rsa.GenerateKey, which ignores it.
type nopReader struct{}

func (nopReader) Read(p []byte) (int, error) { return len(p), nil }

// TestJPKIStateRoundTrip: Save/Load and Clone keep the JPKI AP whole: its
// files, PIN counters, keys (signatures still verify) and mode.
func TestJPKIStateRoundTrip(t *testing.T) {
	pki := MustLoadJPKITestPKI()
	c := newJPKICard(t, JPKI{Smartphone: true})
	tx(t, c, selJPKI)
	tx(t, c, selAuthPIN)
	require.Equal(t, "63C2", tx(t, c, verifyAPDU("0000")))
	path := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, c.Save(path))
	loaded, err := Load(path)
	require.NoError(t, err)
	clone, err := c.Clone()
	require.NoError(t, err)
	for name, d := range map[string]*Card{"loaded": loaded, "clone": clone} {
		t.Run(name, func(t *testing.T) {
			tx(t, d, selJPKI)
			tx(t, d, selAuthCert)
			assert.Equal(t, "6982", sw(tx(t, d, "00B0000004")), "smartphone mode kept")
			tx(t, d, selAuthPIN)
			assert.Equal(t, "63C2", tx(t, d, verifyStatus), "counter kept")
			assert.Equal(t, "9000", tx(t, d, verifyAPDU("1234")))
			tx(t, d, selAuthKey)
			resp := mustHex(tx(t, d, signAPDU([]byte("after load"))))
			sum := sha256.Sum256([]byte("after load"))
			require.NoError(t, rsa.VerifyPKCS1v15(&pki.CardAuth.Key.PublicKey, crypto.SHA256, sum[:], resp[:256]))
		})
	}
}

// TestJPKIWithoutExtendedLength: a reader without extended length still
// serves the whole flow with short APDUs (the 256-byte signature fits a
// short response).
func TestJPKIWithoutExtendedLength(t *testing.T) {
	c := newJPKICard(t, JPKI{}, WithExtendedLength(false))
	tx(t, c, selJPKI)
	tx(t, c, selAuthCert)
	assert.Equal(t, "6700", tx(t, c, "00B00000000000"), "extended Le refused")
	assert.Equal(t, MustLoadJPKITestPKI().CardAuth.DER, readCert(t, c))
	tx(t, c, selAuthPIN)
	tx(t, c, verifyAPDU("1234"))
	tx(t, c, selAuthKey)
	resp := tx(t, c, signAPDU([]byte("x")))
	assert.Equal(t, "9000", sw(resp))
	assert.Len(t, resp, 2*258)
}

// TestJPKIReadWholeWithExtendedLength: with extended length one READ
// BINARY returns the whole certificate.
func TestJPKIReadWholeWithExtendedLength(t *testing.T) {
	c := newJPKICard(t, JPKI{})
	tx(t, c, selJPKI)
	tx(t, c, selAuthCert)
	resp, err := c.Transmit(context.Background(), mustHex("00B00000000000"))
	require.NoError(t, err)
	require.True(t, bytes.HasSuffix(resp, []byte{0x90, 0x00}))
	assert.Equal(t, MustLoadJPKITestPKI().CardAuth.DER, resp[:len(resp)-2])
}

// TestJPKIBehindReaderWithoutExtendedLength: the JPKI flow of a host that
// prefers extended length (one READ BINARY for the whole certificate),
// through apdu.Channel, behind a reader without it: the first extended
// READ BINARY is refused and resent short, the rest of the certificate
// comes in 256-byte chunks, and the signature (256 bytes) fits a short
// response.
func TestJPKIBehindReaderWithoutExtendedLength(t *testing.T) {
	pki := MustLoadJPKITestPKI()
	ctx := context.Background()
	for _, mode := range []ShortReader{ShortReaderWrongLength, ShortReaderTransmitError} {
		t.Run(mode.String(), func(t *testing.T) {
			card := newJPKICard(t, JPKI{}, WithShortReader(mode))
			ch := apdu.NewChannel(card, apdu.ChannelConfig{ExtendedLength: true})
			do := func(cmd apdu.Command) []byte {
				t.Helper()
				b, err := ch.Do(ctx, cmd)
				require.NoError(t, err)
				return b
			}
			do(apdu.Command{INS: apdu.InsSelect, P1: 0x04, P2: 0x0C, Data: JPKIAID()})
			do(apdu.Command{INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{0x00, 0x0A}})
			head := do(apdu.Command{INS: apdu.InsReadBinary, Ne: 4})
			total := int(head[2])<<8 | int(head[3]) + 4
			cert := head
			reads := 0
			for len(cert) < total {
				off := len(cert)
				n := total - off
				if !ch.ExtendedLength() {
					n = min(n, apdu.MaxShortNe)
				}
				cert = append(cert, do(apdu.Command{INS: apdu.InsReadBinary, P1: byte(off >> 8), P2: byte(off), Ne: n})...)
				reads++
			}
			assert.Equal(t, pki.CardAuth.DER, cert)
			assert.Equal(t, apdu.Unsupported, ch.LengthSupport().Load())
			assert.Equal(t, 8, reads, "1892 bytes in 256-byte chunks")
			do(apdu.Command{INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{0x00, 0x18}})
			do(apdu.Command{INS: apdu.InsVerify, P2: 0x80, Data: []byte(JPKITestAuthPIN)})
			do(apdu.Command{INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{0x00, 0x17}})
			sig := do(apdu.Command{CLA: 0x80, INS: 0x2A, P2: 0x80, Data: digestInfo([]byte("tap")), Ne: 256})
			sum := sha256.Sum256([]byte("tap"))
			require.NoError(t, rsa.VerifyPKCS1v15(&pki.CardAuth.Key.PublicKey, crypto.SHA256, sum[:], sig))
		})
	}
}

// TestJPKIWithMyNumberCardATR: the ATR is the card's configuration, not
// the AP's; the JPKI AP answers the same behind any ATR.
func TestJPKIWithMyNumberCardATR(t *testing.T) {
	c := newJPKICard(t, JPKI{}, WithATR(MyNumberCardATR()))
	assert.Equal(t, []byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14}, c.ATR())
	var x byte
	for _, b := range c.ATR()[1:] {
		x ^= b
	}
	assert.Zero(t, x, "TCK")
	assert.Equal(t, "9000", tx(t, c, selJPKI))
}

// TestJPKISecretsNeverPrint: the configuration and the test PKI hold RSA
// private keys and PINs; no fmt verb prints them.
func TestJPKISecretsNeverPrint(t *testing.T) {
	pki := MustLoadJPKITestPKI()
	cfg := JPKI{AuthCert: pki.CardAuth.DER, AuthKey: pki.CardAuth.Key, AuthPIN: []byte("4821"), SignPIN: []byte("SECRETPIN9")}
	secrets := []string{pki.CardAuth.Key.D.String(), pki.CardAuth.Key.Primes[0].String(), "4821", "SECRETPIN9"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{cfg, &cfg, pki, *pki, pki.CardAuth, NewJPKIMust(t, cfg)} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				assert.NotContains(t, out, s, "%s of %T", verb, v)
			}
		}
	}
}

// NewJPKIMust is NewJPKI for the test above.
func NewJPKIMust(t *testing.T, cfg JPKI) *Card {
	t.Helper()
	c, err := NewJPKI(cfg)
	require.NoError(t, err)
	return c
}
