package mockcard

import (
	"context"
	"fmt"
	"io"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
)

// Key and password references of the Type A and Type D APs
// (docs/PROTOCOL.md §6.2 and §7.1).
const (
	KeyRefRead      byte = 0x01 // read key: mutual authentication before reading
	KeyRefUpdate    byte = 0x02 // update key: writes once the AP is sealed
	KeyRefAdmin     byte = 0x03 // administrative key: RESET RETRY COUNTER, ACTIVATE FILE
	PasswordRefAP   byte = 0x81 // the AP's password object
	typeARecordsLen      = 223  // largest record (one short protected APDU)
)

// APKeys gives the card's diversified key objects of a Type A or Type D
// AP: either explicitly (Keys) or derived from the operator's master keys
// (Masters) with the CUID and AID, as the loading system would.
type APKeys struct {
	// Suite is the cipher suite name of every key ("AES-128" when empty).
	Suite string
	// Masters, when set, diversifies the master keys "<prefix>-<role>-enc"
	// and "<prefix>-<role>-mac" (role = auth, update, admin; latest
	// versions) for the card.
	Masters keys.Provider
	// Keys are used as given when Masters is nil (refs 01, 02, 03).
	Keys []KeySpec
	// MaxFailures of every key (0: DefaultMaxTries).
	MaxFailures int
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
			d, err := k.Masters.Diversify(context.Background(), keys.KeyRef{Name: prefix + "-" + r.role + "-" + half}, cuid[:], aid)
			if err != nil {
				return nil, fmt.Errorf("%w: %s key %s: %w", ErrConfig, prefix, r.role, err)
			}
			if i == 0 {
				spec.Enc = Secret(append([]byte(nil), d.Bytes()...))
			} else {
				spec.Mac = Secret(append([]byte(nil), d.Bytes()...))
			}
			d.Zero()
		}
		out = append(out, spec)
	}
	return out, nil
}

// APPassword configures the optional password of a Type A or Type D AP.
type APPassword struct {
	// Value is the initial password (for a fresh AP: the value the
	// loading system set; personalization replaces it).
	Value Secret
	// MaxTries is the retry limit (0: 3).
	MaxTries int
	// MinLen and MaxLen bound the password (0: 4 and 16).
	MinLen, MaxLen int
}

// TypeA configures a Type A AP (docs/PROTOCOL.md chapter 6): a DF holding
//
//	EF 0001 (SFI 1) CUID, 16 bytes      read: always             update: never
//	EF 0003 (SFI 3) Records, linear     personalization: read, update and
//	                variable, 17 x 223  append always
//	                                    operational: read under SM after
//	                                    mutual authentication with the read
//	                                    key (01) and, with a password, after
//	                                    VERIFY of 81; update and append under
//	                                    SM with the update key (02)
//
// with the keys 01, 02, 03 and, optionally, the password 81 (RESET RETRY
// COUNTER with key 03). ACTIVATE FILE seals the AP under SM with key 03.
type TypeA struct {
	// Identity, when set, is written into the records (record 1 and one
	// attribute per record). Nil leaves EF.Records empty (a fresh AP).
	Identity *profile.Identity
	// CUID; zero draws a random one from the card's randomness.
	CUID profile.CUID
	// AID defaults to profile.DefaultAID(profile.TypeA).
	AID profile.AID
	// Keys gives the AP's key objects 01, 02 and 03.
	Keys APKeys
	// Password, when set, protects reading.
	Password *APPassword
	// MaxRecords of EF.Records (0: 17).
	MaxRecords int
	// Unsealed leaves the AP in personalization (a freshly loaded AP).
	Unsealed bool
}

// WithTypeA adds a Type A AP configured by cfg.
func WithTypeA(cfg TypeA) Option {
	return WithAPFunc(func(r io.Reader) (APSpec, error) { return TypeASpec(cfg, r) })
}

// typeARecords encodes an Identity as Type A records (docs/PROTOCOL.md
// §6.3): record 1 the Identity without attributes, then A1 80 81 per
// attribute.
func typeARecords(id profile.Identity) ([][]byte, error) {
	attrs := id.Attributes
	id.Attributes = nil
	r1, err := id.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if err := (profile.Identity{UserID: id.UserID, Attributes: attrs}).Validate(); err != nil {
		return nil, err
	}
	out := [][]byte{r1}
	for _, a := range attrs {
		var b apdu.BERBuilder
		b.Begin(apdu.Tag(profile.TagAttribute)).Add(apdu.Tag(profile.TagAttrName), []byte(a.Name)).Add(apdu.Tag(profile.TagAttrValue), []byte(a.Value)).End()
		rec, err := b.Bytes()
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	for i, r := range out {
		if len(r) > typeARecordsLen {
			return nil, fmt.Errorf("record %d of %d bytes exceeds %d", i+1, len(r), typeARecordsLen)
		}
	}
	return out, nil
}

// cuidAndAID fills the defaults of an authenticated AP.
func cuidAndAID(cuid profile.CUID, aid profile.AID, t profile.APType, r io.Reader) (profile.CUID, profile.AID, error) {
	if cuid.IsZero() {
		var err error
		if cuid, err = RandomCUID(r); err != nil {
			return cuid, nil, err
		}
	}
	if aid == nil {
		aid = profile.DefaultAID(t)
	}
	return cuid, aid, nil
}

func (p *APPassword) spec() []PINSpec {
	if p == nil {
		return nil
	}
	return []PINSpec{{Ref: PasswordRefAP, Value: append(Secret(nil), p.Value...), MaxTries: p.MaxTries, MinLen: p.MinLen, MaxLen: p.MaxLen}}
}

// TypeASpec builds the APSpec of a Type A AP; r supplies a random CUID
// when cfg.CUID is zero.
func TypeASpec(cfg TypeA, r io.Reader) (APSpec, error) {
	cuid, aid, err := cuidAndAID(cfg.CUID, cfg.AID, profile.TypeA, r)
	if err != nil {
		return APSpec{}, err
	}
	ks, err := cfg.Keys.build("typea", cuid, aid)
	if err != nil {
		return APSpec{}, err
	}
	var recs [][]byte
	if cfg.Identity != nil {
		if recs, err = typeARecords(*cfg.Identity); err != nil {
			return APSpec{}, fmt.Errorf("%w: Type A identity: %w", ErrConfig, err)
		}
	}
	maxRecs := cfg.MaxRecords
	if maxRecs == 0 {
		maxRecs = 1 + profile.MaxAttributes
	}
	read := AllOf(Authenticated(KeyRefRead), SecureMessaging())
	if cfg.Password != nil {
		read = AllOf(read, PINVerified(PasswordRefAP))
	}
	write := AllOf(Authenticated(KeyRefUpdate), SecureMessaging())
	spec := APSpec{
		Name: "Type A", AID: aid, Lifecycle: Operational, Keys: ks, PINs: cfg.Password.spec(),
		Seal: AllOf(Authenticated(KeyRefAdmin), SecureMessaging()), AdminKey: KeyRefAdmin,
		EFs: []EFSpec{
			{
				FID: profile.FIDCUID, SFI: 1, Kind: Transparent, MaxSize: profile.CUIDLen, Data: cuid[:],
				Personalization: Access{Read: Always(), Update: Never(), Append: Never()},
				Operational:     Access{Read: Always(), Update: Never(), Append: Never()},
			},
			{
				FID: profile.FIDRecords, SFI: 3, Kind: LinearRecords, MaxRecords: maxRecs, MaxRecordLen: typeARecordsLen, Records: recs,
				Personalization: Access{Read: Always(), Update: Always(), Append: Always()},
				Operational:     Access{Read: read, Update: write, Append: write},
			},
		},
	}
	if cfg.Unsealed {
		spec.Lifecycle = Personalization
	}
	return spec, nil
}
