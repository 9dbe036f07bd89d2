package jpki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"sync"

	"github.com/mynacard/freespace/apdu"
)

// fakeCard is a minimal JPKI AP for the host tests, written from the
// public behaviour the package doc cites (until the strict mock card of
// package mockcard is available to these tests): SELECT by AID and by
// FID with P2 = 0C, READ BINARY, VERIFY with and without data, and the
// 80 2A signature after VERIFY.
type fakeCard struct {
	mu         sync.Mutex
	files      map[uint16][]byte
	key        *rsa.PrivateKey
	tries      int
	pin        string
	smartphone bool
	extended   bool            // accept extended-length APDUs
	eofSW      apdu.StatusWord // answer to a READ past the end (9000 or 6282)
	notJPKI    bool            // answer 6A82 to SELECT AP
	signWith   *rsa.PrivateKey // sign with another key (a forged card)
	apSelected bool
	ef         uint16
	verified   bool
	sent       [][]byte
	txDepth    int
	txCount    int
}

func newFakeCard(p *testPKI) *fakeCard {
	tok := make([]byte, 32)
	copy(tok, tokenCard)
	return &fakeCard{
		files: map[uint16][]byte{EFToken: tok, EFAuthCertificate: append(p.leaf.Raw, make([]byte, 100)...), EFAuthCACertificate: p.root.Raw},
		key:   p.cardKey, tries: 3, pin: "1234", eofSW: apdu.SWSuccess,
	}
}

func (c *fakeCard) WithTransaction(ctx context.Context, fn func(context.Context) error) error {
	c.mu.Lock()
	c.txDepth++
	c.txCount++
	c.mu.Unlock()
	defer func() { c.mu.Lock(); c.txDepth--; c.mu.Unlock() }()
	return fn(ctx)
}

func (c *fakeCard) Transmit(ctx context.Context, raw []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, bytes.Clone(raw))
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return sw(apdu.ErrWrongLength), nil
	}
	if cmd.IsExtended() && !c.extended {
		return sw(apdu.ErrWrongLength), nil
	}
	switch {
	case cmd.CLA == 0x00 && cmd.INS == apdu.InsSelect && cmd.P1 == 0x04 && cmd.P2 == 0x0C:
		if c.notJPKI || string(cmd.Data) != aid {
			return sw(apdu.ErrFileNotFound), nil
		}
		c.apSelected, c.ef = true, 0
		return sw(apdu.SWSuccess), nil
	case cmd.CLA == 0x00 && cmd.INS == apdu.InsSelect && cmd.P1 == 0x02 && cmd.P2 == 0x0C && len(cmd.Data) == 2:
		fid := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		if !c.apSelected {
			return sw(apdu.ErrFileNotFound), nil
		}
		if _, ok := c.files[fid]; !ok && fid != EFAuthPIN && fid != EFAuthKey {
			return sw(apdu.ErrFileNotFound), nil
		}
		c.ef = fid
		return sw(apdu.SWSuccess), nil
	case cmd.CLA == 0x00 && cmd.INS == apdu.InsReadBinary:
		f, ok := c.files[c.ef]
		if !ok {
			return sw(apdu.ErrCommandNotAllowedNoEF), nil
		}
		if c.smartphone && c.ef == EFAuthCertificate && !c.verified {
			return sw(apdu.ErrSecurityStatusNotSatisfied), nil
		}
		off := int(cmd.P1)<<8 | int(cmd.P2)
		if off > len(f) {
			return sw(apdu.ErrWrongP1P2), nil
		}
		n := min(cmd.Ne, len(f)-off)
		out := append(bytes.Clone(f[off:off+n]), 0, 0)
		s := apdu.SWSuccess
		if n < cmd.Ne {
			s = c.eofSW
		}
		out[n], out[n+1] = s.SW1(), s.SW2()
		return out, nil
	case cmd.CLA == 0x00 && cmd.INS == apdu.InsVerify && cmd.P1 == 0 && cmd.P2 == 0x80:
		if c.ef != EFAuthPIN {
			return sw(apdu.ErrCommandNotAllowedNoEF), nil
		}
		if c.tries == 0 {
			return sw(apdu.ErrAuthMethodBlocked), nil
		}
		if len(cmd.Data) == 0 {
			if c.verified {
				return sw(apdu.SWSuccess), nil
			}
			return sw(apdu.StatusWord(0x63C0 | c.tries)), nil
		}
		if string(cmd.Data) != c.pin {
			c.tries--
			c.verified = false
			return sw(apdu.StatusWord(0x63C0 | c.tries)), nil
		}
		c.tries, c.verified = 3, true
		return sw(apdu.SWSuccess), nil
	case cmd.CLA == 0x80 && cmd.INS == 0x2A && cmd.P1 == 0 && cmd.P2 == 0x80:
		if c.ef != EFAuthKey || !c.verified {
			return sw(apdu.ErrSecurityStatusNotSatisfied), nil
		}
		k := c.key
		if c.signWith != nil {
			k = c.signWith
		}
		sig, err := rsa.SignPKCS1v15(nil, k, crypto.Hash(0), cmd.Data)
		if err != nil {
			return sw(apdu.ErrIncorrectDataField), nil
		}
		return append(sig, 0x90, 0x00), nil
	}
	return sw(apdu.ErrINSNotSupported), nil
}

func sw(s apdu.StatusWord) []byte { return []byte{s.SW1(), s.SW2()} }
