package jpki

import (
	"context"
	"errors"
	"testing"

	"github.com/mynacard/freespace/apdu"
)

// FuzzDERLength: the DER header parser never panics and never announces
// a length shorter than the header it read.
func FuzzDERLength(f *testing.F) {
	for _, s := range [][]byte{
		{}, {0x30}, {0x30, 0x00}, {0x30, 0x7F}, {0x30, 0x80}, {0x30, 0x81, 0x80}, {0x30, 0x81, 0x7F},
		{0x30, 0x82, 0x07, 0x6C}, {0x30, 0x83, 0x01, 0x00, 0x00}, {0x30, 0x84, 0, 0, 1, 0}, {0x31, 0x03},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := derLength(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n < 2 || n > 2+3+0xFFFFFF {
			t.Fatalf("length %d", n)
		}
	})
}

// FuzzParseToken: any token bytes give a printable string or ErrMalformed.
func FuzzParseToken(f *testing.F) {
	f.Add([]byte("JPKIAPICCTOKEN\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("JPKIAPGPSETOKEN\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte{0xFF, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseToken(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, r := range []byte(s) {
			if r < 0x20 || r > 0x7E {
				t.Fatalf("unprintable %q", s)
			}
		}
	})
}

// FuzzReadCertificate: a card whose certificate EF holds any bytes, and
// answers past its end with any status word, gives a certificate or a
// typed error, in a bounded number of APDUs, never a panic.
func FuzzReadCertificate(f *testing.F) {
	p := newTestPKI(f)
	f.Add(p.leaf.Raw, uint16(0x9000), 256)
	f.Add(p.leaf.Raw[:300], uint16(0x6282), 4096)
	f.Add([]byte{0x30, 0x82, 0x7F, 0xFF}, uint16(0x6B00), 256)
	f.Add([]byte{0x30, 0x82, 0x01, 0x00, 0x01}, uint16(0x6700), 1000)
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00}, uint16(0x9000), 256)
	f.Fuzz(func(t *testing.T, ef []byte, eof uint16, chunk int) {
		if chunk < 1 || chunk > apdu.MaxExtendedNe {
			chunk = 256
		}
		card := newFakeCard(p)
		card.files[EFAuthCertificate] = ef
		card.eofSW = apdu.StatusWord(eof)
		card.extended = chunk > 256
		cert, err := ReadCertificate(context.Background(), card, EFAuthCertificate, ReadOptions{MaxChunk: chunk})
		if err == nil && cert == nil {
			t.Fatal("no certificate and no error")
		}
		if max := 3 + 2*(DefaultMaxCertificateSize/min(chunk, 256)+1); len(card.sent) > max {
			t.Fatalf("%d APDUs, bound %d", len(card.sent), max)
		}
	})
}

// FuzzPINStatus: any status word answers a status or an error.
func FuzzPINStatus(f *testing.F) {
	for _, s := range []uint16{0x9000, 0x63C3, 0x63C0, 0x6983, 0x6984, 0x6A82, 0x63CF, 0x6300} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sw uint16) {
		st, err := pinStatusOf(apdu.StatusWord(sw))
		if err != nil {
			return
		}
		if st.Remaining < -1 || st.Remaining > 15 || (st.Blocked && st.Remaining != 0) {
			t.Fatalf("status %+v from %04X", st, sw)
		}
	})
}
