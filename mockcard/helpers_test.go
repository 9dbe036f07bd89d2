package mockcard

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/stretchr/testify/require"
)

// testAID is the AID of the test AP.
var testAID = profile.AID{0xF0, 0x01, 0x02, 0x03, 0x04, 0x05}

// otherAID is a second, empty AP.
var otherAID = profile.AID{0xF0, 0x0A, 0x0B, 0x0C, 0x0D}

var (
	testKey1Enc = mustHex("000102030405060708090A0B0C0D0E0F")
	testKey1Mac = mustHex("101112131415161718191A1B1C1D1E1F")
	testKey2Enc = mustHex("202122232425262728292A2B2C2D2E2F")
	testKey2Mac = mustHex("303132333435363738393A3B3C3D3E3F")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// testSpec is a generic AP exercising every access condition:
//
//	PIN 81 "1234" (3 tries); key 01 (AES-128) user, key 02 (AES-128) admin
//	EF 0101 SFI 1 transparent 64: "hello"; read always, update PIN 81
//	EF 0102 SFI 2 records 3x16: "r1","r2"; read PIN 81, update key 01+SM, append always
//	EF 0103 SFI 3 transparent 300: 300 bytes; read key 01 + SM; update never
//	EF 0104 transparent 8: read never
//
// Personalization allows updating 0101 always; seal needs key 02.
func testSpec() APSpec {
	big := make([]byte, 300)
	for i := range big {
		big[i] = byte(i)
	}
	return APSpec{
		Name: "test", AID: testAID, Lifecycle: Operational,
		PINs: []PINSpec{{Ref: 0x81, Value: profile.Password("1234")}},
		Keys: []KeySpec{
			{Ref: 0x01, Suite: "AES-128", Enc: mustKey(testKey1Enc), Mac: mustKey(testKey1Mac)},
			{Ref: 0x02, Suite: "AES-128", Enc: mustKey(testKey2Enc), Mac: mustKey(testKey2Mac), MaxFailures: 2},
		},
		Seal:     Authenticated(0x02),
		AdminKey: 0x02,
		EFs: []EFSpec{
			{FID: 0x0101, SFI: 1, Kind: Transparent, MaxSize: 64, Data: []byte("hello"),
				Personalization: Access{Read: Always(), Update: Always(), Append: Never()},
				Operational:     Access{Read: Always(), Update: PINVerified(0x81), Append: Never()}},
			{FID: 0x0102, SFI: 2, Kind: LinearRecords, MaxRecords: 3, MaxRecordLen: 16, Records: [][]byte{[]byte("r1"), []byte("r2")},
				Personalization: Access{Read: Always(), Update: Always(), Append: Always()},
				Operational:     Access{Read: PINVerified(0x81), Update: AllOf(Authenticated(0x01), SecureMessaging()), Append: Always()}},
			{FID: 0x0103, SFI: 3, Kind: Transparent, MaxSize: 300, Data: big,
				Personalization: Access{Read: Always(), Update: Always(), Append: Never()},
				Operational:     Access{Read: AllOf(Authenticated(0x01), SecureMessaging()), Update: Never(), Append: Never()}},
			{FID: 0x0104, Kind: Transparent, MaxSize: 8, Data: []byte{1},
				Personalization: Access{Read: Never(), Update: Always()},
				Operational:     Access{Read: Never(), Update: Never()}},
		},
	}
}

func newTestCard(t testing.TB, opts ...Option) *Card {
	t.Helper()
	c, err := New(append([]Option{WithAP(testSpec()), WithAP(APSpec{Name: "other", AID: otherAID})}, opts...)...)
	require.NoError(t, err)
	return c
}

// tx sends a hex command and returns the response in upper-case hex.
func tx(t testing.TB, c *Card, cmd string) string {
	t.Helper()
	resp, err := c.Transmit(context.Background(), mustHex(cmd))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(resp), 2)
	return strings.ToUpper(hex.EncodeToString(resp))
}

// sw returns the last four hex digits of a response.
func sw(resp string) string { return resp[len(resp)-4:] }

const (
	selTest  = "00A4040C06F00102030405"
	selOther = "00A4040C05F00A0B0C0D"
)

// mustKey makes key bytes a keys.Key (the card uses only the bytes; AES
// accepts every length of the suites).
func mustKey(b []byte) keys.Key {
	k, err := keys.NewKey(keys.AES, b)
	if err != nil {
		panic(err)
	}
	return k
}
