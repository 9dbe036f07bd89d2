package personalize_test

import (
	"context"
	"fmt"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// The service-setup terminal personalizes a freshly loaded Type A AP:
// identity, initial password, seal. Running it again changes nothing.
func ExampleTypeA() {
	ctx := context.Background()
	operatorKeys := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: operatorKeys},
		Password: &mockcard.APPassword{Value: profile.Password("0000")}, Unsealed: true}))

	req := personalize.Request{
		Identity: profile.Identity{UserID: "MEMBER-1", Attributes: []profile.Attribute{{Name: "plan", Value: "gold"}}},
		Password: profile.Password("2468"),
	}
	for range 2 {
		res, err := personalize.TypeA(ctx, card, typea.Config{Password: profile.PasswordAfterAuth, Keys: operatorKeys}, req)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("already sealed:", res.AlreadySealed)
	}
	r, err := typea.Read(ctx, card, typea.Config{Password: profile.PasswordAfterAuth, Keys: operatorKeys}, profile.Password("2468"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Identity.UserID)
	// Output:
	// already sealed: false
	// already sealed: true
	// MEMBER-1
}
