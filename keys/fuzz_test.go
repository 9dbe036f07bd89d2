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
// probeFile is the key file as encoding/json reads it, to compare with.
type probeFile struct {
	Keys []struct {
		Name    string `json:"name"`
		Version int    `json:"version"`
		Alg     string `json:"alg"`
		Key     string `json:"key"`
	} `json:"keys"`
}

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
		var probe probeFile
		_ = json.Unmarshal(raw, &probe)
		var sc scratch
		s, err := parseKeyFile(raw, &sc)
		sc.wipe()
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
		_, err := parseKeyFile([]byte(raw), &scratch{})
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%q: got %v, want ErrInvalidKey", raw, err)
		}
	}
	if _, err := parseKeyFile([]byte("{\"keys\":[]}\n"), &scratch{}); err != nil {
		t.Errorf("a trailing newline is fine: %v", err)
	}
}

// FuzzEnvKey feeds an arbitrary variable (the part of its name after
// FREESPACE_KEY_T_V, and its value) next to a good version 1 to the
// environment provider: it never panics, every error is typed, no error
// repeats the value, and a key it returns for "latest" is one of the two
// variables' keys.
func FuzzEnvKey(f *testing.F) {
	f.Add("2", "aes:00112233445566778899aabbccddeeff")
	f.Add("03", "aes:00112233445566778899aabbccddeeff")
	f.Add("+3", "3des:0123456789abcdeffedcba9876543210")
	f.Add("0", "aes:00")
	f.Add("", "x")
	f.Add("_V2", "aes:zz")
	f.Add("99999999999999999999", "aes:00112233445566778899aabbccddeeff")
	f.Add("2", "00112233445566778899aabbccddeeff:aes")
	const good = "aes:000102030405060708090a0b0c0d0e0f"
	f.Fuzz(func(t *testing.T, suffix, value string) {
		if strings.ContainsAny(suffix, "=\x00") {
			return // not a variable name
		}
		env := Env{Environ: func() []string {
			return []string{"FREESPACE_KEY_T_V1=" + good, "FREESPACE_KEY_T_V" + suffix + "=" + value}
		}}
		for _, ref := range []KeyRef{{Name: "t"}, {Name: "t", Version: 1}, {Name: "t", Version: 2}} {
			k, err := env.Key(context.Background(), ref)
			if err != nil {
				if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrInvalidEnvName) && !errors.Is(err, ErrKeyNotFound) {
					t.Fatalf("%s: untyped error: %v", ref, err)
				}
				// A key (16+ hex digits) in the value never shows; the
				// variable's own name may (it holds no secret).
				if _, hx, ok := strings.Cut(value, ":"); ok && len(hx) >= 16 && !strings.Contains(suffix, hx) &&
					strings.Trim(hx, "0123456789abcdefABCDEF") == "" && strings.Contains(err.Error(), hx) {
					t.Fatalf("%s: error repeats the key: %v", ref, err)
				}
				if len(value) >= 16 && !strings.Contains(suffix, value) && strings.Contains(err.Error(), value) {
					t.Fatalf("%s: error repeats the value: %v", ref, err)
				}
				continue
			}
			if k.Len() == 0 {
				t.Fatalf("%s: empty key", ref)
			}
		}
	})
}
