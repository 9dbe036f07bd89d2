package apdu

import (
	"context"
	"testing"
)

func TestCounter(t *testing.T) {
	card := &txCard{scriptCard: scriptCard{respond: func(context.Context, []byte, int) ([]byte, error) {
		return []byte{0x90, 0x00}, nil
	}}}
	c := &Counter{Next: card}
	for range 3 {
		if _, err := c.Transmit(context.Background(), []byte{0, 0xA4, 0, 0}); err != nil {
			t.Fatal(err)
		}
	}
	if c.APDUs != 3 || len(card.got) != 3 {
		t.Fatalf("APDUs = %d, card saw %d, want 3", c.APDUs, len(card.got))
	}
	if err := WithTransaction(context.Background(), c, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if card.txs != 1 {
		t.Fatal("WithTransaction did not reach the transport below the Counter")
	}
}
