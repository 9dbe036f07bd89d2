package mockcard

import (
	"fmt"
	"io"

	"github.com/mynacard/freespace/profile"
)

// DefaultTypeCKeyRef is the reference of a Type C AP's update key when its
// KeySpec names none.
const DefaultTypeCKeyRef byte = 0x01

// TypeC configures the Type C AP (docs/PROTOCOL.md chapter 2): a DF holding
//
//	EF 0001 (SFI 1) CUID, 16 bytes     read: always   update: never
//	EF 0002 (SFI 2) Identity object    read: always   update: always in
//	                                   personalization; once sealed, only
//	                                   under secure messaging after mutual
//	                                   authentication with UpdateKey (never
//	                                   without an UpdateKey)
//
// The AP can be sealed by anyone (ACTIVATE FILE, condition always): a
// Type C AP holds nothing secret.
type TypeC struct {
	// Identity is the content of EF 0002; it must validate. The zero
	// Identity leaves the EF empty (an AP not personalized yet), as for
	// TypeA.
	Identity profile.Identity
	// CUID is the card-unique identifier; the zero value draws a random
	// one from the card's source of randomness.
	CUID profile.CUID
	// AID defaults to profile.DefaultAID(profile.TypeC).
	AID profile.AID
	// UpdateKey, when set, is the key allowing Identity updates after
	// sealing (its Ref defaults to DefaultTypeCKeyRef). It is also the
	// AP's administrative key.
	UpdateKey *KeySpec
	// Unsealed leaves the AP in personalization (by default it is
	// operational, as a card in the field).
	Unsealed bool
}

// WithTypeC adds a personalized, sealed Type C AP holding id with a random
// CUID and the default AID.
func WithTypeC(id profile.Identity) Option {
	return WithAPFunc(func(r io.Reader) (APSpec, error) {
		// A personalized AP: the zero Identity is a mistake here, not a
		// fresh AP (WithTypeCConfig makes those).
		if err := id.Validate(); err != nil {
			return APSpec{}, fmt.Errorf("%w: Type C identity: %w", ErrConfig, err)
		}
		return TypeCSpec(TypeC{Identity: id}, r)
	})
}

// WithTypeCConfig adds a Type C AP configured by cfg.
func WithTypeCConfig(cfg TypeC) Option {
	return WithAPFunc(func(r io.Reader) (APSpec, error) { return TypeCSpec(cfg, r) })
}

// NewTypeC is the one-line constructor of a card carrying one personalized,
// sealed Type C AP: MustNew(WithTypeC(id), opts...) that returns the
// configuration error instead of panicking.
func NewTypeC(id profile.Identity, opts ...Option) (*Card, error) {
	return New(append([]Option{WithTypeC(id)}, opts...)...)
}

// TypeCSpec builds the APSpec of a Type C AP; r supplies a random CUID
// when cfg.CUID is zero.
func TypeCSpec(cfg TypeC, r io.Reader) (APSpec, error) {
	var idb []byte
	if !isZeroIdentity(cfg.Identity) {
		var err error
		if idb, err = cfg.Identity.MarshalBinary(); err != nil {
			return APSpec{}, fmt.Errorf("%w: Type C identity: %w", ErrConfig, err)
		}
	}
	var err error
	cuid := cfg.CUID
	if cuid.IsZero() {
		if cuid, err = RandomCUID(r); err != nil {
			return APSpec{}, err
		}
	}
	aid := cfg.AID
	if aid == nil {
		aid = profile.DefaultAID(profile.TypeC)
	}
	spec := APSpec{Name: "Type C", AID: aid, Lifecycle: Operational}
	if cfg.Unsealed {
		spec.Lifecycle = Personalization
	}
	opUpdate := Never()
	if cfg.UpdateKey != nil {
		k := *cfg.UpdateKey
		if k.Ref == 0 {
			k.Ref = DefaultTypeCKeyRef
		}
		spec.Keys = []KeySpec{k}
		spec.AdminKey = k.Ref
		opUpdate = AllOf(Authenticated(k.Ref), SecureMessaging())
	}
	spec.EFs = []EFSpec{
		{
			FID: profile.FIDCUID, SFI: 1, Kind: Transparent, MaxSize: profile.CUIDLen, Data: cuid[:],
			Personalization: Access{Read: Always(), Update: Never(), Append: Never()},
			Operational:     Access{Read: Always(), Update: Never(), Append: Never()},
		},
		{
			FID: profile.FIDIdentity, SFI: 2, Kind: Transparent, MaxSize: profile.MaxIdentityBytes, Data: idb,
			Personalization: Access{Read: Always(), Update: Always(), Append: Never()},
			Operational:     Access{Read: Always(), Update: opUpdate, Append: Never()},
		},
	}
	return spec, nil
}

// RandomCUID draws a non-zero CUID from r.
func RandomCUID(r io.Reader) (profile.CUID, error) {
	var c profile.CUID
	for c.IsZero() {
		if _, err := io.ReadFull(r, c[:]); err != nil {
			return c, fmt.Errorf("mockcard: drawing a CUID: %w", err)
		}
	}
	return c, nil
}

// PreinstalledAP is a pre-installed AP a real card may carry (publicly
// documented; docs/PROTOCOL.md §1.1).
type PreinstalledAP struct {
	Name string      // a label, such as "JPKI"
	AID  profile.AID // the AP's published AID

	// option adds the AP when the mock implements it; nil: the mock
	// does not, and never claims the AID.
	option func() Option
}

// Implemented reports whether the mock implements the AP, so that
// WithPreinstalledAPs adds it.
func (p PreinstalledAP) Implemented() bool { return p.option != nil }

// PreinstalledAPs returns the pre-installed APs of docs/PROTOCOL.md §1.1.
func PreinstalledAPs() []PreinstalledAP {
	return []PreinstalledAP{
		// The JPKI AP (jpki.go) with the committed test PKI; WithJPKI
		// replaces it with another configuration in either option order.
		{Name: "JPKI", AID: JPKIAID(), option: withPreinstalledJPKI},
		{Name: "card-info input support", AID: profile.AID{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08}},
		{Name: "card-face check", AID: profile.AID{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02}},
		{Name: "residents' registry", AID: profile.AID{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01}},
		{Name: "pre-installed common AP", AID: profile.AID{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00}},
	}
}

// WithPreinstalledAPs adds the pre-installed APs the mock implements
// (PreinstalledAP.Implemented). The others are not on the card: their
// SELECT answers 6A82 as on a card without them, so a probe never finds
// an AP that is not there (an empty DF answering 9000 would mislead it).
func WithPreinstalledAPs() Option {
	return func(s *settings) {
		for _, p := range PreinstalledAPs() {
			if p.option != nil {
				p.option()(s)
			}
		}
	}
}
