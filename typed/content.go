package typed

import (
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// TagData is the tag of the application data object that may follow the
// Identity object in a Type D plaintext: ISO/IEC 7816-4 §6.3 "discretionary
// data" (53), a primitive object of any length up to the AP's capacity.
const TagData byte = 0x53

// Content is what a Type D AP holds, encrypted: the holder's Identity and
// optional application data (the "larger data" of Type D: for example an
// evacuee's name, address, birth date and sex in the operator's format).
type Content struct {
	Identity profile.Identity // the holder's identity (required)
	Data     []byte           // the application's data (optional)
}

// MarshalBinary encodes the plaintext of an envelope (docs/PROTOCOL.md
// §7.2): the Identity object (70), then 53 L Data when Data is not empty.
func (c Content) MarshalBinary() ([]byte, error) {
	id, err := c.Identity.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if len(c.Data) == 0 {
		return id, nil
	}
	if len(c.Data) > 0xFFFF {
		return nil, &CapacityError{Need: len(c.Data), Have: 0xFFFF}
	}
	out := make([]byte, 0, len(id)+4+len(c.Data))
	out = append(out, id...)
	out, err = apdu.AppendBER(out, apdu.Tag(TagData), c.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	return out, nil
}

// UnmarshalBinary decodes a plaintext: exactly one Identity object,
// optionally followed by exactly one 53 object, and nothing else.
func (c *Content) UnmarshalBinary(b []byte) error {
	obj, rest, err := apdu.ParseBER(b)
	if err != nil {
		return fmt.Errorf("%w: plaintext: %v", errMalformed, err)
	}
	if obj.Tag != apdu.Tag(profile.TagIdentity) {
		return fmt.Errorf("%w: plaintext starts with tag %s, want %02X", errMalformed, obj.Tag, profile.TagIdentity)
	}
	idLen := len(b) - len(rest)
	id, err := profile.ParseIdentity(b[:idLen])
	if err != nil {
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
	out := Content{Identity: id}
	if len(rest) > 0 {
		d, tail, err := apdu.ParseBER(rest)
		if err != nil {
			return fmt.Errorf("%w: plaintext data object: %v", errMalformed, err)
		}
		if d.Tag != apdu.Tag(TagData) {
			return fmt.Errorf("%w: plaintext object %s after the identity, want %02X", errMalformed, d.Tag, TagData)
		}
		if len(tail) != 0 {
			return fmt.Errorf("%w: %d trailing bytes in the plaintext", errMalformed, len(tail))
		}
		out.Data = append([]byte(nil), d.Value...)
	}
	*c = out
	return nil
}
