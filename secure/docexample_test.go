package secure

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite the sm-example block of ../docs/PROTOCOL.md")

const (
	docPath  = "../docs/PROTOCOL.md"
	docBegin = "<!-- BEGIN sm-example -->"
	docEnd   = "<!-- END sm-example -->"
)

// recorder logs each exchange as hex lines.
func recorder(next apdu.Transport, out *strings.Builder) apdu.Transport {
	return &apdutest.Interceptor{Next: next, Rewrite: func(e apdutest.Exchange) ([]byte, error) {
		fmt.Fprintf(out, "    > %X\n    < %X\n", e.Command, e.Response)
		return e.Response, e.Err
	}}
}

// workedExample runs mutual authentication and three protected commands
// with fixed keys and randomness on the AES-128 suite and describes every
// byte that crossed the interface.
func workedExample(t testing.TB) string {
	s := AES128
	kEnc := h("404142434445464748494A4B4C4D4E4F")
	kMac := h("505152535455565758595A5B5C5D5E5F")
	rndICC, kICC := "0102030405060708", "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"
	rndIFD, kIFD := "1112131415161718", "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
	a, err := NewCardAuthenticator(s, kEnc, kMac, fixedRand(rndICC, kICC))
	require.NoError(t, err)
	card := &memCard{auth: a, handler: func(c apdu.Command) apdu.Response {
		switch c.INS {
		case apdu.InsReadBinary:
			return apdu.Response{Data: []byte("freespace"), SW: apdu.SWSuccess}
		case apdu.InsVerify:
			return apdu.Response{SW: apdu.SWSuccess}
		}
		return apdu.Response{SW: apdu.ErrINSNotSupported}
	}}
	var b strings.Builder
	ctx := context.Background()
	fmt.Fprintf(&b, "Suite AES-128. Card keys K_enc = %X, K_mac = %X.\n", kEnc, kMac)
	fmt.Fprintf(&b, "Card randomness RND.ICC = %s, K.ICC = %s.\n", rndICC, kICC)
	fmt.Fprintf(&b, "Terminal randomness RND.IFD = %s, K.IFD = %s.\n\n", rndIFD, kIFD)
	fmt.Fprintf(&b, "Mutual authentication (GET CHALLENGE, MUTUAL AUTHENTICATE):\n\n")
	sess, err := MutualAuthenticate(ctx, recorder(card, &b), Config{Suite: s, KEnc: kEnc, KMac: kMac, Rand: fixedRand(rndIFD, kIFD)})
	require.NoError(t, err)
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = h(kIFD)[i] ^ h(kICC)[i]
	}
	k := sessionKeys(s, seed, h(rndICC), h(rndIFD))
	fmt.Fprintf(&b, "\nK_seed = K.IFD xor K.ICC = %X\n", seed)
	fmt.Fprintf(&b, "KS_enc = SHA-1(K_seed || 00000001)[0:16] = %X\n", k.Enc)
	fmt.Fprintf(&b, "KS_mac = SHA-1(K_seed || 00000002)[0:16] = %X\n", k.MAC)
	fmt.Fprintf(&b, "SSC    = 00 x 8 || RND.ICC[4:8] || RND.IFD[4:8] = %X\n", k.SSC)
	sess.next = recorder(card, &b)
	for _, c := range []struct{ what, cmd string }{
		{"VERIFY of password 81 with \"1234\" (even INS, DO87 and no DO97)", "0020008104" + "31323334"},
		{"READ BINARY of 9 bytes (DO97 only)", "00B0000009"},
		{"UPDATE BINARY with odd INS D7 (DO85), refused by the card with 6D00", "00D7000003" + "010203"},
	} {
		fmt.Fprintf(&b, "\n%s: plain %s\n\n", c.what, c.cmd)
		resp, err := sess.Transmit(ctx, h(c.cmd))
		require.NoError(t, err)
		fmt.Fprintf(&b, "\n  plain response %X\n", resp)
	}
	return b.String()
}

func docBlock(t *testing.T) (doc, block string, start, end int) {
	raw, err := os.ReadFile(docPath)
	require.NoError(t, err)
	doc = string(raw)
	start = strings.Index(doc, docBegin)
	end = strings.Index(doc, docEnd)
	require.True(t, start >= 0 && end > start, "markers %q and %q in %s", docBegin, docEnd, docPath)
	start += len(docBegin)
	return doc, doc[start:end], start, end
}

// TestProtocolDocExample keeps the worked example of docs/PROTOCOL.md
// chapter 4 true: it reruns the flow and compares with the text between the
// sm-example markers. Run with -update-doc to rewrite the block.
func TestProtocolDocExample(t *testing.T) {
	want := "\n```text\n" + workedExample(t) + "```\n"
	doc, block, start, end := docBlock(t)
	if *updateDoc {
		require.NoError(t, os.WriteFile(docPath, []byte(doc[:start]+want+doc[end:]), 0o644))
		return
	}
	if block != want {
		t.Errorf("docs/PROTOCOL.md sm-example is out of date; run go test ./secure -run TestProtocolDocExample -update-doc\n--- doc\n%s\n--- code\n%s", block, want)
	}
	require.True(t, bytes.Contains([]byte(block), []byte("0C200081")), "VERIFY of password 81, the profile's reference (§6.2)")
}
