package mockcard

import (
	"fmt"
	"io"

	"github.com/mynacard/freespace/profile"
)

// DefaultTypeDCapacity is the size of a Type D AP's EF.Data when none is
// configured: two slots of 2048 bytes (docs/PROTOCOL.md §7.4).
const DefaultTypeDCapacity = 4096

// TypeD configures a Type D AP (docs/PROTOCOL.md chapter 7): a DF holding
//
//	EF 0001 (SFI 1) CUID, 16 bytes      read: always          update: never
//	EF 0004 (SFI 4) Data, transparent,  personalization: read and update
//	                Capacity bytes      always
//	                                    operational: read under SM with the
//	                                    read key (01) and, with a password,
//	                                    after VERIFY of 81; update under SM
//	                                    with the update key (02)
//
// with the keys 01, 02, 03 and, optionally, the password 81. The card never
// sees plaintext: EF.Data holds the host's envelopes (two slots). ACTIVATE
// FILE seals the AP under SM with key 03.
type TypeD struct {
	// CUID; zero draws a random one from the card's randomness.
	CUID profile.CUID
	// AID defaults to profile.DefaultAID(profile.TypeD).
	AID profile.AID
	// Keys gives the AP's key objects 01, 02 and 03.
	Keys APKeys
	// Password, when set, protects reading.
	Password *APPassword
	// Capacity of EF.Data in bytes (0: DefaultTypeDCapacity; at most 32767).
	Capacity int
	// Data is EF.Data's initial content (nil: Capacity zero bytes, a blank
	// AP). It is padded with zeros to Capacity.
	Data []byte
	// Unsealed leaves the AP in personalization (a freshly loaded AP).
	Unsealed bool
}

// WithTypeD adds a Type D AP configured by cfg.
func WithTypeD(cfg TypeD) Option {
	return WithAPFunc(func(r io.Reader) (APSpec, error) { return TypeDSpec(cfg, r) })
}

// TypeDSpec builds the APSpec of a Type D AP; r supplies a random CUID
// when cfg.CUID is zero.
func TypeDSpec(cfg TypeD, r io.Reader) (APSpec, error) {
	if cfg.Password != nil && cfg.Password.BeforeAuth {
		return APSpec{}, fmt.Errorf("%w: Type D password before authentication: Type D verifies it under secure messaging only", ErrConfig)
	}
	ap := authAP{name: "Type D", prefix: "typed", typ: profile.TypeD, cuid: cfg.CUID, aid: cfg.AID,
		keys: cfg.Keys, password: cfg.Password, unsealed: cfg.Unsealed}
	return ap.spec(r, func(read, write Condition) (EFSpec, error) {
		capacity := cfg.Capacity
		if capacity == 0 {
			capacity = DefaultTypeDCapacity
		}
		if capacity < 0 || capacity > 32767 || len(cfg.Data) > capacity {
			return EFSpec{}, fmt.Errorf("%w: Type D capacity %d (data %d bytes), want 1 to 32767", ErrConfig, capacity, len(cfg.Data))
		}
		data := make([]byte, capacity)
		copy(data, cfg.Data)
		return EFSpec{
			FID: profile.FIDData, SFI: 4, Kind: Transparent, MaxSize: capacity, Data: data,
			Personalization: Access{Read: Always(), Update: Always(), Append: Never()},
			Operational:     Access{Read: read, Update: write, Append: Never()},
		}, nil
	})
}
