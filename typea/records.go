package typea

import (
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// Record formats of EF.Records (docs/PROTOCOL.md §6.3), a linear variable
// record EF (ISO/IEC 7816-4 §7.3.3):
//
//	record 1     the Identity object 70 (profile §1.3) with the user ID and
//	             the optional expiry; attributes are kept in later records
//	record n≥2   one attribute:  A1 L  80 L name  81 L value
//	             or a free record: the single byte 00
//
// Keeping each attribute in its own record lets UPDATE RECORD change one
// attribute without rewriting the others. A record is at most
// MaxRecordLen bytes so that it fits one short APDU under secure
// messaging.
const (
	// RecordIdentity is the number of the Identity record.
	RecordIdentity = 1
	// MaxRecordLen is the largest record of the profile: the largest plain
	// data of one short protected APDU (AES suites; 3DES allows 231).
	MaxRecordLen = 223
	// MaxRecords is the number of records of the profile's EF.Records:
	// the Identity and up to profile.MaxAttributes attributes.
	MaxRecords = 1 + profile.MaxAttributes
)

// freeRecord is the content of an unused attribute record.
var freeRecord = []byte{0x00}

// EncodeIdentityRecord encodes record 1: the Identity without attributes.
func EncodeIdentityRecord(id profile.Identity) ([]byte, error) {
	id.Attributes = nil
	b, err := id.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if len(b) > MaxRecordLen {
		return nil, &RecordSizeError{Record: RecordIdentity, Len: len(b), Max: MaxRecordLen}
	}
	return b, nil
}

// EncodeAttributeRecord encodes one attribute record (A1 80 81).
func EncodeAttributeRecord(a profile.Attribute) ([]byte, error) {
	// Validate through the Identity codec's rules.
	if err := (profile.Identity{UserID: "x", Attributes: []profile.Attribute{a}}).Validate(); err != nil {
		return nil, err
	}
	var bb apdu.BERBuilder
	bb.Begin(apdu.Tag(profile.TagAttribute)).
		Add(apdu.Tag(profile.TagAttrName), []byte(a.Name)).
		Add(apdu.Tag(profile.TagAttrValue), []byte(a.Value)).
		End()
	b, err := bb.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecordFormat, err)
	}
	if len(b) > MaxRecordLen {
		return nil, &RecordSizeError{Name: a.Name, Len: len(b), Max: MaxRecordLen}
	}
	return b, nil
}

// EncodeRecords encodes an Identity as the records of EF.Records: record 1
// and one record per attribute.
func EncodeRecords(id profile.Identity) ([][]byte, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	r1, err := EncodeIdentityRecord(id)
	if err != nil {
		return nil, err
	}
	out := [][]byte{r1}
	for _, a := range id.Attributes {
		r, err := EncodeAttributeRecord(a)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// IsFreeRecord reports whether r is an unused attribute record.
func IsFreeRecord(r []byte) bool { return len(r) == 1 && r[0] == 0x00 }

// DecodeIdentityRecord decodes record 1.
func DecodeIdentityRecord(r []byte) (profile.Identity, error) {
	if len(r) == 0 {
		return profile.Identity{}, fmt.Errorf("%w: record 1 is empty", profile.ErrNotPersonalized)
	}
	id, err := profile.ParseIdentity(r)
	if err != nil {
		return profile.Identity{}, fmt.Errorf("%w: record 1: %w", errMalformedRecord, err)
	}
	return id, nil
}

// DecodeAttributeRecord decodes an attribute record n ≥ 2. ok is false for
// a free record.
func DecodeAttributeRecord(n int, r []byte) (a profile.Attribute, ok bool, err error) {
	if IsFreeRecord(r) {
		return profile.Attribute{}, false, nil
	}
	obj, rest, perr := apdu.ParseBER(r)
	switch {
	case perr != nil:
		return a, false, fmt.Errorf("%w: record %d: %v", errMalformedRecord, n, perr)
	case obj.Tag != apdu.Tag(profile.TagAttribute):
		return a, false, fmt.Errorf("%w: record %d: tag %s, want %02X", errMalformedRecord, n, obj.Tag, profile.TagAttribute)
	case len(rest) != 0:
		return a, false, fmt.Errorf("%w: record %d: %d bytes after the attribute", errMalformedRecord, n, len(rest))
	}
	var haveName, haveValue bool
	for o, e := range apdu.BERObjects(obj.Value) {
		if e != nil {
			return profile.Attribute{}, false, fmt.Errorf("%w: record %d: %v", errMalformedRecord, n, e)
		}
		switch {
		case o.Tag == apdu.Tag(profile.TagAttrName) && !haveName:
			haveName, a.Name = true, string(o.Value)
		case o.Tag == apdu.Tag(profile.TagAttrValue) && !haveValue && haveName:
			haveValue, a.Value = true, string(o.Value)
		default:
			return profile.Attribute{}, false, fmt.Errorf("%w: record %d: unexpected or repeated tag %s", errMalformedRecord, n, o.Tag)
		}
	}
	if !haveName || !haveValue {
		return profile.Attribute{}, false, fmt.Errorf("%w: record %d: attribute without name or value", errMalformedRecord, n)
	}
	if err := (profile.Identity{UserID: "x", Attributes: []profile.Attribute{a}}).Validate(); err != nil {
		return profile.Attribute{}, false, fmt.Errorf("%w: record %d: %w", errMalformedRecord, n, err)
	}
	return a, true, nil
}

// DecodeRecords decodes the records of EF.Records (record 1 first) into
// one Identity: record 1's fields, then the attributes in record order.
// Free records are skipped; an attribute name appearing twice is an error.
func DecodeRecords(recs [][]byte) (profile.Identity, error) {
	if len(recs) == 0 {
		return profile.Identity{}, fmt.Errorf("%w: no records", profile.ErrNotPersonalized)
	}
	id, err := DecodeIdentityRecord(recs[0])
	if err != nil {
		return profile.Identity{}, err
	}
	seen := map[string]bool{}
	for _, a := range id.Attributes {
		seen[a.Name] = true
	}
	for i, r := range recs[1:] {
		a, ok, err := DecodeAttributeRecord(i+2, r)
		if err != nil {
			return profile.Identity{}, err
		}
		if !ok {
			continue
		}
		if seen[a.Name] {
			return profile.Identity{}, fmt.Errorf("%w: record %d: attribute %q twice", errMalformedRecord, i+2, a.Name)
		}
		seen[a.Name] = true
		id.Attributes = append(id.Attributes, a)
	}
	if err := id.Validate(); err != nil {
		return profile.Identity{}, fmt.Errorf("%w: %w", errMalformedRecord, err)
	}
	return id, nil
}

// errMalformedRecord is the record format error of a record the card
// returned: it matches ErrRecordFormat and profile.ErrMalformed.
var errMalformedRecord error = malformedRecord{}

type malformedRecord struct{}

func (malformedRecord) Error() string { return ErrRecordFormat.Error() }

func (malformedRecord) Is(target error) bool {
	return target == ErrRecordFormat || target == profile.ErrMalformed
}
