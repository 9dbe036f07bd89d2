// Package sealedcard makes mock cards personalized and sealed the way a
// loading terminal leaves them, with the test keys of keystest.Store(1),
// for the tests of the packages that read them.
package sealedcard

import (
	"context"
	"testing"

	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typed"
)

// TypeD returns a mock card whose Type D AP is personalized with id and
// sealed; with pw set the AP has that password (verified after mutual
// authentication), else none.
func TypeD(t testing.TB, id profile.Identity, pw string) *mockcard.Card {
	t.Helper()
	ks := keystest.Store(1)
	cfg := mockcard.TypeD{Keys: mockcard.APKeys{Masters: ks}, Unsealed: true}
	mode := profile.PasswordNone
	req := personalize.Request{Identity: id}
	if pw != "" {
		mode = profile.PasswordAfterAuth
		cfg.Password = &mockcard.APPassword{Value: profile.Password("0000")}
		req.Password = profile.Password(pw)
	}
	card := mockcard.MustNew(mockcard.WithTypeD(cfg))
	if _, err := personalize.TypeD(context.Background(), card, typed.Config{Keys: ks, Password: mode}, req); err != nil {
		t.Fatalf("personalizing the Type D card: %v", err)
	}
	return card
}
