package typea_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/typea"
)

// TestProtocolDocRekeyTranscript keeps the rekey transcript of
// docs/PROTOCOL.md §5.4 true: every "->"/"<-" line must match the APDUs
// typea.AP.Rekey (after the SELECT of OpenUnauthenticated) exchanges,
// byte for byte up to the first placeholder (<...>) and after the last.
func TestProtocolDocRekeyTranscript(t *testing.T) {
	doc, err := os.ReadFile("../docs/PROTOCOL.md")
	require.NoError(t, err)
	sec := string(doc)
	i := strings.Index(sec, "### 5.4")
	require.GreaterOrEqual(t, i, 0, "§5.4 missing")
	sec = sec[i:]
	sec = sec[:strings.Index(sec, "\n## ")]
	start := strings.Index(sec, "```text\n-> ")
	require.GreaterOrEqual(t, start, 0, "no transcript in §5.4")
	block := sec[start+len("```text\n"):]
	block = block[:strings.Index(block, "```")]
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if strings.HasPrefix(l, "->") || strings.HasPrefix(l, "<-") {
			lines = append(lines, l)
		}
	}

	st := keystest.Store(1)
	keystest.AddCardKeySet(st, 2)
	// A card in the field: no test-card marker in its FCI.
	var tr mockcard.Transcript
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: testID, Keys: mockcard.APKeys{Masters: keystest.Store(1)}}),
		mockcard.WithTestMarker(false), mockcard.WithTranscript(&tr))
	ap, err := typea.OpenUnauthenticated(context.Background(), card, typea.Config{Keys: st})
	require.NoError(t, err)
	require.NoError(t, ap.Rekey(context.Background(), 2))
	ex := tr.Exchanges()
	require.Len(t, lines, 2*len(ex), "one -> and one <- line per APDU")
	for k, l := range lines {
		real := ex[k/2].Command
		if k%2 == 1 {
			real = ex[k/2].Response
		}
		body := l[2:]
		if c := strings.Index(body, "   "); c >= 0 {
			body = body[:c] // the comment column
		}
		body = strings.TrimSpace(body)
		prefix, suffix := body, ""
		if p := strings.Index(body, "<"); p >= 0 {
			prefix = body[:p]
			suffix = body[strings.LastIndex(body, ">")+1:]
		}
		pb, err := hex.DecodeString(strings.ReplaceAll(prefix, " ", ""))
		require.NoError(t, err, l)
		sb, err := hex.DecodeString(strings.ReplaceAll(suffix, " ", ""))
		require.NoError(t, err, l)
		require.True(t, bytes.HasPrefix(real, pb), "%s\nreal: % X", l, real)
		require.True(t, bytes.HasSuffix(real, sb), "%s\nreal: % X", l, real)
	}
}
