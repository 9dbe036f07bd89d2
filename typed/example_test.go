package typed_test

import (
	"context"
	"fmt"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typed"
)

// Store and read encrypted data on a Type D AP. Writes are tearing-safe:
// the card may be pulled out at any moment and the old or the new data is
// read afterwards.
func Example() {
	ctx := context.Background()
	operatorKeys := keystest.Store(1) // in production: keys.LoadFile("keys.json")
	card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: operatorKeys}}))

	ap, err := typed.Open(ctx, card, typed.Config{Keys: operatorKeys}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ap.Close()
	c := typed.Content{Identity: profile.Identity{UserID: "EVAC-0007"}, Data: []byte("name=...;address=...;born=...;sex=...")}
	if err := ap.Write(ctx, c, typed.WriteOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	got, err := ap.Read(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(got.Identity.UserID, len(got.Data), "bytes, room for", ap.Capacity())
	// Output: EVAC-0007 37 bytes, room for 1990
}
