package keys

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/securefile"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

const (
	testCUID = "000102030405060708090A0B0C0D0E0F"
	testAID  = "F0000000010001"
)

func TestKeyRedaction(t *testing.T) {
	secret := h("DEADBEEF00112233445566778899AABB")
	k, err := NewKey(AES, secret)
	require.NoError(t, err)
	type holder struct{ K Key }
	type hidden struct{ k Key } // unexported: fmt cannot call Key's methods
	outs := []string{
		k.String(), k.GoString(),
		fmt.Sprintf("%v %+v %#v %s %x %X %q %d", k, k, k, k, k, k, k, k),
		fmt.Sprintf("%v %+v %#v", holder{k}, &holder{k}, holder{k}),
	}
	for _, s := range outs {
		assert.NotContains(t, strings.ToUpper(s), "DEADBEEF", s)
		assert.NotContains(t, s, string(secret), s)
		assert.Contains(t, s, "redacted")
	}
	for _, s := range []string{fmt.Sprintf("%v %+v %#v", hidden{k}, hidden{k}, hidden{k})} {
		assert.NotContains(t, strings.ToUpper(s), "DEADBEEF", s)
		assert.NotContains(t, s, "222 173", s) // DE AD in decimal
	}
	k.Zero()
	assert.Equal(t, make([]byte, 16), k.Bytes())
}

func TestNewKeyLengths(t *testing.T) {
	tests := []struct {
		alg Algorithm
		n   int
		ok  bool
	}{
		{AES, 16, true}, {AES, 24, true}, {AES, 32, true}, {AES, 15, false}, {AES, 0, false},
		{TDES, 16, true}, {TDES, 24, false}, {TDES, 8, false}, {0, 16, false},
	}
	for _, tt := range tests {
		_, err := NewKey(tt.alg, make([]byte, tt.n))
		if tt.ok {
			assert.NoError(t, err, "%s %d", tt.alg, tt.n)
		} else {
			assert.ErrorIs(t, err, ErrInvalidKey, "%s %d", tt.alg, tt.n)
		}
	}
}

func TestDiversify(t *testing.T) {
	// Expected card keys computed independently of this code (SP 800-108
	// counter mode written out over a separate CMAC implementation) for
	// Label "freespace card key", CUID 000102…0F, AID F0000000010001.
	tests := []struct {
		alg          Algorithm
		master, want string
	}{
		{AES, "404142434445464748494A4B4C4D4E4F", "AFE562BFC47C5CA061BBC893CC7FC301"},
		{AES, "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F",
			"F1BFF50B4C705DDE41BE8DDF36827639488B6A43F7317EE7EDA4D091CCA62C60"},
		{TDES, "404142434445464748494A4B4C4D4E4F", "A49D9BA88F75E9DA082FD08373CDECBA"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%d", tt.alg, len(tt.master)/2), func(t *testing.T) {
			m, err := NewKey(tt.alg, h(tt.master))
			require.NoError(t, err)
			k, err := Diversify(m, h(testCUID), h(testAID))
			require.NoError(t, err)
			assert.Equal(t, h(tt.want), k.Bytes())
			assert.Equal(t, tt.alg, k.Algorithm())
			// Another card gets another key.
			other := h(testCUID)
			other[15] ^= 1
			k2, err := Diversify(m, other, h(testAID))
			require.NoError(t, err)
			assert.NotEqual(t, k.Bytes(), k2.Bytes())
		})
	}
}

func TestDiversifyInputErrors(t *testing.T) {
	m, err := NewKey(AES, make([]byte, 16))
	require.NoError(t, err)
	_, err = Diversify(m, make([]byte, 15), h(testAID))
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = Diversify(m, h(testCUID), make([]byte, 4))
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = Diversify(m, h(testCUID), make([]byte, 17))
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = Diversify(Key{}, h(testCUID), h(testAID))
	assert.ErrorIs(t, err, ErrInvalidKey)
}

func TestStoreVersions(t *testing.T) {
	ctx := context.Background()
	s := NewStore()
	for v := 1; v <= 3; v++ {
		k, err := NewKey(AES, []byte(strings.Repeat(string(rune('a'+v)), 16)))
		require.NoError(t, err)
		require.NoError(t, s.Add(KeyRef{"typea-enc", v}, k))
	}
	latest, err := s.Key(ctx, KeyRef{Name: "typea-enc"})
	require.NoError(t, err)
	assert.Equal(t, []byte(strings.Repeat("d", 16)), latest.Bytes())
	v1, err := s.Key(ctx, KeyRef{"typea-enc", 1})
	require.NoError(t, err)
	assert.Equal(t, []byte(strings.Repeat("b", 16)), v1.Bytes())
	v1.Zero() // a returned key is a copy
	again, err := s.Key(ctx, KeyRef{"typea-enc", 1})
	require.NoError(t, err)
	assert.Equal(t, []byte(strings.Repeat("b", 16)), again.Bytes())
	assert.Equal(t, []int{1, 2, 3}, s.Versions("typea-enc"))

	_, err = s.Key(ctx, KeyRef{"typea-enc", 9})
	assert.ErrorIs(t, err, ErrKeyNotFound)
	_, err = s.Key(ctx, KeyRef{Name: "nope"})
	assert.ErrorIs(t, err, ErrKeyNotFound)
	assert.ErrorIs(t, s.Add(KeyRef{"x", 0}, latest), ErrInvalidKey)

	d, err := s.Diversify(ctx, KeyRef{Name: "typea-enc"}, h(testCUID), h(testAID))
	require.NoError(t, err)
	want, err := Diversify(latest, h(testCUID), h(testAID))
	require.NoError(t, err)
	assert.Equal(t, want.Bytes(), d.Bytes())
}

const fileSecret = "C0FFEE00112233445566778899AABBCC"

func writeKeyFile(t *testing.T, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	require.NoError(t, os.Chmod(p, mode))
	return p
}

func TestLoadFile(t *testing.T) {
	body := `{"keys": [
		{"name": "typea-enc", "version": 1, "alg": "aes", "key": "` + fileSecret + `"},
		{"name": "typea-enc", "version": 2, "alg": "aes", "key": "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"},
		{"name": "legacy-mac", "version": 1, "alg": "3des", "key": "404142434445464748494A4B4C4D4E4F"}
	]}`
	s, err := LoadFile(writeKeyFile(t, body, 0o600))
	require.NoError(t, err)
	ctx := context.Background()
	k, err := s.Key(ctx, KeyRef{Name: "typea-enc"})
	require.NoError(t, err)
	assert.Equal(t, 32, k.Len())
	k, err = s.Key(ctx, KeyRef{"typea-enc", 1})
	require.NoError(t, err)
	assert.Equal(t, h(fileSecret), k.Bytes())
	k, err = s.Key(ctx, KeyRef{Name: "legacy-mac"})
	require.NoError(t, err)
	assert.Equal(t, TDES, k.Algorithm())
}

func TestLoadFileRefusesOpenPermissions(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o601} {
		p := writeKeyFile(t, `{"keys": []}`, mode)
		_, err := LoadFile(p)
		assert.ErrorIs(t, err, ErrInsecureFile, "mode %04o", mode)
		var se *securefile.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, securefile.SecretAccessible, se.Problem)
		assert.Equal(t, mode, se.Mode.Perm())
		assert.Contains(t, se.Remedy(), "chmod 600", "the remedy is for the CLI, not in the error")
		assert.NotContains(t, err.Error(), "chmod")
	}
	_, err := LoadFile(writeKeyFile(t, `{"keys": []}`, 0o400))
	assert.NoError(t, err)
}

func TestLoadFileErrorsHideKeys(t *testing.T) {
	tests := []struct{ name, body string }{
		{"bad hex", `{"keys":[{"name":"a","version":1,"alg":"aes","key":"` + fileSecret[:30] + `zz"}]}`},
		{"bad length", `{"keys":[{"name":"a","version":1,"alg":"aes","key":"` + fileSecret[:30] + `"}]}`},
		{"bad alg", `{"keys":[{"name":"a","version":1,"alg":"rc4","key":"` + fileSecret + `"}]}`},
		{"no version", `{"keys":[{"name":"a","alg":"aes","key":"` + fileSecret + `"}]}`},
		{"duplicate", `{"keys":[{"name":"a","version":1,"alg":"aes","key":"` + fileSecret + `"},{"name":"a","version":1,"alg":"aes","key":"` + fileSecret + `"}]}`},
		{"unknown field", `{"keys":[{"name":"a","version":1,"alg":"aes","key":"` + fileSecret + `","x":1}]}`},
		{"not json", `{"keys":[{"name":"a","version":1,"alg":"aes","key":"` + fileSecret},
		{"wrong type", `{"keys":[{"name":"a","version":1,"alg":"aes","key":12345678}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFile(writeKeyFile(t, tt.body, 0o600))
			require.ErrorIs(t, err, ErrInvalidKey)
			msg := strings.ToUpper(err.Error())
			assert.NotContains(t, msg, fileSecret[:8])
			assert.NotContains(t, msg, "12345678")
		})
	}
	_, err := LoadFile(filepath.Join(t.TempDir(), "missing.json"))
	assert.Error(t, err)
}

func TestEnvProvider(t *testing.T) {
	env := Env{Environ: func() []string {
		return []string{
			"PATH=/bin",
			"FREESPACE_KEY_TYPEA_ENC_V1=aes:" + fileSecret,
			"FREESPACE_KEY_TYPEA_ENC_V10=aes:00112233445566778899AABBCCDDEEFF",
			"FREESPACE_KEY_TYPEA_ENC_V2=aes:FFEEDDCCBBAA99887766554433221100",
			"FREESPACE_KEY_LEGACY_V1=3des:404142434445464748494A4B4C4D4E4F",
			"FREESPACE_KEY_BROKEN_V1=aes" + fileSecret,
			"FREESPACE_KEY_BADHEX_V1=aes:" + fileSecret[:30] + "zz",
		}
	}}
	ctx := context.Background()
	k, err := env.Key(ctx, KeyRef{Name: "typea-enc"})
	require.NoError(t, err)
	assert.Equal(t, h("00112233445566778899AABBCCDDEEFF"), k.Bytes(), "latest is V10, not V2")
	k, err = env.Key(ctx, KeyRef{"typea-enc", 1})
	require.NoError(t, err)
	assert.Equal(t, h(fileSecret), k.Bytes())
	k, err = env.Key(ctx, KeyRef{Name: "legacy"})
	require.NoError(t, err)
	assert.Equal(t, TDES, k.Algorithm())
	assert.Equal(t, "FREESPACE_KEY_TYPEA_ENC_V3", EnvName(KeyRef{"typea-enc", 3}))

	for _, name := range []string{"broken", "badhex"} {
		_, err = env.Key(ctx, KeyRef{Name: name})
		require.ErrorIs(t, err, ErrInvalidKey)
		assert.NotContains(t, strings.ToUpper(err.Error()), fileSecret[:8])
	}
	_, err = env.Key(ctx, KeyRef{Name: "absent"})
	assert.ErrorIs(t, err, ErrKeyNotFound)
	_, err = env.Key(ctx, KeyRef{"typea-enc", 3})
	assert.ErrorIs(t, err, ErrKeyNotFound)

	d, err := env.Diversify(ctx, KeyRef{"legacy", 1}, h(testCUID), h(testAID))
	require.NoError(t, err)
	assert.Equal(t, h("A49D9BA88F75E9DA082FD08373CDECBA"), d.Bytes())
}

func TestProvidersSatisfyInterface(t *testing.T) {
	var _ Provider = NewStore()
	var _ Provider = Env{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewStore().Key(ctx, KeyRef{Name: "a"})
	assert.ErrorIs(t, err, context.Canceled)
}

// TestAlgorithmErrorHidesKey: a key written into the algorithm field by
// mistake (fields swapped in the key file, "<hex>:aes" in a variable) must
// not come back in the error text.
func TestAlgorithmErrorHidesKey(t *testing.T) {
	const secret = "deadbeef00112233445566778899aabb"
	_, err := ParseAlgorithm(secret)
	require.ErrorIs(t, err, ErrInvalidKey)
	assert.NotContains(t, err.Error(), secret)

	_, err = parseKeyFile([]byte(`{"keys":[{"name":"t","version":1,"alg":"`+secret+`","key":"aes"}]}`), &scratch{})
	require.ErrorIs(t, err, ErrInvalidKey)
	assert.NotContains(t, strings.ToLower(err.Error()), "deadbeef")

	env := Env{Environ: func() []string { return []string{"FREESPACE_KEY_T_V1=" + secret + ":aes"} }}
	_, err = env.Key(context.Background(), KeyRef{Name: "t", Version: 1})
	require.ErrorIs(t, err, ErrInvalidKey)
	assert.NotContains(t, strings.ToLower(err.Error()), "deadbeef")

	// A short, mistyped name is still quoted to help the operator.
	_, err = ParseAlgorithm("aes128")
	require.ErrorIs(t, err, ErrInvalidKey)
	assert.Contains(t, err.Error(), `"aes128"`)
}

// TestParseKeyFileDuplicateCheckCopiesNoKey: finding a duplicate entry
// makes no copy of any key (a copy made only to test presence would be
// left unzeroed). The duplicate path must allocate exactly what the
// version-0 path does plus the difference between the two error messages:
// the same first entry and same-sized JSON either way, so a copy of the
// stored key (its bytes and their holder) would show as extra
// allocations.
func TestParseKeyFileDuplicateCheckCopiesNoKey(t *testing.T) {
	k := `"alg":"aes","key":"` + fileSecret + `"`
	dup := []byte(`{"keys":[{"name":"a","version":1,` + k + `},{"name":"a","version":1,` + k + `}]}`)
	v0 := []byte(`{"keys":[{"name":"a","version":1,` + k + `},{"name":"a","version":0,` + k + `}]}`)
	_, err := parseKeyFile(dup, &scratch{})
	require.EqualError(t, err, errDuplicate(KeyRef{"a", 1}).Error())
	_, err = parseKeyFile(v0, &scratch{})
	require.EqualError(t, err, errEntryRef(1).Error())

	if raceEnabled {
		t.Skip("allocation counts are not exact under the race detector")
	}
	allocs := func(f func()) float64 { return testing.AllocsPerRun(200, f) }
	extra := allocs(func() { _, _ = parseKeyFile(dup, &scratch{}) }) - allocs(func() { _, _ = parseKeyFile(v0, &scratch{}) })
	msgs := allocs(func() { _ = errDuplicate(KeyRef{"a", 1}) }) - allocs(func() { _ = errEntryRef(1) })
	assert.Equal(t, msgs, extra, "allocations of the duplicate check beyond its error message")
}
