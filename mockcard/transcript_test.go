package mockcard

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// No formatting verb prints the PIN of a recorded PIN command, whatever
// the class byte (a CLA with stray secure messaging bits is refused by the
// card but still carried the PIN in clear).
func TestTranscriptNeverPrintsPINs(t *testing.T) {
	tr := &Transcript{}
	c := newTestCard(t, WithTranscript(tr))
	tx(t, c, selTest)
	for _, cmd := range []string{
		"0020008104" + "31323334",         // VERIFY
		"0820008104" + "31323334",         // VERIFY, CLA 08: 6882
		"1024008108" + "3132333435363738", // CHANGE REFERENCE DATA, chained
		"002C028104" + "35363738",         // RESET RETRY COUNTER
	} {
		tx(t, c, cmd)
	}
	exs := tr.Exchanges()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{tr, exs, exs[1], exs[2], exs[3], exs[4]} {
			out := fmt.Sprintf(verb, v)
			for _, pin := range []string{"31323334", "35363738", "0x31, 0x32, 0x33, 0x34", "0x35, 0x36, 0x37, 0x38"} {
				assert.NotContains(t, out, pin, "verb %s of %T: %s", verb, v, out)
			}
		}
	}
	assert.Contains(t, exs[2].String(), "C: 0820008104** R: 6882")
}

// A card printed with any verb shows no state: no PIN, key, challenge or
// pending data.
func TestCardPrintsNoState(t *testing.T) {
	c := newTestCard(t, WithGetResponse(0))
	tx(t, c, selTest)
	tx(t, c, "0084000008") // a challenge is outstanding
	tx(t, c, "00A4020C020101")
	assert.Equal(t, "6105", tx(t, c, "00B0000005"), "\"hello\" is pending")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, c)
		assert.Equal(t, "mockcard.Card{2 APs, present}", out, verb)
	}
}
