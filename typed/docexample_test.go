package typed_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typed"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite the envelope-example block of ../docs/PROTOCOL.md")

const (
	docPath  = "../docs/PROTOCOL.md"
	docBegin = "<!-- BEGIN envelope-example -->"
	docEnd   = "<!-- END envelope-example -->"
)

// The envelope example's inputs (docs/PROTOCOL.md §7.3) and the envelopes
// computed independently of this code (Python: SP 800-108 over the
// cryptography package's AES-CMAC, then its AESGCM).
var (
	exMaster    = hx("404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F")
	exCUID      = profile.CUID(hx("000102030405060708090A0B0C0D0E0F"))
	exAID       = profile.AID(hx("F0000000010001"))
	exNonce     = hx("000102030405060708090A0B")
	exPlaintext = hx("700480025531") // Identity object, user ID "U1"
	exEnvelope  = map[byte]string{
		typed.Format02: "4644020A74797065642D646174610000000000000000000100000001000102030405060708090A0B0006C30ABFB4E5039CF21CEDDE34244C05888DC838DDBF50",
		typed.Format01: "4644010A74797065642D646174610000000000000000000100000001000102030405060708090A0B0006E0211157DE4C53A92F75ED473761B063C7CA160F86BC",
	}
)

func hx(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func exStore(t testing.TB) *keys.Store {
	k, err := keys.NewKey(keys.AES, exMaster)
	require.NoError(t, err)
	st := keys.NewStore()
	require.NoError(t, st.Add(keys.KeyRef{Name: typed.DefaultDataKey, Version: 1}, k))
	return st
}

// envelopeExample seals the example plaintext in format f and describes
// every step.
func envelopeExample(t testing.TB, b *strings.Builder, f byte) []byte {
	ctx := context.Background()
	label := keys.DataKeyLabel
	if f == typed.Format01 {
		label = keys.DiversificationLabel
	}
	k, err := keys.DiversifyFor(ctx, exStore(t), keys.KeyRef{Name: typed.DefaultDataKey, Version: 1}, label, exCUID[:], exAID)
	require.NoError(t, err)
	bind := typed.Binding{CUID: exCUID, AID: exAID, FID: profile.FIDData}
	env, err := typed.SealEnvelope(k.Bytes(), typed.Header{Format: f, KeyID: typed.DefaultDataKey, KeyVersion: 1, Generation: 1},
		bind, exPlaintext, bytes.NewReader(exNonce))
	require.NoError(t, err)
	fmt.Fprintf(b, "Format %02X: data key = KDF(master, %q, CUID || AID, 256)\n", f, label)
	fmt.Fprintf(b, "  = %X\n", k.Bytes())
	fmt.Fprintf(b, "header   %X\n", env[:typed.HeaderLen])
	fmt.Fprintf(b, "AAD      header || %X || %X || %04X\n", exCUID[:], []byte(exAID), profile.FIDData)
	fmt.Fprintf(b, "ct       %X\n", env[typed.HeaderLen:len(env)-typed.TagLen])
	fmt.Fprintf(b, "tag      %X\n", env[len(env)-typed.TagLen:])
	return env
}

func envelopeDoc(t testing.TB) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Master data key %q v1 (AES-256) = %X\n", typed.DefaultDataKey, exMaster)
	fmt.Fprintf(&b, "CUID = %X, AID = %X, FID = %04X, key version 1, generation 1\n", exCUID[:], []byte(exAID), profile.FIDData)
	fmt.Fprintf(&b, "nonce = %X, plaintext = %X (Identity, user ID \"U1\")\n\n", exNonce, exPlaintext)
	envelopeExample(t, &b, typed.Format02)
	b.WriteString("\n")
	envelopeExample(t, &b, typed.Format01)
	return b.String()
}

// TestEnvelopeVectors: the code seals the independently computed
// envelopes of both formats, and an AP reads them back from a card with
// that CUID and AID (so the AP derives each format's key as documented).
func TestEnvelopeVectors(t *testing.T) {
	ctx := context.Background()
	for f, want := range exEnvelope {
		var b strings.Builder
		env := envelopeExample(t, &b, f)
		assert.Equal(t, want, strings.ToUpper(hex.EncodeToString(env)), "format %02X", f)

		ks := exStoreWithCardKeys(t)
		card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{CUID: exCUID, AID: exAID, Keys: mockcard.APKeys{Masters: ks}, Data: env}))
		ap, err := typed.Open(ctx, card, typed.Config{AID: exAID, Keys: ks, DataKeyVersion: 1}, nil)
		require.NoError(t, err)
		got, err := ap.Read(ctx)
		require.NoError(t, err, "format %02X", f)
		assert.Equal(t, "U1", got.Identity.UserID)
		assert.Equal(t, f, got.Header.Format)
	}
}

// exStoreWithCardKeys is the example's store (the example master as
// "typed-data" v1) with AES-128 masters for the card keys.
func exStoreWithCardKeys(t testing.TB) *keys.Store {
	st := exStore(t)
	for _, role := range []string{"auth", "update", "admin"} {
		for _, n := range []string{"typed-" + role + "-enc", "typed-" + role + "-mac"} {
			k, err := keys.NewKey(keys.AES, key256(n)[:16])
			require.NoError(t, err)
			require.NoError(t, st.Add(keys.KeyRef{Name: n, Version: 1}, k))
		}
	}
	return st
}

// TestProtocolEnvelopeExample keeps docs/PROTOCOL.md §7.3's worked example
// true. Run with -update-doc to rewrite the block.
func TestProtocolEnvelopeExample(t *testing.T) {
	want := "\n```text\n" + envelopeDoc(t) + "```\n"
	raw, err := os.ReadFile(docPath)
	require.NoError(t, err)
	doc := string(raw)
	start, end := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	require.True(t, start >= 0 && end > start, "markers %q and %q in %s", docBegin, docEnd, docPath)
	start += len(docBegin)
	if *updateDoc {
		require.NoError(t, os.WriteFile(docPath, []byte(doc[:start]+want+doc[end:]), 0o644))
		return
	}
	if doc[start:end] != want {
		t.Errorf("docs/PROTOCOL.md envelope-example is out of date; run go test ./typed -run TestProtocolEnvelopeExample -update-doc\n--- doc\n%s\n--- code\n%s", doc[start:end], want)
	}
}
