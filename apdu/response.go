package apdu

import "fmt"

// Response is a response APDU: data followed by the status word
// (ISO/IEC 7816-4 §5.1).
type Response struct {
	Data []byte     // the response data field
	SW   StatusWord // SW1 SW2
}

// ParseResponse splits a raw response into data and status word. The
// returned Data aliases b. A response shorter than two bytes is an
// ErrMalformedResponse.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: %d bytes, need at least the 2 status bytes", ErrMalformedResponse, len(b))
	}
	n := len(b) - 2
	return Response{Data: b[:n], SW: StatusWord(uint16(b[n])<<8 | uint16(b[n+1]))}, nil
}

// Err returns nil when the status word reports normal processing (9000) and
// the status word as an error otherwise; see StatusWord.Err.
func (r Response) Err() error { return r.SW.Err() }

// AppendTo appends data || SW1 SW2 to dst.
func (r Response) AppendTo(dst []byte) []byte {
	dst = append(dst, r.Data...)
	return append(dst, r.SW.SW1(), r.SW.SW2())
}

// Bytes returns data || SW1 SW2 in a new slice.
func (r Response) Bytes() []byte {
	return r.AppendTo(make([]byte, 0, len(r.Data)+2))
}

// String describes the response without its data, which may hold secrets
// (challenges, cryptograms, decrypted records): "9000 with 8 data bytes".
func (r Response) String() string {
	return fmt.Sprintf("%04X with %d data bytes", uint16(r.SW), len(r.Data))
}

// GoString is like String so that %#v does not print the data either.
func (r Response) GoString() string { return "apdu.Response{" + r.String() + "}" }
