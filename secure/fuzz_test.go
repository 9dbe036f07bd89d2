package secure

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mynacard/freespace/apdu"
)

// icaoCore returns an SM core in the state of ICAO Doc 9303 part 11
// Appendix D.4 after the protected SELECT was sent (SSC ...27).
func icaoCore(t testing.TB) *smCore {
	core, err := newSMCore(TDES, SessionKeys{Enc: h(icaoKSEnc), MAC: h(icaoKSMac), SSC: h(icaoSSC)})
	if err != nil {
		t.Fatal(err)
	}
	return core
}

// FuzzUnwrapResponse feeds arbitrary bytes to the host's response check:
// it must never panic, and anything it accepts must carry a MAC that
// verifies, i.e. only the genuine response may pass.
func FuzzUnwrapResponse(f *testing.F) {
	for _, c := range icaoSM {
		f.Add(h(c.wireResp))
	}
	f.Add([]byte{0x90, 0x00})
	f.Add([]byte{0x69, 0x88})
	f.Add([]byte{0x87, 0x82, 0xFF, 0xFF, 0x90, 0x00})
	f.Add([]byte{0x99, 0x02, 0x90, 0x00, 0x8E, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00})
	f.Add([]byte{0x87, 0x81})
	f.Fuzz(func(t *testing.T, raw []byte) {
		core := icaoCore(t)
		core.incSSC() // the SELECT command
		plain, err := core.unwrapResponse(nil, raw)
		if err == nil {
			if !bytes.Equal(raw, h(icaoSM[0].wireResp)) {
				t.Fatalf("accepted a forged response %X → %X", raw, plain)
			}
			return
		}
		if plain != nil {
			t.Fatalf("error %v with output", err)
		}
		known := []error{ErrResponseMAC, ErrResponseMalformed, ErrResponseUnprotected, ErrStatusMismatch, ErrCardRejectedSM}
		for _, k := range known {
			if errors.Is(err, k) {
				return
			}
		}
		t.Fatalf("untyped error %v", err)
	})
}

// FuzzParseAuthResponse feeds arbitrary MUTUAL AUTHENTICATE answers to the
// host's check (ICAO Appendix D.3 keys and nonces).
func FuzzParseAuthResponse(f *testing.F) {
	f.Add(h(icaoAnswer))
	f.Add([]byte{})
	f.Add(make([]byte, 40))
	f.Add(h(icaoEIFD + icaoMIFD))
	f.Fuzz(func(t *testing.T, resp []byte) {
		cr, err := TDES.newCrypto(h(icaoKEnc), h(icaoKMac))
		if err != nil {
			t.Fatal(err)
		}
		k, err := parseAuthResponse(cr, 32, resp, h(icaoRndIFD), h(icaoRndICC))
		if err == nil {
			if !bytes.Equal(resp, h(icaoAnswer)) || !bytes.Equal(k, h(icaoKICC)) {
				t.Fatalf("accepted %X", resp)
			}
			return
		}
		if !errors.Is(err, ErrCardCryptogram) && !errors.Is(err, ErrNonceMismatch) && !errors.Is(err, apdu.ErrMalformedResponse) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzUnwrapCommand feeds arbitrary command APDUs to the card side: no
// panic, every error wraps the status word to answer, and only the genuine
// protected SELECT is accepted.
func FuzzUnwrapCommand(f *testing.F) {
	for _, c := range icaoSM {
		f.Add(h(c.wire))
	}
	f.Add([]byte{0x0C, 0xB0, 0x00, 0x00})
	f.Add([]byte{0x0C, 0xB0, 0x00, 0x00, 0x03, 0x97, 0x01, 0x00})
	f.Add([]byte{0x0C, 0xD7, 0x00, 0x00, 0x0A, 0x85, 0x00, 0x8E, 0x06, 1, 2, 3, 4, 5, 6})
	f.Add([]byte{0x00, 0xA4, 0x04, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		core := icaoCore(t)
		c, err := core.unwrapCommand(raw)
		if err == nil {
			// Only the genuine header and data objects may pass; the outer
			// Le is not covered by the MAC (ICAO Doc 9303 part 11 §9.8.4).
			got, _ := apdu.ParseCommand(raw)
			want, _ := apdu.ParseCommand(h(icaoSM[0].wire))
			if got.CLA != want.CLA || got.INS != want.INS || got.P1 != want.P1 || got.P2 != want.P2 || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("accepted a forged command %X → %+v", raw, c)
			}
			return
		}
		var sw apdu.StatusWord
		if !errors.As(err, &sw) || (sw != apdu.ErrSMDataObjectsMissing && sw != apdu.ErrSMDataObjectsIncorrect) {
			t.Fatalf("error without 6987/6988: %v", err)
		}
	})
}

// FuzzRoundTrip wraps arbitrary commands and responses with both sides of
// a session and checks they come back unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add(byte(0x00), byte(0xB0), []byte(nil), 4, []byte{1, 2, 3, 4}, uint16(0x9000), byte(1))
	f.Add(byte(0x01), byte(0xD7), []byte{0x53, 0x01, 0xAA}, 0, []byte(nil), uint16(0x6A82), byte(0))
	f.Fuzz(func(t *testing.T, cla, ins byte, data []byte, ne int, rdata []byte, sw uint16, suite byte) {
		s := allSuites[int(suite)%len(allSuites)]
		if ne < 0 || ne > apdu.MaxExtendedNe || len(data) > 4096 || len(rdata) > 4096 {
			return
		}
		k := SessionKeys{Enc: bytes.Repeat([]byte{3}, s.KeyLen()), MAC: bytes.Repeat([]byte{4}, s.KeyLen()), SSC: make([]byte, s.SSCLen())}
		host, _ := newSMCore(s, k)
		card, _ := newSMCore(s, k)
		cmd := apdu.Command{CLA: cla, INS: apdu.Ins(ins), Data: data, Ne: ne}
		wire, err := host.wrapCommand(cmd)
		if err != nil {
			return // invalid CLA or command
		}
		in, err := card.unwrapCommand(wire)
		if err != nil {
			t.Fatalf("card rejects the host's command: %v", err)
		}
		if in.CLA != cla || in.INS != apdu.Ins(ins) || !bytes.Equal(in.Data, data) || in.Ne != ne {
			t.Fatalf("command changed: %+v vs %+v", in, cmd)
		}
		resp := card.wrapResponse(apdu.Response{Data: rdata, SW: apdu.StatusWord(sw)})
		plain, err := host.unwrapResponse(nil, resp)
		if err != nil {
			t.Fatalf("host rejects the card's response: %v", err)
		}
		if !bytes.Equal(plain, append(append([]byte(nil), rdata...), byte(sw>>8), byte(sw))) {
			t.Fatalf("response changed")
		}
	})
}
