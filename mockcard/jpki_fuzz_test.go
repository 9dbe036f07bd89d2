package mockcard

import (
	"context"
	"errors"
	"testing"

	"github.com/mynacard/freespace/apdu"
)

// FuzzJPKI feeds arbitrary command sequences to a card with the JPKI AP
// (as FuzzTransmit does for the generic AP): never a panic, every answer
// at least a status word, and the only errors a removal or the short
// reader's refusal. The first byte picks the modes: smartphone, reader
// without extended length (6700 or a transmit error), GET RESPONSE.
func FuzzJPKI(f *testing.F) {
	pki := MustLoadJPKITestPKI()
	cfg := JPKI{AuthCert: pki.CardAuth.DER, AuthKey: pki.CardAuth.Key, AuthCACert: pki.AuthCA2023.DER,
		SignCert: pki.CardSign.DER, SignKey: pki.CardSign.Key, SignCACert: pki.SignCA2023.DER}
	seq := func(mode byte, cmds ...string) []byte {
		out := []byte{mode}
		for _, c := range cmds {
			b := mustHex(c)
			out = append(out, byte(len(b)))
			out = append(out, b...)
		}
		return out
	}
	f.Add(seq(0, selJPKI, selAuthCert, "00B0000004", "00B00004FF"))
	f.Add(seq(0, selJPKI, selAuthPIN, verifyStatus, verifyAPDU("1234"), selAuthKey, signAPDU([]byte("x"))))
	f.Add(seq(1, selJPKI, selSignPIN, verifyAPDU("TESTSIGN1"), selSignCert, "00B0000000", "0024018006414243313233"))
	f.Add(seq(2, selJPKI, selAuthCert, "00B00000000000", selToken, "00B0000020"))
	f.Add(seq(4, selJPKI, selAuthCert, "00B00000000000"))
	f.Add(seq(8, selJPKI, selAuthCert, "00B0000000", "00C0000000"))
	f.Add(seq(0, selJPKI, "802A0080", "902A008001AA00", "80B0000001", "0020008000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		mode := data[0]
		c := cfg
		c.Smartphone = mode&1 != 0
		opts := []Option{WithJPKI(c)}
		switch {
		case mode&2 != 0:
			opts = append(opts, WithShortReader(ShortReaderWrongLength))
		case mode&4 != 0:
			opts = append(opts, WithShortReader(ShortReaderTransmitError))
		}
		if mode&8 != 0 {
			opts = append(opts, WithGetResponse(16))
		}
		card, err := New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		rest := data[1:]
		for len(rest) > 0 {
			n := min(int(rest[0]), len(rest)-1)
			cmd := rest[1 : 1+n]
			rest = rest[1+n:]
			resp, err := card.Transmit(context.Background(), cmd)
			if err != nil {
				if !errors.Is(err, apdu.ErrCardRemoved) && !errors.Is(err, ErrExtendedLengthRefused) {
					t.Fatalf("untyped error %v", err)
				}
				continue
			}
			if len(resp) < 2 {
				t.Fatalf("response %X shorter than a status word", resp)
			}
		}
	})
}
