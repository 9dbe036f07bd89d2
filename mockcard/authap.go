package mockcard

import (
	"context"
	"fmt"
	"io"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
)

// Key and password references of the Type A and Type D APs
// (docs/PROTOCOL.md §6.2 and §7.1).
const (
	KeyRefRead    byte = 0x01 // read key: mutual authentication before reading
	KeyRefUpdate  byte = 0x02 // update key: writes once the AP is sealed
	KeyRefAdmin   byte = 0x03 // administrative key: RESET RETRY COUNTER, ACTIVATE FILE
	PasswordRefAP byte = 0x81 // the AP's password object
)

// APKeys gives the card's diversified key objects of a Type A or Type D
// AP: either explicitly (Keys) or derived from the operator's master keys
// (Masters) with the CUID and AID, as the loading system would.
type APKeys struct {
	// Suite is the cipher suite name of every key ("AES-128" when empty).
	Suite string
	// Masters, when set, diversifies the master keys "<prefix>-<role>-enc"
	// and "<prefix>-<role>-mac" (role = auth, update, admin) of version
	// KeySet for the card.
	Masters keys.Provider
	// Keys are used as given when Masters is nil (refs 01, 02, 03).
	Keys []KeySpec
	// MaxFailures of every key (0: DefaultMaxTries).
	MaxFailures int
	// KeySet is the key-set version of the keys (0: 1): Masters gives
	// its master keys at this version, and the AP announces it in its FCI
	// (docs/PROTOCOL.md §5.3).
	KeySet int
	// Silent makes the AP announce no version, as a card of profile 2.0:
	// hosts read it as their default version (1 unless configured).
	Silent bool
}

func (k APKeys) build(prefix string, cuid profile.CUID, aid profile.AID) ([]KeySpec, error) {
	if k.Masters == nil {
		if len(k.Keys) == 0 {
			return nil, fmt.Errorf("%w: %s AP without keys", ErrConfig, prefix)
		}
		return k.Keys, nil
	}
	suite := k.Suite
	if suite == "" {
		suite = "AES-128"
	}
	var out []KeySpec
	for _, r := range []struct {
		ref  byte
		role string
	}{{KeyRefRead, "auth"}, {KeyRefUpdate, "update"}, {KeyRefAdmin, "admin"}} {
		spec := KeySpec{Ref: r.ref, Suite: suite, MaxFailures: k.MaxFailures}
		for i, half := range []string{"enc", "mac"} {
			d, err := k.Masters.Diversify(context.Background(), k.masterRef(prefix, r.role, half), cuid[:], aid)
			if err != nil {
				return nil, fmt.Errorf("%w: %s key %s: %w", ErrConfig, prefix, r.role, err)
			}
			// d is a fresh key of its own: the spec keeps it.
			if i == 0 {
				spec.Enc = d
			} else {
				spec.Mac = d
			}
		}
		out = append(out, spec)
	}
	return out, nil
}

// APPassword configures the optional password of a Type A or Type D AP.
// The AP accepts the password only under secure messaging, after mutual
// authentication (docs/PROTOCOL.md §3.3 and §6.4, the after-authentication
// mode): a password sent in plain gets 6982 and spends no try (see
// PINSpec.RequireSM), unless BeforeAuth is set.
type APPassword struct {
	// Value is the initial password (for a fresh AP: the value the
	// loading system set; personalization replaces it).
	Value profile.Password
	// MaxTries is the retry limit (0: 3).
	MaxTries int
	// MinLen and MaxLen bound the password (0: 4 and 16).
	MinLen, MaxLen int
	// BeforeAuth makes the AP accept the password in plain before mutual
	// authentication (docs/PROTOCOL.md §6.4, the before-authentication
	// mode; Type A only, a configuration error for Type D): the verified
	// state then carries into the session the next MUTUAL AUTHENTICATE
	// opens.
	BeforeAuth bool
}

func (p *APPassword) spec() []PINSpec {
	if p == nil {
		return nil
	}
	return []PINSpec{{Ref: PasswordRefAP, Value: append(profile.Password(nil), p.Value...), MaxTries: p.MaxTries, MinLen: p.MinLen, MaxLen: p.MaxLen, RequireSM: !p.BeforeAuth}}
}

// authAP is what the Type A and Type D APs share (docs/PROTOCOL.md §6.2
// and §7.1): the CUID and AID, the keys 01, 02, 03, the optional password
// 81, EF.CUID, ACTIVATE FILE under SM with key 03, the lifecycle.
type authAP struct {
	name     string // APSpec.Name, "Type A"
	prefix   string // prefix of the master key names, "typea"
	typ      profile.APType
	cuid     profile.CUID // zero: random, from r
	aid      profile.AID  // nil: profile.DefaultAID(typ)
	keys     APKeys
	password *APPassword
	unsealed bool
}

// spec builds the APSpec: EF.CUID, then the AP's data EF that dataEF
// returns for the operational conditions read (SM after mutual
// authentication with key 01 and, with a password, after VERIFY of 81)
// and write (SM after mutual authentication with key 02).
func (a authAP) spec(r io.Reader, dataEF func(read, write Condition) (EFSpec, error)) (APSpec, error) {
	cuid, aid := a.cuid, a.aid
	if cuid.IsZero() {
		var err error
		if cuid, err = RandomCUID(r); err != nil {
			return APSpec{}, err
		}
	}
	if aid == nil {
		aid = profile.DefaultAID(a.typ)
	}
	ks, err := a.keys.build(a.prefix, cuid, aid)
	if err != nil {
		return APSpec{}, err
	}
	read := AllOf(Authenticated(KeyRefRead), SecureMessaging())
	if a.password != nil {
		read = AllOf(read, PINVerified(PasswordRefAP))
	}
	data, err := dataEF(read, AllOf(Authenticated(KeyRefUpdate), SecureMessaging()))
	if err != nil {
		return APSpec{}, err
	}
	spec := APSpec{
		Name: a.name, AID: aid, Lifecycle: Operational, Keys: ks, PINs: a.password.spec(),
		Seal: AllOf(Authenticated(KeyRefAdmin), SecureMessaging()), AdminKey: KeyRefAdmin, KeySet: a.keys.announced(),
		EFs: []EFSpec{
			{
				FID: profile.FIDCUID, SFI: 1, Kind: Transparent, MaxSize: profile.CUIDLen, Data: cuid[:],
				Personalization: Access{Read: Always(), Update: Never(), Append: Never()},
				Operational:     Access{Read: Always(), Update: Never(), Append: Never()},
			},
			data,
		},
	}
	if a.unsealed {
		spec.Lifecycle = Personalization
	}
	return spec, nil
}
