package reader_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/reader"
)

// Wait for a card in the first reader, connect and send one APDU inside a
// transaction. Needs a running pcscd and a reader, so it has no output
// check.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	rc, err := reader.EstablishContext(ctx)
	if errors.Is(err, reader.ErrNoService) || errors.Is(err, reader.ErrNoCgo) {
		log.Fatal(err) // the message says what to do
	}
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()

	names, err := rc.ListReaders(ctx)
	if err != nil || len(names) == 0 {
		log.Fatal("no reader: ", err)
	}
	st, err := rc.WaitForCard(ctx, names[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("card in %s, ATR %X\n", st.Name, st.ATR)

	card, err := rc.Connect(ctx, names[0], reader.ConnectOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer card.Close()
	err = card.WithTransaction(ctx, func(ctx context.Context) error {
		// SELECT the MF by its file identifier 3F00, no response data.
		rsp, err := card.Transmit(ctx, []byte{0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00})
		if err != nil {
			return err
		}
		fmt.Printf("SELECT MF: %X\n", rsp)
		return nil
	})
	switch {
	case errors.Is(err, apdu.ErrCardRemoved):
		fmt.Println("card removed; wait for it and Reconnect")
	case err != nil:
		log.Fatal(err)
	}
}
