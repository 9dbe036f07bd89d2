package apdutest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
)

// readEF is the code under test: it selects an EF and reads its first
// bytes.
func readEF(ctx context.Context, t apdu.Transport, fid uint16, n int) ([]byte, error) {
	ch := apdu.NewChannel(t, apdu.ChannelConfig{})
	if _, err := ch.Do(ctx, apdu.SelectEF(fid, apdu.SelectNoResponse)); err != nil {
		return nil, err
	}
	return ch.Do(ctx, apdu.ReadBinary(0, n))
}

// A test scripts the card's side of the conversation. Here the card
// answers 6C04 (wrong Le) first, and the Channel retries with Le = 04.
func Example() {
	t := &testing.T{} // in a test: the test's own t
	card := apdutest.NewCard(t, apdutest.Script(t, `
		00A4020C 02 0011 => 9000
		00B0000010       => 6C04
		00B0000004       => CAFEF00D 9000
	`)...)
	data, err := readEF(context.Background(), card, 0x0011, 16)
	fmt.Printf("% X %v\n", data, err)
	// Output: CA FE F0 0D <nil>
}

// An Interceptor in front of a card makes it misbehave: here every READ
// BINARY answers "end of file reached before Ne bytes" (6282), and the
// code under test sees the data with the warning.
func ExampleInterceptor() {
	t := &testing.T{}
	card := apdutest.NewCard(t, apdutest.Script(t, `
		00A4020C 02 0011 => 9000
		00B0000004       => CAFEF00D 9000
	`)...)
	liar := &apdutest.Interceptor{Next: card, Rewrite: apdutest.ReplaceSW(apdu.InsReadBinary, 0x6282)}
	data, err := readEF(context.Background(), liar, 0x0011, 4)
	fmt.Printf("% X\n%v\n", data, err)
	// Output:
	// CA FE F0 0D
	// apdu: 6282 warning: end of file or record reached before reading Ne bytes
}
