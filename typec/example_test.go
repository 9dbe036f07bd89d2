package typec_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/typec"
)

// Read one card: the whole read is one transaction of three APDUs (SELECT
// AP, then each EF read by its short EF identifier).
func ExampleRead() {
	card := mockcard.MustNew(mockcard.WithTypeCConfig(mockcard.TypeC{
		Identity: profile.Identity{UserID: "LIB-000123"},
		CUID:     profile.CUID{0xC0, 0xFF, 0xEE, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13},
	}))

	res, err := typec.Read(context.Background(), card, typec.Config{})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.Identity.UserID, res.CUID, res.APDUs)
	// Output: LIB-000123 c0ffee0102030405060708090a0b0c0d 3
}

// A card whose EFs have no short EF identifiers answers the reads by SFI
// with 6A82: Read falls back to SELECT EF for each EF, and Result.APDUs
// shows the cost. Config.SelectByFID goes that way from the start.
func ExampleRead_selectByFID() {
	spec, err := mockcard.TypeCSpec(mockcard.TypeC{Identity: profile.Identity{UserID: "LIB-000123"}}, rand.Reader)
	if err != nil {
		panic(err)
	}
	for i := range spec.EFs {
		spec.EFs[i].SFI = 0 // selectable by file identifier only
	}
	card := mockcard.MustNew(mockcard.WithAP(spec))

	for _, cfg := range []typec.Config{{}, {SelectByFID: true}} {
		res, err := typec.Read(context.Background(), card, cfg)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(res.Identity.UserID, cfg.SelectByFID, res.APDUs)
	}
	// Output:
	// LIB-000123 false 7
	// LIB-000123 true 5
}

// The typed errors tell a card without the AP from one not yet
// personalized.
func ExampleRead_errors() {
	// withIdentityEF is a Type C card whose EF 0002 holds any bytes.
	withIdentityEF := func(content []byte) *mockcard.Card {
		spec, err := mockcard.TypeCSpec(mockcard.TypeC{Identity: profile.Identity{UserID: "U1"}}, rand.Reader)
		if err != nil {
			panic(err)
		}
		for i := range spec.EFs {
			if spec.EFs[i].FID == profile.FIDIdentity {
				spec.EFs[i].Data = content
			}
		}
		return mockcard.MustNew(mockcard.WithAP(spec))
	}
	cards := map[string]*mockcard.Card{
		"blank card":       mockcard.MustNew(),
		"unpersonalized":   withIdentityEF(nil),
		"malformed object": withIdentityEF([]byte{0x70, 0x01, 0x00}),
	}
	for _, name := range []string{"blank card", "unpersonalized", "malformed object"} {
		_, err := typec.Read(context.Background(), cards[name], typec.Config{})
		switch {
		case errors.Is(err, profile.ErrNotPresent):
			fmt.Println(name+":", "no Type C AP")
		case errors.Is(err, profile.ErrNotPersonalized):
			fmt.Println(name+":", "not personalized")
		case errors.Is(err, profile.ErrMalformed):
			fmt.Println(name+":", "malformed")
		}
	}
	// Output:
	// blank card: no Type C AP
	// unpersonalized: not personalized
	// malformed object: malformed
}

// A handle on the AP, for callers that read its parts separately.
func ExampleOpen() {
	id := profile.Identity{UserID: "U1"}
	enc, _ := id.MarshalBinary()
	card := mockcard.MustNew(mockcard.WithAP(typeCSpec(enc)))
	ctx := context.Background()

	ap, err := typec.Open(ctx, card, typec.Config{})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	cuid, _ := ap.CUID(ctx)
	got, _ := ap.ReadIdentity(ctx)
	fmt.Println(cuid, got.UserID)
	// Output: c0ffee0102030405060708090a0b0c0d U1
}

// Read a card in a PC/SC reader: wait for a card, connect in shared mode,
// read. (Not run by go test: it needs a reader.)
func Example_reader() {
	ctx := context.Background()
	rc, err := reader.EstablishContext(ctx)
	if err != nil {
		fmt.Println(err) // reader.ErrNoService: start pcscd
		return
	}
	defer rc.Close()
	names, err := rc.ListReaders(ctx)
	if err != nil || len(names) == 0 {
		fmt.Println("no reader")
		return
	}
	if _, err := rc.WaitForCard(ctx, names[0]); err != nil {
		fmt.Println(err)
		return
	}
	card, err := rc.Connect(ctx, names[0], reader.ConnectOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer card.Close()
	res, err := typec.Read(ctx, card, typec.Config{})
	switch {
	case errors.Is(err, apdu.ErrCardRemoved):
		fmt.Println("card removed during the read: tap again")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println(res.Identity.UserID)
	}
}
