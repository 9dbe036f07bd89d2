package mockcard_test

import (
	"context"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// A test gets a personalized Type C card in one line and talks to it
// through the same apdu.Transport as a real reader.
func Example() {
	cuid, _ := profile.ParseCUID("00112233445566778899aabbccddeeff")
	card := mockcard.MustNew(mockcard.WithTypeCConfig(mockcard.TypeC{
		Identity: profile.Identity{UserID: "U1"},
		CUID:     cuid,
	}))

	ctx := context.Background()
	ch := apdu.NewChannel(card, apdu.ChannelConfig{})
	_, err := ch.Do(ctx, apdu.SelectAID(profile.DefaultAID(profile.TypeC)))
	fmt.Println("select:", err)
	_, _ = ch.Do(ctx, apdu.SelectEF(0x0002, apdu.SelectNoResponse))
	raw, _ := ch.Do(ctx, apdu.ReadBinary(0, apdu.MaxShortNe))
	id, err := profile.ParseIdentity(raw)
	fmt.Println("user:", id.UserID, err)

	// Sealed: the identity cannot be rewritten.
	_, err = ch.Do(ctx, apdu.UpdateBinary(0, []byte{0x70}))
	fmt.Println("update:", err)
	// Output:
	// select: <nil>
	// user: U1 <nil>
	// update: apdu: 6982 security status not satisfied
}

// Faults are scheduled in APDUs from now: here the card is pulled after
// executing the second command, so its response is lost.
func ExampleRemoveAfter() {
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U1"}))
	ctx := context.Background()
	if err := card.Inject(mockcard.RemoveAfter(2)); err != nil {
		panic(err)
	}
	aid := profile.DefaultAID(profile.TypeC)
	sel := append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(aid))}, aid...)
	_, err := card.Transmit(ctx, sel)
	fmt.Println(err)
	_, err = card.Transmit(ctx, []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x01})
	fmt.Println(err)
	card.Insert()
	resp, err := card.Transmit(ctx, sel)
	fmt.Printf("%X %v\n", resp, err)
	// Output:
	// <nil>
	// mockcard: apdu: card removed
	// 9000 <nil>
}

// A Transcript records every exchange, with PIN data masked in String.
func ExampleTranscript() {
	tr := &mockcard.Transcript{}
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U1"}), mockcard.WithTranscript(tr))
	_, _ = card.Transmit(context.Background(), []byte{0x00, 0xB0, 0x00, 0x00, 0x10})
	fmt.Print(tr)
	fmt.Println(card.Stats().APDUs, "APDU")
	// Output:
	// C: 00B0000010 R: 6986
	// 1 APDU
}
