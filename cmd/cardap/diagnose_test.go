package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestReadersDiagnose: `cardap readers --diagnose` decodes each card's
// ATR, observes extended length with one harmless extended SELECT (a
// reader without it answers 6700: unsupported), lists the APs that answer
// SELECT by AID, and reports empty readers; --json is one line.
func TestReadersDiagnose(t *testing.T) {
	full := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "DIAG"}), mockcard.WithJPKI(mockcard.JPKI{}), mockcard.WithPreinstalledAPs())
	short := mockcard.MustNew(mockcard.WithJPKI(mockcard.JPKI{}), mockcard.WithATR(mockcard.MyNumberCardATR()),
		mockcard.WithShortReader(mockcard.ShortReaderWrongLength))
	src := &mockSource{slots: []mockSlot{{name: "R0", card: full}, {name: "R1", card: short}, {name: "R2"}}}

	code, out, errOut := runCLI(t, src, "readers", "--diagnose", "--json")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, 1, strings.Count(out, "\n"), "one line of JSON")
	var got struct {
		Readers []struct {
			Reader      string `json:"reader"`
			CardPresent bool   `json:"card_present"`
			ATR         string `json:"atr"`
			Decoded     struct {
				Protocols      []string `json:"protocols"`
				Historical     string   `json:"historical"`
				HistoricalText string   `json:"historical_text"`
				ExtendedLength string   `json:"extended_length"`
			} `json:"atr_decoded"`
			Extended string `json:"extended_length"`
			APs      []struct {
				Name    string `json:"name"`
				AID     string `json:"aid"`
				Present bool   `json:"present"`
			} `json:"aps"`
		} `json:"readers"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got.Readers, 3)
	answering := func(i int) []string {
		var names []string
		for _, a := range got.Readers[i].APs {
			if a.Present {
				names = append(names, a.Name)
			}
		}
		return names
	}
	r0, r1, r2 := got.Readers[0], got.Readers[1], got.Readers[2]
	assert.Equal(t, []string{"T=0", "T=1"}, r0.Decoded.Protocols)
	assert.Equal(t, "freespace mock", r0.Decoded.HistoricalText)
	assert.Equal(t, "unknown", r0.Decoded.ExtendedLength, "the mock's ATR does not say")
	assert.Equal(t, "supported", r0.Extended)
	assert.Contains(t, answering(0), "JPKI")
	assert.Contains(t, answering(0), "Type C (common card AP)")
	assert.NotContains(t, answering(0), "Type A (record AP)")

	assert.Equal(t, "3BE000FF8131FE4514", r1.ATR)
	assert.Equal(t, []string{"T=1"}, r1.Decoded.Protocols)
	assert.Empty(t, r1.Decoded.Historical)
	assert.Equal(t, "unsupported", r1.Extended, "a reader without extended length")
	assert.Equal(t, []string{"JPKI"}, answering(1))

	assert.Equal(t, "R2", r2.Reader)
	assert.False(t, r2.CardPresent)

	// Text: the same facts for people; nothing is read from the APs.
	full.ResetStats()
	code, out, errOut = runCLI(t, src, "readers", "--diagnose", "--reader", "R0")
	require.Equal(t, exitOK, code, errOut)
	for _, want := range []string{"reader R0", "protocols offered", "T=0, T=1", `"freespace mock"`, "extended length", "supported (observed)", "JPKI", "answers"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "R1")
	assert.Equal(t, len(mockcard.PreinstalledAPs())+3+1, full.Stats().APDUs, "one SELECT per AP and one extended SELECT")

	code, _, _ = runCLI(t, src, "readers", "--diagnose", "--reader", "nosuch", "--json")
	assert.Equal(t, exitNoCard, code)
	code, _, _ = runCLI(t, src, "readers", "--reader", "R0")
	assert.Equal(t, exitUsage, code, "--reader needs --diagnose")
}
