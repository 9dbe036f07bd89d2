package jpki_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/mynacard/freespace/jpki"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// Authenticate a card holder once: the card here is the project's mock
// JPKI AP; on a terminal it is a reader.Card, and the roots come from
// jpki.LoadCertificates("/etc/terminal/jpki-auth-ca.pem").
func ExampleAuthenticator() {
	pki := mockcard.MustLoadJPKITestPKI()
	card, err := mockcard.NewJPKI(mockcard.JPKI{})
	if err != nil {
		panic(err)
	}
	auth, err := jpki.NewAuthenticator(jpki.AuthOptions{
		Roots:        []*x509.Certificate{pki.AuthCA2015.Cert, pki.AuthCA2023.Cert},
		Time:         func() time.Time { return time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC) },
		NoRevocation: true, // a terminal sets Revocation: jpki.StoreChecker(store)
		PIN: func(ctx context.Context, st profile.PasswordStatus) (profile.Password, error) {
			// A PIN pad; st says how many tries are left.
			return profile.Password("1234"), nil
		},
	})
	if err != nil {
		panic(err)
	}
	res, err := auth.Authenticate(context.Background(), card)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println(len(res.Identity.String()), "hex digits of identity,", res.APDUs, "APDUs")
	// Output: 64 hex digits of identity, 17 APDUs
}
