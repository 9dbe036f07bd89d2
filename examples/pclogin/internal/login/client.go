package login

import (
	"crypto/x509"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// ClientConfig says which cards the PC-login client reads.
type ClientConfig struct {
	// Keys are the operator's master keys: with them the client reads the
	// Type A AP after mutual authentication (the card proves itself).
	Keys keys.Provider
	// Password, when set, is the Type A AP's password (the cards have
	// one); nil reads the AP in no-password mode.
	Password cardap.PasswordFunc
	// AllowTypeC also reads the Type C AP, which proves nothing (see the
	// package doc). Without Keys, JPKIRoots and AllowTypeC there is
	// nothing to read.
	AllowTypeC bool
	// JPKIRoots, when set, also authenticates cards through their JPKI
	// AP (every My Number Card): the J-LIS authentication CA
	// certificates the card's certificate must chain to.
	JPKIRoots []*x509.Certificate
	// JPKIPIN supplies the holder's 4-digit JPKI PIN (typed at the PC);
	// required with JPKIRoots.
	JPKIPIN cardap.PasswordFunc
	// Now is the clock of the JPKI certificate checks; nil means
	// time.Now.
	Now func() time.Time
}

// NewClient returns the cardap.Client the commands identify cards with:
// the Type A AP with the operator's keys, then (with AllowTypeC) the Type
// C AP, accepted unproven; with JPKIRoots the JPKI AP between them (a
// free-space Type A AP, when the card carries one, decides first). Revocation is checked by Authorize (Policy), so
// the client runs without a list. A configuration with no AP is an error
// wrapping cardap.ErrConfig.
func NewClient(c ClientConfig) (*cardap.Client, error) {
	var aps []cardap.AP
	if c.Keys != nil {
		cfg := cardap.TypeAConfig{Config: typea.Config{Keys: c.Keys, Password: profile.PasswordNone}}
		if c.Password != nil {
			cfg.Config.Password, cfg.PasswordFunc = profile.PasswordAfterAuth, c.Password
		}
		aps = append(aps, cardap.TypeA(cfg))
	}
	if len(c.JPKIRoots) > 0 {
		aps = append(aps, cardap.JPKI(cardap.JPKIConfig{Roots: c.JPKIRoots, PasswordFunc: c.JPKIPIN}))
	}
	if c.AllowTypeC {
		aps = append(aps, cardap.TypeC(cardap.TypeCConfig{}))
	}
	return cardap.New(cardap.Config{APs: aps, AllowUnproven: c.AllowTypeC, NoRevocation: true, Now: c.Now})
}
