package typed

import (
	"errors"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// FuzzParseFCPSize feeds arbitrary SELECT EF answers to the FCP parser:
// it never panics, every error is profile.ErrMalformed, a size it gives is
// positive, fits 15-bit offsets' 16-bit field and is what tag 80 says,
// and "no size" is given only for input without a well-formed tag 80.
func FuzzParseFCPSize(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x62, 0x0B, 0x80, 0x02, 0x10, 0x00, 0x82, 0x01, 0x01, 0x83, 0x02, 0x00, 0x04})
	f.Add([]byte{0x62, 0x05, 0x80, 0x03, 0x00, 0x03, 0xE8})
	f.Add([]byte{0x62, 0x03, 0x82, 0x01, 0x01})
	f.Add([]byte{0x62, 0x02, 0x80, 0x00})
	f.Add([]byte{0x62, 0x0B, 0x80, 0x02, 0x10})
	f.Add([]byte{0x62, 0x04, 0xA5, 0x02, 0x80, 0x05})
	f.Add([]byte{0x62, 0x04, 0x80, 0x02, 0x10, 0x00, 0x85})
	f.Fuzz(func(t *testing.T, fcp []byte) {
		size, sized, err := parseFCPSize(fcp)
		if err != nil {
			if !errors.Is(err, profile.ErrMalformed) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		o, ferr := apdu.FindBER(fcp, tagFileSize)
		if !sized {
			if ferr == nil {
				t.Fatalf("tag 80 (% X) present but no size given", o.Value)
			}
			return
		}
		if ferr != nil || size <= 0 || size > 0xFFFF {
			t.Fatalf("size %d from % X (tag 80: %v)", size, fcp, ferr)
		}
		var want int
		for _, b := range o.Value {
			want = want<<8 | int(b) // at most two significant bytes here
		}
		if want != size {
			t.Fatalf("size %d, tag 80 says %d", size, want)
		}
	})
}

// TestParseFCPSize covers the accepted encodings: none, no tag 80, one,
// two and (with leading zeros) more bytes.
func TestParseFCPSize(t *testing.T) {
	tests := []struct {
		fcp   []byte
		size  int
		sized bool
	}{
		{nil, 0, false},
		{[]byte{0x62, 0x03, 0x82, 0x01, 0x01}, 0, false},
		{[]byte{0x62, 0x03, 0x80, 0x01, 0xC8}, 200, true},
		{[]byte{0x62, 0x04, 0x80, 0x02, 0x10, 0x00}, 4096, true},
		{[]byte{0x62, 0x07, 0x80, 0x05, 0x00, 0x00, 0x00, 0x7F, 0xFF}, 0x7FFF, true},
		{[]byte{0x62, 0x06, 0xA5, 0x04, 0x80, 0x02, 0x03, 0xE8}, 1000, true},
	}
	for _, tt := range tests {
		size, sized, err := parseFCPSize(tt.fcp)
		if err != nil || size != tt.size || sized != tt.sized {
			t.Errorf("% X: got %d %v %v, want %d %v", tt.fcp, size, sized, err, tt.size, tt.sized)
		}
	}
}
