package cardap_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// A terminal identifies the card in front of it and decides. A door, a
// login or a payment reads an authenticated AP (Type A or D) with the
// operator's keys: the card proves itself by mutual authentication.
func ExampleClient_Identify() {
	operatorKeys := keystest.Store(1) // in production: keys.LoadFile("keys.json")
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "EMP-0042"},
		Keys: mockcard.APKeys{Masters: operatorKeys}}))

	client, err := cardap.New(cardap.Config{
		APs:          []cardap.AP{cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: operatorKeys, Password: profile.PasswordNone}})},
		NoRevocation: true, // a demo; gates configure a revocation list
	})
	if err != nil {
		panic(err)
	}
	id, err := client.Identify(context.Background(), card)
	switch {
	case errors.Is(err, cardap.ErrRevoked):
		fmt.Println("refused: revoked")
	case err != nil:
		fmt.Println("refused:", cardap.ReasonOf(err))
	default:
		fmt.Println("welcome", id.UserID, "via Type", id.AP, "proof", id.Proof.Method)
	}
	// Output: welcome EMP-0042 via Type A proof mutual-auth
}

// A library desk only needs to know who is at the counter: the Type C AP
// identifies the holder, it does not authenticate the card (anyone can
// read and copy a Type C ID). The desk says so with AllowUnproven; without
// it, New refuses a configuration that can only accept unproven cards.
func ExampleConfig_allowUnproven() {
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "LIB-000042"}))

	_, err := cardap.New(cardap.Config{APs: []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})}, NoRevocation: true})
	fmt.Println("without AllowUnproven:", errors.Is(err, cardap.ErrConfig))

	client, err := cardap.New(cardap.Config{
		APs:           []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})},
		AllowUnproven: true, // identification only: never a door, a login or money
		NoRevocation:  true,
	})
	if err != nil {
		panic(err)
	}
	id, err := client.Identify(context.Background(), card)
	if err != nil {
		panic(err)
	}
	fmt.Println("member", id.UserID, "proven:", id.Proof.Proven())
	// Output:
	// without AllowUnproven: true
	// member LIB-000042 proven: false
}

// Serve runs the wait → identify → decide → wait-for-removal loop; TapSlot
// presents simulated cards.
func ExampleClient_Serve() {
	operatorKeys := keystest.Store(1)
	client, _ := cardap.New(cardap.Config{
		APs:          []cardap.AP{cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: operatorKeys, Password: profile.PasswordNone}})},
		NoRevocation: true,
	})
	slot := cardap.NewTapSlot("gate-1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	go func() {
		_ = slot.Tap(ctx, mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "EMP-7"},
			Keys: mockcard.APKeys{Masters: operatorKeys}})))
		_ = slot.Tap(ctx, mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "EMP-7"}))) // a Type C copy
		_ = slot.Tap(ctx, mockcard.MustNew())                                                      // a card without the AP
		slot.Close()
	}()
	_ = client.Serve(ctx, func(_ context.Context, tap cardap.Tap, _ cardap.Card) {
		if tap.Err != nil {
			fmt.Println(tap.Slot, "closed:", tap.Reason())
			return
		}
		fmt.Println(tap.Slot, "open for", tap.Identity.UserID)
	}, slot)
	// Output:
	// gate-1 open for EMP-7
	// gate-1 closed: unknown-card
	// gate-1 closed: unknown-card
}

// A Type A card with a password: the holder is asked once per Identify,
// the password goes to the card once, and a refusal says why, with the
// remaining tries in its cause.
func ExampleTypeA() {
	operatorKeys := keystest.Store(1) // in production: keys.LoadFile("keys.json")
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "EMP-0042"},
		Keys: mockcard.APKeys{Masters: operatorKeys}, Password: &mockcard.APPassword{Value: profile.Password("1234")}}))

	for _, pin := range []string{"0000", "1234"} {
		client, err := cardap.New(cardap.Config{
			APs: []cardap.AP{cardap.TypeA(cardap.TypeAConfig{
				Config: typea.Config{Keys: operatorKeys, Password: profile.PasswordAfterAuth},
				PasswordFunc: func(context.Context, cardap.PasswordRequest) (profile.Password, error) {
					return profile.Password(pin), nil // a PIN pad in a real terminal
				},
			})},
			NoRevocation: true,
		})
		if err != nil {
			panic(err)
		}
		id, err := client.Identify(context.Background(), card)
		var tries *apdu.TriesError
		switch {
		case errors.Is(err, cardap.ErrPasswordWrong) && errors.As(err, &tries):
			fmt.Println("wrong password,", tries.Remaining, "tries left")
		case err != nil:
			fmt.Println("refused:", cardap.ReasonOf(err))
		default:
			fmt.Println("welcome", id.UserID, "via Type", id.AP)
		}
	}
	// Output:
	// wrong password, 2 tries left
	// welcome EMP-0042 via Type A
}
