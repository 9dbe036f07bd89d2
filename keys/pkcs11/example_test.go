package pkcs11_test

import (
	"context"
	"fmt"
	"os"

	"github.com/mynacard/freespace/keys/pkcs11"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// A terminal whose master keys stay in a token: parse the key source,
// read the PIN from its source, open the token and hand the Provider to
// the AP packages like any keys.Provider.
func ExampleOpen() {
	ctx := context.Background()
	u, err := pkcs11.ParseURI("pkcs11:token=freespace?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:HSM_PIN")
	if err != nil {
		fmt.Println(err)
		return
	}
	pin, err := pkcs11.ReadPIN(u.PINSource, os.Stdin)
	if err != nil {
		fmt.Println(err) // pkcs11: PIN unavailable: read pin: variable HSM_PIN is not set
		return
	}
	hsm, err := pkcs11.Open(ctx, pkcs11.Config{ModulePath: u.ModulePath, Token: u.Token, PIN: pin})
	clear(pin)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer hsm.Close()
	cfg := typea.Config{Keys: hsm, Password: profile.PasswordNone}
	_ = cfg // typea.Read(ctx, card, cfg, nil): the card keys come from the token
}
