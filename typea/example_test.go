package typea_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// A gate reads the holder's ID from the Type A AP: SELECT, mutual
// authentication with the per-card read key, the password under secure
// messaging, READ RECORD 1.
func ExampleRead() {
	ctx := context.Background()
	operatorKeys := keystest.Store(1) // in production: keys.LoadFile("keys.json")
	id := profile.Identity{UserID: "EMP-0042"}
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id,
		Keys: mockcard.APKeys{Masters: operatorKeys}, Password: &mockcard.APPassword{Value: profile.Password("1234")}}))

	res, err := typea.Read(ctx, card, typea.Config{Password: profile.PasswordAfterAuth, Keys: operatorKeys}, profile.Password("1234"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Identity.UserID)
	// Output: EMP-0042
}

// A wrong password reports the tries left; with one try left the host
// refuses to send the password unless the caller allows it.
func ExampleAP_Verify() {
	ctx := context.Background()
	operatorKeys := keystest.Store(1)
	id := profile.Identity{UserID: "EMP-0042"}
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: id,
		Keys: mockcard.APKeys{Masters: operatorKeys}, Password: &mockcard.APPassword{Value: profile.Password("1234")}}))

	ap, err := typea.OpenUnauthenticated(ctx, card, typea.Config{Password: profile.PasswordAfterAuth, Keys: operatorKeys})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ap.Close()
	if err := ap.Authenticate(ctx, ap.Config().ReadKey); err != nil {
		fmt.Println(err)
		return
	}
	for _, guess := range []string{"0000", "1111", "1234"} {
		err := ap.Verify(ctx, profile.Password(guess), typea.VerifyOptions{})
		var pe *profile.PasswordError
		switch {
		case errors.As(err, &pe):
			fmt.Println("wrong password,", profile.TriesLeft(pe.Remaining))
		case errors.Is(err, typea.ErrLastTry):
			fmt.Println("one try left: ask the user to confirm")
		case err == nil:
			fmt.Println("verified")
		}
	}
	// Output:
	// wrong password, 2 tries left
	// wrong password, 1 try left
	// one try left: ask the user to confirm
}
