package profile

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseCUID: ParseCUID and CUID.UnmarshalText (the CUIDs of revocation
// files, command lines and JSON) accept exactly 32 hex digits, refuse
// anything else with ErrInvalidCUID, and round-trip through String.
func FuzzParseCUID(f *testing.F) {
	for _, s := range []string{
		"00112233445566778899aabbccddeeff", "00112233445566778899AABBCCDDEEFF",
		"", "0011", "zz112233445566778899aabbccddeeff", "00112233445566778899aabbccddeeff00",
		"0x112233445566778899aabbccddeeff", " 0112233445566778899aabbccddeeff", "00112233445566778899aabbccddeef\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCUID(s)
		var u CUID
		uerr := u.UnmarshalText([]byte(s))
		if (err == nil) != (uerr == nil) || c != u {
			t.Fatalf("ParseCUID and UnmarshalText disagree on %q: %v / %v", s, err, uerr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidCUID) {
				t.Fatalf("untyped error for %q: %v", s, err)
			}
			if c != (CUID{}) {
				t.Fatalf("refused %q but returned %v", s, c)
			}
			return
		}
		if len(s) != 2*CUIDLen {
			t.Fatalf("accepted %q of %d characters", s, len(s))
		}
		if got := c.String(); got != strings.ToLower(s) {
			t.Fatalf("String of %q is %q", s, got)
		}
		again, err := ParseCUID(c.String())
		if err != nil || again != c {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
		b, err := CUIDFromBytes(c[:])
		if err != nil || b != c {
			t.Fatalf("CUIDFromBytes of %q: %v, %v", s, b, err)
		}
	})
}

// FuzzParseAID: ParseAID (AIDs from flags and configuration) returns an
// AID of 5 to 16 bytes or an error matching ErrInvalidAID, and the AID
// round-trips through String.
func FuzzParseAID(f *testing.F) {
	for _, s := range []string{
		"D3 92 F0 00 26 01 00 00 00 01", "D392F000260100000001", "d3:92:f0:00:26", "F0465245455350414345 43",
		"", "D392", "zz92F00026", "00112233445566778899AABBCCDDEEFF00", "D392F0002", "D3\t92F00026", "0xD392F00026",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidAID) {
				t.Fatalf("untyped error for %q: %v", s, err)
			}
			if a != nil {
				t.Fatalf("refused %q but returned %v", s, a)
			}
			return
		}
		if len(a) < 5 || len(a) > 16 || a.Validate() != nil {
			t.Fatalf("accepted %q as an AID of %d bytes", s, len(a))
		}
		again, err := ParseAID(a.String())
		if err != nil || !again.Equal(a) {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
	})
}
