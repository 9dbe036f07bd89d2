package keys

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzParseKeyFile feeds arbitrary bytes to the key file parser: it never
// panics, every error matches ErrInvalidKey, no error text repeats a key
// value, and every key it accepts can be fetched back.
func FuzzParseKeyFile(f *testing.F) {
	f.Add([]byte(`{"keys":[{"name":"typea-enc","version":1,"alg":"aes","key":"000102030405060708090a0b0c0d0e0f"}]}`))
	f.Add([]byte(`{"keys":[{"name":"t","version":1,"alg":"3des","key":"0123456789abcdeffedcba9876543210"},{"name":"t","version":2,"alg":"aes","key":"00112233445566778899aabbccddeeff0011223344556677"}]}`))
	f.Add([]byte(`{"keys":[{"name":"t","version":1,"alg":"aes","key":"zz"}]}`))
	f.Add([]byte(`{"keys":[{"name":"t","version":1,"alg":"aes","key":"00"},{"name":"t","version":1,"alg":"aes","key":"00"}]}`))
	f.Add([]byte(`{"keys":[{"name":"","version":0}]}`))
	f.Add([]byte(`{"keys":[],"extra":1}`))
	f.Add([]byte(`[`))
	f.Add([]byte(`{"keys":[{"name":"t","version":1,"alg":"000102030405060708090a0b0c0d0e0f","key":"aes"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var probe keyFile
		_ = json.Unmarshal(raw, &probe)
		s, err := parseKeyFile(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("untyped error: %v", err)
			}
			for _, k := range probe.Keys {
				if len(k.Key) >= 8 && strings.Contains(err.Error(), k.Key) {
					t.Fatalf("error repeats a key value: %v", err)
				}
				// A key in the alg field (fields swapped) stays hidden too.
				if len(k.Alg) > maxQuotedAlgorithm && strings.Contains(err.Error(), k.Alg) {
					t.Fatalf("error repeats a long alg value: %v", err)
				}
			}
			return
		}
		for _, k := range probe.Keys {
			got, err := s.Key(context.Background(), KeyRef{Name: k.Name, Version: k.Version})
			if err != nil {
				t.Fatalf("accepted key %s v%d cannot be fetched: %v", k.Name, k.Version, err)
			}
			if got.Len() == 0 {
				t.Fatalf("accepted an empty key")
			}
		}
	})
}

func TestParseKeyFileRefusesTrailingData(t *testing.T) {
	for _, raw := range []string{`{"keys":[]} {"keys":[]}`, `{"keys":[]}x`, `{"keys":[]}]`} {
		_, err := parseKeyFile([]byte(raw))
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%q: got %v, want ErrInvalidKey", raw, err)
		}
	}
	if _, err := parseKeyFile([]byte("{\"keys\":[]}\n")); err != nil {
		t.Errorf("a trailing newline is fine: %v", err)
	}
}
