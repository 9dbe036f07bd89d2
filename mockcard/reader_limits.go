package mockcard

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
)

// ErrExtendedLengthRefused is the error of Transmit for an extended-length
// APDU sent to a card behind a reader without extended length that fails
// the exchange (WithShortReader(ShortReaderTransmitError)), as PC/SC
// drivers of such readers do. It does not match apdu.ErrCardRemoved: the
// card is still there and a short APDU works.
var ErrExtendedLengthRefused = errors.New("mockcard: the reader refuses extended-length APDUs")

// ShortReader is how a reader without extended length refuses an
// extended-length APDU.
type ShortReader uint8

const (
	// ShortReaderWrongLength: the APDU gets 6700, as WithExtendedLength(false).
	ShortReaderWrongLength ShortReader = iota + 1
	// ShortReaderTransmitError: Transmit fails with ErrExtendedLengthRefused
	// and the card sees nothing. Only in process: served through vpcd, a
	// failed exchange looks like a removal to pcscd.
	ShortReaderTransmitError
)

// String names the mode.
func (m ShortReader) String() string {
	return enumName(m, ShortReaderWrongLength, "shortreader", "wrong-length", "transmit-error")
}

// WithShortReader puts the card behind a reader without extended length:
// extended-length APDUs are refused the way mode says, responses longer
// than 256 bytes come through GET RESPONSE (61xx), short APDUs work as
// usual. Every AP flow must pass behind such a reader (many contactless
// readers have no extended length).
func WithShortReader(mode ShortReader) Option {
	return func(s *settings) {
		switch mode {
		case ShortReaderWrongLength, ShortReaderTransmitError:
		default:
			s.errs = append(s.errs, fmt.Errorf("%w: short reader mode %d", ErrConfig, mode))
			return
		}
		s.extended = false
		s.shortReader = mode
	}
}

// readerRefuses is the reader's side of ShortReaderTransmitError: an error
// for an extended-length command, nil otherwise. c.mu is held.
func (c *Card) readerRefuses(cmd []byte) error {
	if c.shortReader != ShortReaderTransmitError {
		return nil
	}
	if p, err := apdu.ParseCommand(cmd); err == nil && !p.Extended {
		return nil
	}
	return ErrExtendedLengthRefused
}
