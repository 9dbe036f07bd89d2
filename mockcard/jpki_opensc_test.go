package mockcard_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/mockcard"
)

// openSCConf points OpenSC at its JPKI driver whatever the ATR (as the
// decision of issue 12 allows; ../shared/notes/pcsc-testing.md), with file
// caching off so that every read goes to the card.
const openSCConf = `app default {
	card_drivers = jpki, internal;
	force_card_driver = jpki;
	framework pkcs15 {
		use_file_caching = no;
	}
}
`

// pkcs15Tool runs OpenSC's pkcs15-tool against reader with a private
// configuration and cache, and returns its standard output.
func pkcs15Tool(t *testing.T, readerName string, args ...string) string {
	return pkcs15ToolConf(t, openSCConf, readerName, args...)
}

// pkcs15ToolConf is pkcs15Tool with the given opensc.conf.
func pkcs15ToolConf(t *testing.T, confText, readerName string, args ...string) string {
	t.Helper()
	return openSCTool(t, "pkcs15-tool", confText, readerName, args...)
}

// openSCTool runs an OpenSC tool (pkcs15-tool, pkcs15-crypt) against
// readerName with the configuration confText and a private cache.
func openSCTool(t *testing.T, tool, confText, readerName string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv(pcsctest.EnvRequire) == "1" {
			t.Fatalf("pkcs15-tool not found (package opensc): %v", err)
		}
		t.Skip("pkcs15-tool not found (package opensc)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "opensc.conf")
	require.NoError(t, os.WriteFile(conf, []byte(confText), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--reader", readerName}, args...)...)
	cmd.Env = append(os.Environ(), "OPENSC_CONF="+conf, "HOME="+dir, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %q: %s", tool, args, stderr.String())
	return stdout.String()
}

// TestOpenSCReadsTheMockJPKI: OpenSC's JPKI driver (card-jpki.c,
// pkcs15-jpki.c), through a real pcscd and vpcd, reads the mock's
// certificates byte for byte as EF 000A and 000B hold them, and its PIN
// status query (SELECT EF 0018 / 001B, VERIFY without data, 63Cx) reports
// the tries left, also after one was spent.
func TestOpenSCReadsTheMockJPKI(t *testing.T) {
	slot := pcsctest.Acquire(t)
	pki := mockcard.MustLoadJPKITestPKI()
	card := mockcard.MustNew(mockcard.WithJPKI(mockcard.JPKI{}), mockcard.WithPreinstalledAPs())
	slot.Attach(t, card)

	for _, tc := range []struct {
		id   string
		want []byte
	}{
		{"01", pki.CardAuth.DER}, // User Authentication Certificate, EF 000A
		{"03", pki.AuthCA2023.DER},
		{"04", pki.SignCA2023.DER},
	} {
		out := pkcs15Tool(t, slot.ReaderName, "--read-certificate", tc.id)
		blk, _ := pem.Decode([]byte(out))
		require.NotNil(t, blk, "certificate %s: no PEM in %q", tc.id, out)
		assert.Equal(t, tc.want, blk.Bytes, "certificate %s", tc.id)
	}
	ef, err := card.ReadEF(mockcard.JPKIAID(), mockcard.JPKIFIDAuthCert)
	require.NoError(t, err)
	assert.Equal(t, pki.CardAuth.DER, ef)

	triesLeft := regexp.MustCompile(`(?m)^\s*Tries left\s*:\s*(\d+)`)
	tries := func() []string {
		var out []string
		for _, m := range triesLeft.FindAllStringSubmatch(pkcs15Tool(t, slot.ReaderName, "--list-pins"), -1) {
			out = append(out, m[1])
		}
		return out
	}
	assert.Equal(t, []string{"3", "5"}, tries(), "auth and signing PIN")
	// Spend one auth PIN try directly on the card, then ask OpenSC again.
	_, err = card.Transmit(context.Background(), []byte{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01})
	require.NoError(t, err)
	_, err = card.Transmit(context.Background(), []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18})
	require.NoError(t, err)
	resp, err := card.Transmit(context.Background(), []byte{0x00, 0x20, 0x00, 0x80, 0x04, '0', '0', '0', '0'})
	require.NoError(t, err)
	require.Equal(t, []byte{0x63, 0xC2}, resp)
	assert.Equal(t, []string{"2", "5"}, tries(), "after one wrong auth PIN")
}

// TestOpenSCFindsTheMockJPKIBySelect: without force_card_driver, OpenSC's
// JPKI driver recognizes the mock (whose ATR is nobody's) by SELECT of the
// JPKI AID (card-jpki.c jpki_match_card), as it must for contactless
// readers that synthesize ATRs.
func TestOpenSCFindsTheMockJPKIBySelect(t *testing.T) {
	slot := pcsctest.Acquire(t)
	pki := mockcard.MustLoadJPKITestPKI()
	slot.Attach(t, mockcard.MustNew(mockcard.WithJPKI(mockcard.JPKI{})))
	const conf = `app default {
	framework pkcs15 {
		use_file_caching = no;
	}
}
`
	out := pkcs15ToolConf(t, conf, slot.ReaderName, "--read-certificate", "01")
	blk, _ := pem.Decode([]byte(out))
	require.NotNil(t, blk, "no PEM in %q", out)
	assert.Equal(t, pki.CardAuth.DER, blk.Bytes)
}

// TestOpenSCSignsWithTheMockJPKI: pkcs15-crypt verifies the auth PIN and
// has the mock sign a SHA-256 digest with the auth key (OpenSC builds the
// DigestInfo, the card pads: 80 2A 00 80); the signature verifies with the
// auth certificate's key.
func TestOpenSCSignsWithTheMockJPKI(t *testing.T) {
	slot := pcsctest.Acquire(t)
	pki := mockcard.MustLoadJPKITestPKI()
	card := mockcard.MustNew(mockcard.WithJPKI(mockcard.JPKI{}))
	slot.Attach(t, card)
	dir := t.TempDir()
	sum := sha256.Sum256([]byte("a challenge signed through OpenSC"))
	in, out := filepath.Join(dir, "digest"), filepath.Join(dir, "sig")
	require.NoError(t, os.WriteFile(in, sum[:], 0o600))
	openSCTool(t, "pkcs15-crypt", openSCConf, slot.ReaderName, "--sign", "--key", "01", "--sha-256", "--pkcs1",
		"--pin", mockcard.JPKITestAuthPIN, "--raw", "--input", in, "--output", out)
	sig, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NoError(t, rsa.VerifyPKCS1v15(&pki.CardAuth.Key.PublicKey, crypto.SHA256, sum[:], sig))
}
