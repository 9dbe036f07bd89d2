//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	p11 "github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pkcs11test"
	"github.com/mynacard/freespace/keys"
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

// openToken opens the process's SoftHSM2 token (skipping the test without
// one) with cfg's load hook and session count.
func openToken(t *testing.T, cfg Config) (*Provider, pkcs11test.Token) {
	t.Helper()
	tok := pkcs11test.Get(t)
	cfg.ModulePath, cfg.Token, cfg.PIN = tok.Module, tok.Label, []byte(tok.PIN)
	p, err := Open(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p, tok
}

// uniq returns a label no other test of the process uses.
func uniq(t *testing.T, name string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%x", name, b)
}

// TestSection51VectorsThroughToken: the vectors of keys' tests and
// docs/PROTOCOL.md §5.1 (card keys for AES-128, AES-256, two-key 3DES; the
// data key) come out of the token's CMAC unchanged.
func TestSection51VectorsThroughToken(t *testing.T) {
	ctx := context.Background()
	p, _ := openToken(t, Config{})
	tests := []struct {
		alg          keys.Algorithm
		label        string
		master, want string
	}{
		{keys.AES, keys.DiversificationLabel, "404142434445464748494A4B4C4D4E4F", "AFE562BFC47C5CA061BBC893CC7FC301"},
		{keys.AES, keys.DiversificationLabel, "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F",
			"F1BFF50B4C705DDE41BE8DDF36827639488B6A43F7317EE7EDA4D091CCA62C60"},
		{keys.TDES, keys.DiversificationLabel, "404142434445464748494A4B4C4D4E4F", "A49D9BA88F75E9DA082FD08373CDECBA"},
		{keys.AES, keys.DataKeyLabel, "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F",
			"D39421D1CC0C34080251347D71ED0584E968243805E490D2B0FCFDB05614DC69"},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s-%d-%s", tt.alg, len(tt.master)/2, strings.ReplaceAll(tt.label, " ", "_")), func(t *testing.T) {
			ref := keys.KeyRef{Name: uniq(t, fmt.Sprintf("v%d", i)), Version: 1}
			m, err := keys.NewKey(tt.alg, h(tt.master))
			require.NoError(t, err)
			require.NoError(t, p.Import(ctx, ref, m))
			k, err := keys.DiversifyFor(ctx, p, ref, tt.label, h(testCUID), h(testAID))
			require.NoError(t, err)
			assert.Equal(t, h(tt.want), k.Bytes())
			assert.Equal(t, tt.alg, k.Algorithm())
			if tt.label == keys.DiversificationLabel {
				k2, err := p.Diversify(ctx, ref, h(testCUID), h(testAID))
				require.NoError(t, err)
				assert.Equal(t, h(tt.want), k2.Bytes())
			}
		})
	}
}

// TestTokenMatchesFileProvider: random masters of every size give the
// same card keys through the token as through keys.Store.
func TestTokenMatchesFileProvider(t *testing.T) {
	ctx := context.Background()
	p, _ := openToken(t, Config{})
	st := keys.NewStore()
	for _, c := range []struct {
		alg keys.Algorithm
		n   int
	}{{keys.AES, 16}, {keys.AES, 24}, {keys.AES, 32}, {keys.TDES, 16}} {
		raw := make([]byte, c.n)
		_, _ = rand.Read(raw)
		m, err := keys.NewKey(c.alg, raw)
		require.NoError(t, err)
		ref := keys.KeyRef{Name: uniq(t, fmt.Sprintf("%s%d", c.alg, c.n)), Version: 1}
		require.NoError(t, st.Add(ref, m))
		require.NoError(t, p.Import(ctx, ref, m))
		for i := 0; i < 3; i++ {
			cuid := make([]byte, 16)
			_, _ = rand.Read(cuid)
			want, err := st.Diversify(ctx, ref, cuid, h(testAID))
			require.NoError(t, err)
			got, err := p.Diversify(ctx, ref, cuid, h(testAID))
			require.NoError(t, err)
			assert.Equal(t, want.Bytes(), got.Bytes(), "%s %d", c.alg, c.n)
		}
	}
}

// TestMastersStayInside: Key refuses, the objects are sensitive and not
// extractable, and the module refuses to reveal CKA_VALUE.
func TestMastersStayInside(t *testing.T) {
	ctx := context.Background()
	p, _ := openToken(t, Config{})
	ref := keys.KeyRef{Name: uniq(t, "gen"), Version: 1}
	require.NoError(t, p.Generate(ctx, ref, keys.AES, 16))
	_, err := p.Key(ctx, ref)
	assert.ErrorIs(t, err, ErrNotExtractable)
	objs, err := p.List(ctx)
	require.NoError(t, err)
	var found bool
	for _, o := range objs {
		if o.Label == ref.Name {
			found = true
			assert.Equal(t, Object{Class: "secret", Label: ref.Name, Version: 1, Algorithm: "aes", Len: 16, Sensitive: true}, o)
		}
	}
	assert.True(t, found)
	err = p.with(ctx, "test", "", func(sh p11.SessionHandle) error {
		m, _, err := p.master(sh, ref)
		require.NoError(t, err)
		_, err = p.mod.GetAttributeValue(sh, m.h, []*p11.Attribute{p11.NewAttribute(p11.CKA_VALUE, nil)})
		return err
	})
	assert.Error(t, err, "the token must not reveal a master key's value")
}

// TestRotationLatestVersion: version 0 follows the highest version on the
// token; explicit versions stay reachable; generate refuses a duplicate.
func TestRotationLatestVersion(t *testing.T) {
	ctx := context.Background()
	p, _ := openToken(t, Config{})
	name := uniq(t, "rot")
	m1, _ := keys.NewKey(keys.AES, h("404142434445464748494A4B4C4D4E4F"))
	require.NoError(t, p.Import(ctx, keys.KeyRef{Name: name, Version: 1}, m1))
	require.NoError(t, p.Generate(ctx, keys.KeyRef{Name: name, Version: 2}, keys.AES, 16))
	err := p.Generate(ctx, keys.KeyRef{Name: name, Version: 2}, keys.AES, 16)
	assert.ErrorIs(t, err, ErrObjectExists)
	vs, err := p.KeyVersions(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, vs)
	assert.Equal(t, []int{1, 2}, p.Versions(name))
	v1, err := p.Diversify(ctx, keys.KeyRef{Name: name, Version: 1}, h(testCUID), h(testAID))
	require.NoError(t, err)
	assert.Equal(t, h("AFE562BFC47C5CA061BBC893CC7FC301"), v1.Bytes())
	latest, err := p.Diversify(ctx, keys.KeyRef{Name: name}, h(testCUID), h(testAID))
	require.NoError(t, err)
	v2, err := p.Diversify(ctx, keys.KeyRef{Name: name, Version: 2}, h(testCUID), h(testAID))
	require.NoError(t, err)
	assert.Equal(t, v2.Bytes(), latest.Bytes())
	assert.NotEqual(t, v1.Bytes(), v2.Bytes())
}

// TestWrongPIN runs while no other provider of the process is logged in
// (PKCS#11 login is per process: a second C_Login then answers
// CKR_USER_ALREADY_LOGGED_IN without checking the PIN).
func TestWrongPIN(t *testing.T) {
	tok := pkcs11test.Get(t)
	_, err := Open(context.Background(), Config{ModulePath: tok.Module, Token: tok.Label, PIN: []byte("wrong-" + tok.PIN)})
	assert.ErrorIs(t, err, ErrPINIncorrect)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), tok.PIN)
	assert.NotContains(t, err.Error(), "wrong-")
}

// TestTypedErrors: missing object, bad input, unsafe object, wrong PIN,
// missing token; none of them shows the PIN.
func TestTypedErrors(t *testing.T) {
	ctx := context.Background()
	p, tok := openToken(t, Config{})

	_, err := p.Diversify(ctx, keys.KeyRef{Name: uniq(t, "none"), Version: 3}, h(testCUID), h(testAID))
	assert.ErrorIs(t, err, ErrObjectMissing)
	assert.ErrorIs(t, err, keys.ErrKeyNotFound)
	_, err = p.Diversify(ctx, keys.KeyRef{Name: uniq(t, "none")}, h(testCUID), h(testAID))
	assert.ErrorIs(t, err, ErrObjectMissing)
	_, err = p.Diversify(ctx, keys.KeyRef{Name: "x", Version: 1}, make([]byte, 15), h(testAID))
	assert.ErrorIs(t, err, keys.ErrInvalidInput)
	_, err = p.DiversifyLabel(ctx, keys.KeyRef{Name: "x", Version: 1}, "a\x00b", h(testCUID), h(testAID))
	assert.ErrorIs(t, err, keys.ErrInvalidInput)

	// An extractable AES key with a master's label is refused.
	bad := keys.KeyRef{Name: uniq(t, "extractable"), Version: 1}
	require.NoError(t, p.with(ctx, "test", "", func(sh p11.SessionHandle) error {
		tmpl := secretTemplate(bad, p11.CKK_AES)
		for i, a := range tmpl {
			if a.Type == p11.CKA_EXTRACTABLE {
				tmpl[i] = p11.NewAttribute(p11.CKA_EXTRACTABLE, true)
			}
		}
		_, err := p.mod.CreateObject(sh, append(tmpl, p11.NewAttribute(p11.CKA_VALUE, make([]byte, 16))))
		return err
	}))
	_, err = p.Diversify(ctx, bad, h(testCUID), h(testAID))
	assert.ErrorIs(t, err, ErrUnsafeObject)

	// Another token label.
	_, err = Open(ctx, Config{ModulePath: tok.Module, Token: "no-such-token", PIN: []byte(tok.PIN)})
	assert.ErrorIs(t, err, ErrTokenAbsent)
	// A module path that is not a module.
	_, err = Open(ctx, Config{ModulePath: "/etc/hostname", Token: tok.Label, PIN: []byte(tok.PIN)})
	assert.ErrorIs(t, err, ErrModule)
	for _, s := range []string{p.String(), fmt.Sprintf("%v %+v", p, p)} {
		assert.NotContains(t, s, tok.PIN)
	}
}

// TestConcurrentTaps: many goroutines diversify through a pool of three
// sessions and all get the file provider's keys.
func TestConcurrentTaps(t *testing.T) {
	ctx := context.Background()
	p, _ := openToken(t, Config{Sessions: 3})
	st := keys.NewStore()
	refs := []keys.KeyRef{{Name: uniq(t, "enc"), Version: 1}, {Name: uniq(t, "mac"), Version: 1}}
	for _, ref := range refs {
		raw := make([]byte, 16)
		_, _ = rand.Read(raw)
		m, _ := keys.NewKey(keys.AES, raw)
		require.NoError(t, st.Add(ref, m))
		require.NoError(t, p.Import(ctx, ref, m))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				cuid := make([]byte, 16)
				_, _ = rand.Read(cuid)
				for _, ref := range refs {
					want, _ := st.Diversify(ctx, ref, cuid, h(testAID))
					got, err := p.Diversify(ctx, ref, cuid, h(testAID))
					if err != nil {
						errs <- err
						return
					}
					if string(want.Bytes()) != string(got.Bytes()) {
						errs <- errors.New("card key differs from the file provider's")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A cancelled context while every session is busy returns promptly.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := p.Diversify(cctx, refs[0], h(testCUID), h(testAID))
	assert.ErrorIs(t, err, context.Canceled)
}

// TestEd25519SignerInToken: a key pair generated in the token signs with
// CKM_EDDSA; the signature verifies with crypto/ed25519; prehashed
// signing is refused; the private key is not extractable.
func TestEd25519SignerInToken(t *testing.T) {
	ctx := context.Background()
	p, _ := openToken(t, Config{})
	label := uniq(t, "feed")
	pub, err := p.GenerateEd25519(ctx, label, 1)
	require.NoError(t, err)
	_, err = p.GenerateEd25519(ctx, label, 1)
	assert.ErrorIs(t, err, ErrObjectExists)
	s, err := p.Signer(ctx, label, 0)
	require.NoError(t, err)
	assert.Equal(t, pub, s.Public())
	var signer crypto.Signer = s
	msg := []byte("feed index")
	sig, err := signer.Sign(rand.Reader, msg, crypto.Hash(0))
	require.NoError(t, err)
	assert.True(t, ed25519.Verify(pub, msg, sig))
	_, err = signer.Sign(rand.Reader, msg, crypto.SHA512)
	assert.Error(t, err)
	objs, err := p.List(ctx)
	require.NoError(t, err)
	n := 0
	for _, o := range objs {
		if o.Label == label {
			n++
			assert.Equal(t, "ed25519", o.Algorithm)
			if o.Class == "private" {
				assert.False(t, o.Extractable)
				assert.True(t, o.Sensitive)
			}
		}
	}
	assert.Equal(t, 2, n)
	_, err = p.Signer(ctx, uniq(t, "nofeed"), 0)
	assert.ErrorIs(t, err, ErrObjectMissing)
}
