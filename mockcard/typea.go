package mockcard

import (
	"fmt"
	"io"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// typeARecordsLen is the largest record of EF.Records (one short
// protected APDU).
const typeARecordsLen = 223

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
	// Identity is written into the records (record 1 and one attribute
	// per record). The zero Identity leaves EF.Records empty (a fresh AP).
	Identity profile.Identity
	// CUID; zero draws a random one from the card's randomness.
	CUID profile.CUID
	// AID defaults to profile.DefaultAID(profile.TypeA).
	AID profile.AID
	// Keys gives the AP's key objects 01, 02 and 03.
	Keys APKeys
	// Password, when set, protects reading (the password 81).
	Password *APPassword
	// MaxRecords is the number of records of EF.Records (0: 17).
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

// TypeASpec builds the APSpec of a Type A AP; r supplies a random CUID
// when cfg.CUID is zero.
func TypeASpec(cfg TypeA, r io.Reader) (APSpec, error) {
	ap := authAP{name: "Type A", prefix: "typea", typ: profile.TypeA, cuid: cfg.CUID, aid: cfg.AID,
		keys: cfg.Keys, password: cfg.Password, unsealed: cfg.Unsealed}
	return ap.spec(r, func(read, write Condition) (EFSpec, error) {
		var recs [][]byte
		if !isZeroIdentity(cfg.Identity) {
			var err error
			if recs, err = typeARecords(cfg.Identity); err != nil {
				return EFSpec{}, fmt.Errorf("%w: Type A identity: %w", ErrConfig, err)
			}
		}
		maxRecs := cfg.MaxRecords
		if maxRecs == 0 {
			maxRecs = 1 + profile.MaxAttributes
		}
		return EFSpec{
			FID: profile.FIDRecords, SFI: 3, Kind: LinearRecords, MaxRecords: maxRecs, MaxRecordLen: typeARecordsLen, Records: recs,
			Personalization: Access{Read: Always(), Update: Always(), Append: Always()},
			Operational:     Access{Read: read, Update: write, Append: write},
		}, nil
	})
}

// isZeroIdentity reports whether id is the zero Identity (nothing to
// write). Identity holds a slice, so == does not compare it.
func isZeroIdentity(id profile.Identity) bool {
	return id.UserID == "" && id.Expires.IsZero() && len(id.Attributes) == 0
}
