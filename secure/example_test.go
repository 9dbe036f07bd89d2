package secure_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/secure"
)

// exampleCard is a minimal in-memory card: GET CHALLENGE and MUTUAL
// AUTHENTICATE through secure.CardAuthenticator, then protected READ
// BINARY and VERIFY through the secure.CardSession.
type exampleCard struct {
	auth *secure.CardAuthenticator
	sess *secure.CardSession
}

func (c *exampleCard) Transmit(_ context.Context, raw []byte) ([]byte, error) {
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return []byte{0x67, 0x00}, nil
	}
	if secure.IsProtected(cmd.CLA) && c.sess != nil {
		in, err := c.sess.UnwrapCommand(raw)
		var sw apdu.StatusWord
		if errors.As(err, &sw) {
			return []byte{sw.SW1(), sw.SW2()}, nil
		}
		resp := apdu.Response{SW: apdu.SWSuccess}
		switch {
		case in.INS == apdu.InsReadBinary:
			resp.Data = []byte("hello")
		case in.INS == apdu.InsVerify && !bytes.Equal(in.Data, []byte("1234")):
			resp.SW = 0x63C2
		}
		return c.sess.WrapResponse(resp)
	}
	switch cmd.INS {
	case apdu.InsGetChallenge:
		ch, err := c.auth.Challenge()
		if err != nil {
			return nil, err
		}
		return append(ch, 0x90, 0x00), nil
	case apdu.InsMutualAuthenticate:
		ans, s, err := c.auth.Authenticate(cmd.Data)
		var sw apdu.StatusWord
		if errors.As(err, &sw) {
			return []byte{sw.SW1(), sw.SW2()}, nil
		}
		c.sess = s
		return append(ans, 0x90, 0x00), nil
	}
	return []byte{0x69, 0x82}, nil
}

// The host flow: mutual authentication, then VERIFY and READ BINARY
// through secure messaging. The Session is an apdu.Transport, so an
// apdu.Channel can be stacked on it the same way.
func ExampleMutualAuthenticate() {
	ctx := context.Background()
	kEnc := bytes.Repeat([]byte{0x11}, 16) // the card's diversified keys (see package keys)
	kMac := bytes.Repeat([]byte{0x22}, 16)
	auth, _ := secure.NewCardAuthenticator(secure.AES128, kEnc, kMac, nil)
	card := &exampleCard{auth: auth}

	sess, err := secure.MutualAuthenticate(ctx, card, secure.Config{Suite: secure.AES128, KEnc: kEnc, KMac: kMac})
	if err != nil {
		fmt.Println("authentication failed:", err)
		return
	}
	defer sess.Close()

	verify, _ := apdu.Command{INS: apdu.InsVerify, P2: 0x80, Data: []byte("1234")}.Bytes()
	resp, err := sess.Transmit(ctx, verify)
	fmt.Printf("VERIFY: % X %v\n", resp, err)

	read, _ := apdu.Command{INS: apdu.InsReadBinary, Ne: sess.MaxResponseData(false)}.Bytes()
	resp, err = sess.Transmit(ctx, read)
	fmt.Printf("READ BINARY: %q %v\n", resp[:len(resp)-2], err)
	// Output:
	// VERIFY: 90 00 <nil>
	// READ BINARY: "hello" <nil>
}

// A card holding another key (wrong master key or diversification) answers
// the terminal's cryptogram with 6300: the error says so, without keys.
func ExampleMutualAuthenticate_wrongKey() {
	ctx := context.Background()
	auth, _ := secure.NewCardAuthenticator(secure.TDES, bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16), nil)
	_, err := secure.MutualAuthenticate(ctx, &exampleCard{auth: auth}, secure.Config{
		Suite: secure.TDES, KEnc: bytes.Repeat([]byte{1}, 16), KMac: bytes.Repeat([]byte{4}, 16), // differs from the card's
	})
	var sw apdu.StatusWord
	fmt.Println(errors.Is(err, secure.ErrTerminalRejected), errors.As(err, &sw), sw.String())
	// Output:
	// true true 6300
}

// Chunk sizes that keep every protected APDU a short APDU.
func ExampleMaxCommandData() {
	for _, s := range []secure.Suite{secure.TDES, secure.AES128} {
		fmt.Println(s.Name(), secure.MaxCommandData(s, false), secure.MaxResponseData(s, false))
	}
	// Output:
	// 3DES 231 231
	// AES-128 223 223
}
