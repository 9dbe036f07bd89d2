package typec

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/profile"
)

// efCard is a minimal Type C card for the tests of this package that need
// full control over the bytes of the EFs (hostile content, fuzzing). The
// strict card of the project is mockcard; this one exists so the parser
// path can be driven with any EF content, including content mockcard would
// refuse to store.
//
// READ BINARY with P1 = 100xxxxx reads the EF whose short EF identifier is
// xxxxx (sfis) at offset P2 and makes it current (ISO/IEC 7816-4 §11.3.3).
// Two switches make it a card without that support: sfiSW answers every
// such read with one status word, and legacy makes the card ignore P1 bit
// 8 the way a card built without short EF identifiers does (P1-P2 is then
// an offset of 32768 or more: 6986 without a current EF, 6B00 with one).
type efCard struct {
	aid      profile.AID
	files    map[uint16][]byte
	sfis     map[byte]uint16 // short EF identifier -> file identifier
	sfiSW    apdu.StatusWord // not 0: the answer to every read by SFI
	legacy   bool            // P1 bit 8 is part of the offset
	selected int             // 0 nothing, 1 AP, 2 EF
	ef       []byte
	apdus    int
	sent     [][]byte
}

func newEFCard(cuid, identity []byte) *efCard {
	return &efCard{
		aid:   profile.DefaultAID(profile.TypeC),
		files: map[uint16][]byte{profile.FIDCUID: cuid, profile.FIDIdentity: identity},
		sfis:  map[byte]uint16{profile.SFICUID: profile.FIDCUID, profile.SFIIdentity: profile.FIDIdentity},
	}
}

func sw(v apdu.StatusWord) []byte { return []byte{v.SW1(), v.SW2()} }

func (c *efCard) Transmit(_ context.Context, raw []byte) ([]byte, error) {
	c.apdus++
	c.sent = append(c.sent, append([]byte(nil), raw...))
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return sw(apdu.ErrWrongLength), nil
	}
	switch {
	case cmd.INS == 0xA4 && cmd.P1 == 0x04:
		if bytes.Equal(cmd.Data, c.aid) {
			c.selected, c.ef = 1, nil
			return sw(apdu.SWSuccess), nil
		}
		return sw(apdu.ErrFileNotFound), nil
	case cmd.INS == 0xA4 && cmd.P1 == 0x02:
		if c.selected == 0 || len(cmd.Data) != 2 {
			return sw(apdu.ErrFileNotFound), nil
		}
		f, ok := c.files[uint16(cmd.Data[0])<<8|uint16(cmd.Data[1])]
		if !ok {
			return sw(apdu.ErrFileNotFound), nil
		}
		c.selected, c.ef = 2, f
		return sw(apdu.SWSuccess), nil
	case cmd.INS == 0xB0:
		off := int(cmd.P1)<<8 | int(cmd.P2)
		if cmd.P1&0x80 != 0 && !c.legacy {
			if c.sfiSW != 0 {
				return sw(c.sfiSW), nil
			}
			if cmd.P1&0x60 != 0 {
				return sw(apdu.ErrIncorrectP1P2), nil
			}
			fid, ok := c.sfis[cmd.P1&0x1F]
			f, found := c.files[fid]
			if c.selected == 0 || !ok || !found {
				return sw(apdu.ErrFileNotFound), nil
			}
			c.selected, c.ef, off = 2, f, int(cmd.P2)
		}
		if c.selected != 2 {
			return sw(apdu.ErrCommandNotAllowedNoEF), nil
		}
		if off > len(c.ef) || (off == len(c.ef) && off > 0) {
			return sw(apdu.ErrWrongP1P2), nil
		}
		end := min(len(c.ef), off+cmd.Ne)
		out := append([]byte(nil), c.ef[off:end]...)
		if end-off < cmd.Ne && cmd.Ne != apdu.MaxShortNe {
			return append(out, sw(apdu.WarnEndOfFile)...), nil
		}
		return append(out, sw(apdu.SWSuccess)...), nil
	}
	return sw(apdu.ErrINSNotSupported), nil
}

// scriptCard returns a scripted card that answers the nth APDU, whatever
// it is, with answers[n] (hex); it fails the test on an APDU beyond the
// script or on answers left unused. Sent lists the commands.
func scriptCard(t testing.TB, answers []string) *apdutest.Card {
	steps := make([]apdutest.Step, len(answers))
	for i, a := range answers {
		steps[i] = apdutest.Step{Command: "*", Response: a, Malformed: len(strings.ReplaceAll(a, " ", "")) < 4}
	}
	return apdutest.NewCard(t, steps...)
}
