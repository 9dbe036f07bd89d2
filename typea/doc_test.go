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
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// TestProtocolDocTranscript keeps docs/PROTOCOL.md §6.5 true: every
// "->"/"<-" line of its transcript must match the APDUs typea.Read really
// exchanges, byte for byte up to the first placeholder (<...>) and after
// the last one.
func TestProtocolDocTranscript(t *testing.T) {
	doc, err := os.ReadFile("../docs/PROTOCOL.md")
	require.NoError(t, err)
	sec := string(doc)
	i := strings.Index(sec, "### 6.5")
	require.GreaterOrEqual(t, i, 0, "§6.5 missing")
	sec = sec[i:]
	start := strings.Index(sec, "```\n")
	end := strings.Index(sec[start+4:], "```")
	require.True(t, start >= 0 && end >= 0)
	var lines []string
	for _, l := range strings.Split(sec[start+4:start+4+end], "\n") {
		if strings.HasPrefix(l, "->") || strings.HasPrefix(l, "<-") {
			lines = append(lines, l)
		}
	}

	st := keystest.Store(1)
	id := profile.Identity{UserID: "U1"}
	var tr mockcard.Transcript
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id, Keys: mockcard.APKeys{Masters: st}}), mockcard.WithTestMarker(false), mockcard.WithTranscript(&tr))
	_, err = typea.Read(context.Background(), card, typea.Config{Keys: st, Password: profile.PasswordNone}, nil)
	require.NoError(t, err)
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
