package keys

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseKeyFileWipesItsBuffers is issue 10 §8: decoding a key file left
// copies of the keys' hex on the heap (encoding/json's Decoder buffers and
// string fields nothing could wipe). Now every buffer the parser fills
// with the file's bytes or a key's hex or binary form is tracked and
// wiped: the test sees them hold the key before the wipe and zero after.
// (Go cannot promise more: see LoadFile.)
func TestParseKeyFileWipesItsBuffers(t *testing.T) {
	secret2 := "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"
	body := `{"keys": [
		{"key": "` + fileSecret + `", "name": "typea-enc", "alg": "aes", "version": 1},
		{"name": "typed-data", "version": 3, "alg": "aes", "key": "` + strings.ToLower(secret2) + `"}
	]}`
	p := writeKeyFile(t, body, 0o600)
	var before [][]byte
	sc := &scratch{beforeWipe: func(bufs [][]byte) {
		for _, b := range bufs {
			before = append(before, bytes.Clone(b))
		}
	}}
	s, err := loadFile(p, sc)
	require.NoError(t, err)
	sc.wipe()

	// Before the wipe: the file's bytes (with both keys in hex) and each
	// key's binary form were in the tracked buffers ...
	joined := bytes.Join(before, nil)
	assert.Contains(t, string(joined), fileSecret, "the file buffer is tracked")
	assert.Contains(t, string(joined), strings.ToLower(secret2))
	k1, k2 := h(fileSecret), h(secret2)
	// (the binary buffers were cleared right after use: they show zero)
	require.Len(t, sc.bufs, 3, "the file buffer and one buffer per key")
	// ... after it, every one is zero.
	for i, b := range sc.bufs {
		assert.Equal(t, make([]byte, len(b)), b, "buffer %d wiped", i)
	}
	// The keys live on only in the Store, which Zero wipes.
	ctx := context.Background()
	got, err := s.Key(ctx, KeyRef{"typea-enc", 1})
	require.NoError(t, err)
	assert.Equal(t, k1, got.Bytes())
	got, err = s.Key(ctx, KeyRef{"typed-data", 3})
	require.NoError(t, err)
	assert.Equal(t, k2, got.Bytes())
	s.Zero()
	for _, ref := range []KeyRef{{"typea-enc", 1}, {"typed-data", 3}} {
		got, err := s.Key(ctx, ref)
		require.NoError(t, err)
		assert.Equal(t, make([]byte, got.Len()), got.Bytes())
	}

	// On error the partial Store and the buffers are wiped too.
	bad := []byte(`{"keys":[{"name":"a","version":1,"alg":"aes","key":"` + fileSecret + `"},{"name":"a","version":1,"alg":"aes","key":"zz"}],"x":1}`)
	sc2 := &scratch{}
	_, err = parseKeyFile(bad, sc2)
	require.ErrorIs(t, err, ErrInvalidKey)
	sc2.wipe()
	for _, b := range sc2.bufs {
		assert.Equal(t, make([]byte, len(b)), b)
	}
	assert.NotContains(t, strings.ToUpper(hex.EncodeToString(bytes.Join(sc2.bufs, nil))), fileSecret)
}

// TestParseKeyFileStrict: unknown, repeated and long members are refused
// without quoting what may be a key; escapes in names are decoded, never
// in keys.
func TestParseKeyFileStrict(t *testing.T) {
	k := `"alg":"aes","key":"` + fileSecret + `"`
	for name, body := range map[string]string{
		"repeated keys":        `{"keys":[],"keys":[{"name":"a","version":1,` + k + `}]}`,
		"repeated key member":  `{"keys":[{"name":"a","version":1,` + k + `,"key":"00"}]}`,
		"unknown member":       `{"keys":[{"name":"a","version":1,` + k + `,"kye":"x"}]}`,
		"key as a member name": `{"keys":[{"` + fileSecret + `":1}]}`,
		"escape in the key":    `{"keys":[{"name":"a","version":1,"alg":"aes","key":"\u0030` + fileSecret[1:] + `"}]}`,
		"odd hex":              `{"keys":[{"name":"a","version":1,"alg":"aes","key":"` + fileSecret[1:] + `"}]}`,
		"version a string":     `{"keys":[{"name":"a","version":"1",` + k + `}]}`,
		"version a fraction":   `{"keys":[{"name":"a","version":1.5,` + k + `}]}`,
		"keys not an array":    `{"keys":{}}`,
		"no key":               `{"keys":[{"name":"a","version":1,"alg":"aes"}]}`,
		"trailing comma":       `{"keys":[{"name":"a","version":1,` + k + `},]}`,
		"unterminated":         `{"keys":[{"name":"a","version":1,` + k,
		"control char":         "{\"keys\":[{\"name\":\"a\x01\",\"version\":1," + k + "}]}",
		"empty":                ``,
		"top-level array":      `[]`,
		"alg holds a key":      `{"keys":[{"name":"a","version":1,"alg":"` + fileSecret + `","key":"aes"}]}`,
		"unknown top member":   `{"keys":[],"other":1}`,
		"null keys":            `{"keys":null}`,
		"version zero":         `{"keys":[{"name":"a","version":0,` + k + `}]}`,
		"empty name":           `{"keys":[{"name":"","version":1,` + k + `}]}`,
	} {
		_, err := parseKeyFile([]byte(body), &scratch{})
		require.ErrorIs(t, err, ErrInvalidKey, name)
		assert.NotContains(t, strings.ToUpper(err.Error()), fileSecret[:8], name)
	}
	s, err := parseKeyFile([]byte(` { "keys" : [ { "name" : "a\u002db" , "version" : 2 , "alg" : "AES" , "key" : "`+strings.ToLower(fileSecret)+`" } ] } `), &scratch{})
	require.NoError(t, err)
	got, err := s.Key(context.Background(), KeyRef{"a-b", 2})
	require.NoError(t, err)
	assert.Equal(t, h(fileSecret), got.Bytes())
}
