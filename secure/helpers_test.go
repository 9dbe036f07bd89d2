package secure

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/mynacard/freespace/apdu"
)

// h decodes hex, ignoring spaces; it panics on bad test data.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// fixedRand returns the given bytes, then fails.
func fixedRand(parts ...string) *bytes.Reader {
	var b []byte
	for _, p := range parts {
		b = append(b, h(p)...)
	}
	return bytes.NewReader(b)
}

// memCard is an in-memory card for end-to-end tests: GET CHALLENGE and
// MUTUAL AUTHENTICATE through CardAuthenticator, then protected commands
// answered by handler.
type memCard struct {
	auth    *CardAuthenticator
	sess    *CardSession
	handler func(apdu.Command) apdu.Response
	// tamper, when set, rewrites each protected response.
	tamper func([]byte) []byte
	// forge, when set, builds the response to a protected command in place
	// of CardSession.WrapResponse, with the card's SM state.
	forge func(in apdu.Command, core *smCore) []byte
}

func (c *memCard) Transmit(_ context.Context, raw []byte) ([]byte, error) {
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return []byte{0x67, 0x00}, nil
	}
	if IsProtected(cmd.CLA) {
		if c.sess == nil {
			return []byte{0x69, 0x82}, nil
		}
		in, err := c.sess.UnwrapCommand(raw)
		if err != nil {
			var sw apdu.StatusWord
			if !asSW(err, &sw) {
				sw = 0x6988
			}
			return []byte{sw.SW1(), sw.SW2()}, nil
		}
		if c.forge != nil {
			return c.forge(in, c.sess.core), nil
		}
		resp, err := c.sess.WrapResponse(c.handler(in))
		if err != nil {
			return []byte{0x69, 0x82}, nil
		}
		if c.tamper != nil {
			resp = c.tamper(resp)
		}
		return resp, nil
	}
	switch cmd.INS {
	case apdu.InsGetChallenge:
		ch, err := c.auth.Challenge()
		if err != nil {
			return []byte{0x6F, 0x00}, nil
		}
		return append(ch, 0x90, 0x00), nil
	case apdu.InsMutualAuthenticate:
		resp, s, err := c.auth.Authenticate(cmd.Data)
		if err != nil {
			var sw apdu.StatusWord
			if !asSW(err, &sw) {
				sw = 0x6F00
			}
			return []byte{sw.SW1(), sw.SW2()}, nil
		}
		c.sess = s
		return append(resp, 0x90, 0x00), nil
	}
	return c.handler(cmd).Bytes(), nil
}

// echoHandler answers every command with its data (or Ne bytes of a
// pattern) and 9000.
func echoHandler(c apdu.Command) apdu.Response {
	if len(c.Data) > 0 {
		return apdu.Response{Data: c.Data, SW: apdu.SWSuccess}
	}
	d := make([]byte, c.Ne)
	for i := range d {
		d[i] = byte(i)
	}
	return apdu.Response{Data: d, SW: apdu.SWSuccess}
}

func asSW(err error, sw *apdu.StatusWord) bool { return errorsAs(err, sw) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
