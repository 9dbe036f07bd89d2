package vpcd_test

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/mynacard/freespace/vpcd"
)

// minimalCard answers every APDU with 6D00 (instruction not supported).
type minimalCard struct{}

func (minimalCard) ATR() []byte { return []byte{0x3B, 0x80, 0x80, 0x01, 0x01} }
func (minimalCard) Reset()      {}
func (minimalCard) Transmit(context.Context, []byte) ([]byte, error) {
	return []byte{0x6D, 0x00}, nil
}

// Keep a card in vpcd's first slot until interrupted; every PC/SC
// application on the machine sees it in "Virtual PCD 00 00". Needs pcscd
// with the vpcd driver, so it has no output check.
func ExampleServe() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := vpcd.Serve(ctx, vpcd.DefaultAddr, minimalCard{}, vpcd.Config{}); err != nil {
		log.Fatal(err)
	}
}

// Insert a card, then pull it out.
func ExampleAttach() {
	conn, err := vpcd.Attach(context.Background(), vpcd.DefaultAddr, minimalCard{}, vpcd.Config{})
	if err != nil {
		log.Fatal(err)
	}
	// ... PC/SC applications use the card ...
	_ = conn.Close() // the card leaves the reader
}
