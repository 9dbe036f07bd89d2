package typed

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
)

// tagFileSize is the FCP data object "number of data bytes in the file,
// excluding structural information" (ISO/IEC 7816-4 §7.4.3, table 12).
const tagFileSize apdu.Tag = 0x80

// parseFCPSize returns the EF size the card's FCP (the answer to SELECT EF
// with P2 = 04) gives in tag 80. sized is false when the answer is empty
// or holds no tag 80: the caller then keeps the configured capacity. Any
// other defect is errMalformed: BER-TLV that does not parse (anywhere in
// the answer, not only up to tag 80), an empty or zero size, or a size
// past the 15-bit offsets of READ/UPDATE BINARY. The size is an unsigned
// big-endian integer of any length; leading zero bytes are allowed.
func parseFCPSize(fcp []byte) (size int, sized bool, err error) {
	if len(fcp) == 0 {
		return 0, false, nil
	}
	// Every top-level object must parse (FindBER stops at its match).
	for _, err := range apdu.BERObjects(fcp) {
		if err != nil {
			return 0, false, fmt.Errorf("%w: FCP: %w", errMalformed, err)
		}
	}
	o, err := apdu.FindBER(fcp, tagFileSize)
	switch {
	case errors.Is(err, apdu.ErrTagNotFound):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("%w: FCP: %w", errMalformed, err)
	}
	v := o.Value
	if len(v) == 0 {
		return 0, false, fmt.Errorf("%w: FCP: empty file size (tag 80)", errMalformed)
	}
	for len(v) > 0 && v[0] == 0 {
		v = v[1:]
	}
	// Two significant bytes reach FFFF; more is past 7FFF for certain.
	if len(v) > 2 {
		return 0, false, fmt.Errorf("%w: FCP: file size of %d significant bytes is larger than the %d bytes 15-bit offsets reach", errMalformed, len(v), maxEF)
	}
	for _, b := range v {
		size = size<<8 | int(b)
	}
	if size == 0 {
		return 0, false, fmt.Errorf("%w: FCP: file size 0", errMalformed)
	}
	return size, true, nil
}
