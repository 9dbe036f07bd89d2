package vpcd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxMessageSize is the largest payload the 2-byte length prefix can carry.
const MaxMessageSize = 0xFFFF

// Control commands from vpcd (1-byte messages).
const (
	ctrlPowerOff byte = 0x00
	ctrlPowerOn  byte = 0x01
	ctrlReset    byte = 0x02
	ctrlGetATR   byte = 0x04
)

// Errors of the wire protocol.
var (
	// ErrMalformedFrame: vpcd sent a message this package cannot interpret
	// (an empty message or an unknown control command).
	ErrMalformedFrame = errors.New("vpcd: malformed message")
	// ErrMessageTooLarge: a message exceeds the configured size bound, or a
	// response does not fit the 2-byte length.
	ErrMessageTooLarge = errors.New("vpcd: message too large")
	// ErrReaderClosed: vpcd closed the connection (pcscd stopped, or the
	// slot was taken down).
	ErrReaderClosed = errors.New("vpcd: reader closed the connection")
)

// FrameError describes a malformed message. It matches ErrMalformedFrame or
// ErrMessageTooLarge with errors.Is.
type FrameError struct {
	Length int    // the announced length
	Reason string // what is wrong
	Err    error  // ErrMalformedFrame or ErrMessageTooLarge
}

// Error describes the malformed message.
func (e *FrameError) Error() string {
	return fmt.Sprintf("%v: %s (length %d)", e.Err, e.Reason, e.Length)
}

// Unwrap returns ErrMalformedFrame or ErrMessageTooLarge.
func (e *FrameError) Unwrap() error { return e.Err }

// frameReader reads vpcd messages into a reused buffer.
type frameReader struct {
	r     io.Reader
	max   int
	hdr   [2]byte
	buf   []byte
	onHdr func() // called after each length header (TCP_QUICKACK)
}

// next returns the next message; the slice is valid until the next call.
// A clean end of stream before a header is ErrReaderClosed; a stream that
// ends inside a message is io.ErrUnexpectedEOF.
func (f *frameReader) next() ([]byte, error) {
	if _, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrReaderClosed
		}
		return nil, err
	}
	if f.onHdr != nil {
		f.onHdr()
	}
	n := int(binary.BigEndian.Uint16(f.hdr[:]))
	if n == 0 {
		return nil, &FrameError{Length: n, Reason: "empty message", Err: ErrMalformedFrame}
	}
	if n > f.max {
		return nil, &FrameError{Length: n, Reason: fmt.Sprintf("larger than the bound of %d bytes", f.max), Err: ErrMessageTooLarge}
	}
	if cap(f.buf) < n {
		f.buf = make([]byte, n)
	}
	b := f.buf[:n]
	if _, err := io.ReadFull(f.r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("vpcd: reading a %d-byte message: %w", n, err)
	}
	return b, nil
}

// appendFrame appends the length-prefixed payload to dst.
func appendFrame(dst, payload []byte) ([]byte, error) {
	if len(payload) > MaxMessageSize {
		return dst, &FrameError{Length: len(payload), Reason: "response does not fit a 2-byte length", Err: ErrMessageTooLarge}
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
	return append(dst, payload...), nil
}
