package jpki

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/revocation/feed"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pinFunc returns a PINFunc giving pin and counting its calls.
func pinFunc(pin string, calls *int) PINFunc {
	return func(ctx context.Context, st profile.PasswordStatus) (profile.Password, error) {
		*calls++
		return profile.Password(pin), nil
	}
}

func baseOptions(p *testPKI) AuthOptions {
	return AuthOptions{Roots: []*x509.Certificate{p.other, p.root}, Time: func() time.Time { return testNow }, NoRevocation: true}
}

func TestAuthenticate(t *testing.T) {
	p := newTestPKI(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		extended bool
		withPIN  bool
		apdus    int
	}{
		// The issue's count with a ~1.9 KB certificate: SELECT AP, SELECT
		// EF, 8 READs (1 extended), SELECT PIN EF, status, VERIFY, SELECT
		// key, signature; a prompt between adds SELECT AP and PIN EF.
		{"short, PIN known", false, true, 15},
		{"extended, PIN known", true, true, 8},
		{"short, PIN prompt", false, false, 17},
		{"extended, PIN prompt", true, false, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := newFakeCard(p)
			card.extended = tt.extended
			card.eofSW = apdu.WarnEndOfFile
			opts := baseOptions(p)
			var calls int
			opts.PIN = pinFunc("1234", &calls)
			if tt.extended {
				opts.Read.MaxChunk = 4096
			}
			a, err := NewAuthenticator(opts)
			require.NoError(t, err)
			var res *Result
			if tt.withPIN {
				res, err = a.AuthenticateWithPIN(ctx, card, profile.Password("1234"))
			} else {
				res, err = a.Authenticate(ctx, card)
			}
			require.NoError(t, err)
			assert.Equal(t, tt.apdus, res.APDUs)
			assert.Len(t, card.sent, tt.apdus)
			assert.Equal(t, sha256.Sum256(p.leaf.RawSubjectPublicKeyInfo), res.Identity.ID)
			want, _ := revocation.CertificateKey(p.leaf.RawIssuer, p.leaf.SerialNumber)
			assert.Equal(t, want, res.Identity.RevocationKey)
			assert.Equal(t, p.root.Raw, res.Chain[len(res.Chain)-1].Raw)
			if !tt.withPIN {
				assert.Equal(t, 1, calls)
				assert.Equal(t, 2, card.txCount, "one transaction before the prompt, one after")
			} else {
				assert.Equal(t, 1, card.txCount)
			}
		})
	}
}

func TestAuthenticateChallengeFresh(t *testing.T) {
	p := newTestPKI(t)
	a, err := NewAuthenticator(baseOptions(p))
	require.NoError(t, err)
	var sigs [][]byte
	for range 2 {
		card := newFakeCard(p)
		_, err := a.AuthenticateWithPIN(context.Background(), card, profile.Password("1234"))
		require.NoError(t, err)
		sigs = append(sigs, card.sent[len(card.sent)-1])
	}
	assert.NotEqual(t, sigs[0], sigs[1], "each tap signs a new challenge")
}

func TestAuthenticateRefusals(t *testing.T) {
	p := newTestPKI(t)
	ctx := context.Background()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	noDS := leafTemplate(1000)
	noDS.KeyUsage = x509.KeyUsageKeyEncipherment
	strangerLeaf := p.issue(t, p.other, p.otherKey, &p.cardKey.PublicKey, leafTemplate(1000))
	tests := []struct {
		name      string
		setup     func(c *fakeCard, o *AuthOptions)
		want      error
		reason    InvalidReason
		asksPIN   bool
		sendsPINs bool
	}{
		{name: "untrusted root", want: ErrCertificateInvalid, reason: ReasonUntrusted, setup: func(c *fakeCard, o *AuthOptions) {
			o.Roots = []*x509.Certificate{p.other}
		}},
		{name: "certificate of a stranger CA", want: ErrCertificateInvalid, reason: ReasonUntrusted, setup: func(c *fakeCard, o *AuthOptions) {
			c.files[EFAuthCertificate] = strangerLeaf.Raw
			o.Roots = []*x509.Certificate{p.root}
		}},
		{name: "expired", want: ErrCertificateInvalid, reason: ReasonExpired, setup: func(c *fakeCard, o *AuthOptions) {
			o.Time = func() time.Time { return testNow.AddDate(5, 0, 0) }
		}},
		{name: "not yet valid", want: ErrCertificateInvalid, reason: ReasonExpired, setup: func(c *fakeCard, o *AuthOptions) {
			o.Time = func() time.Time { return testNow.AddDate(0, -2, 0) }
		}},
		{name: "no digitalSignature", want: ErrCertificateInvalid, reason: ReasonKeyUsage, setup: func(c *fakeCard, o *AuthOptions) {
			c.files[EFAuthCertificate] = p.issue(t, p.root, p.rootKey, &p.cardKey.PublicKey, noDS).Raw
		}},
		{name: "ECDSA key", want: ErrCertificateInvalid, reason: ReasonKey, setup: func(c *fakeCard, o *AuthOptions) {
			c.files[EFAuthCertificate] = p.issue(t, p.root, p.rootKey, &ecKey.PublicKey, leafTemplate(1000)).Raw
		}},
		{name: "RSA-1024", want: ErrCertificateInvalid, reason: ReasonKey, setup: func(c *fakeCard, o *AuthOptions) {
			c.files[EFAuthCertificate] = p.issue(t, p.root, p.rootKey, &small.PublicKey, leafTemplate(1000)).Raw
		}},
		{name: "garbage certificate", want: ErrMalformed, reason: ReasonMalformed, setup: func(c *fakeCard, o *AuthOptions) {
			c.files[EFAuthCertificate] = append([]byte{0x30, 0x82, 0x01, 0x00}, make([]byte, 256)...)
		}},
		{name: "forged signature", want: ErrBadSignature, asksPIN: true, sendsPINs: true, setup: func(c *fakeCard, o *AuthOptions) {
			c.signWith = p.otherKey
		}},
		{name: "not JPKI", want: ErrNotJPKI, setup: func(c *fakeCard, o *AuthOptions) { c.notJPKI = true }},
		{name: "smartphone", want: ErrSmartphone, setup: func(c *fakeCard, o *AuthOptions) {
			c.smartphone = true
			copy(c.files[EFToken], tokenSmartphone)
		}},
		{name: "blocked PIN not asked", want: apdu.ErrBlocked, setup: func(c *fakeCard, o *AuthOptions) { c.tries = 0 }},
		{name: "last try not asked", want: profile.ErrLastTry, setup: func(c *fakeCard, o *AuthOptions) { c.tries = 1 }},
		{name: "wrong PIN", want: apdu.ErrVerificationFailed, asksPIN: true, sendsPINs: true, setup: func(c *fakeCard, o *AuthOptions) { c.pin = "9999" }},
		{name: "PIN of 5 digits not sent", want: ErrPINFormat, asksPIN: true, setup: func(c *fakeCard, o *AuthOptions) {
			o.PIN = nil
		}},
		{name: "revoked not asked", want: ErrRevoked, setup: func(c *fakeCard, o *AuthOptions) {
			o.NoRevocation = false
			o.Revocation = revokedStore(t, p, true)
		}},
		{name: "revocation unknown not asked", want: ErrRevocationUnknown, setup: func(c *fakeCard, o *AuthOptions) {
			o.NoRevocation = false
			o.Revocation = StoreChecker(neverSynced(t))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := newFakeCard(p)
			opts := baseOptions(p)
			calls := 0
			opts.PIN = pinFunc("1234", &calls)
			tt.setup(card, &opts)
			if opts.PIN == nil {
				opts.PIN = pinFunc("12345", &calls)
			}
			a, err := NewAuthenticator(opts)
			require.NoError(t, err)
			res, err := a.Authenticate(ctx, card)
			require.Error(t, err)
			assert.Nil(t, res)
			require.ErrorIs(t, err, tt.want)
			if tt.reason != 0 {
				var ce *CertificateInvalidError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tt.reason, ce.Reason)
			}
			assert.Equal(t, tt.asksPIN, calls == 1, "PIN asked")
			assert.Equal(t, tt.sendsPINs, sentPIN(card), "PIN sent")
		})
	}
}

// sentPIN reports whether a VERIFY with data went to the card.
func sentPIN(c *fakeCard) bool {
	for _, raw := range c.sent {
		cmd, err := apdu.ParseCommand(raw)
		if err == nil && cmd.INS == apdu.InsVerify && len(cmd.Data) > 0 {
			return true
		}
	}
	return false
}

// revokedStore returns a StoreChecker over a store holding a CRL of the
// test root, revoking the test leaf when revoke is set.
func revokedStore(t *testing.T, p *testPKI, revoke bool) RevocationChecker {
	t.Helper()
	var entries []x509.RevocationListEntry
	if revoke {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: p.leaf.SerialNumber, RevocationTime: testNow.Add(-time.Hour), ReasonCode: 1})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(7), ThisUpdate: testNow.Add(-time.Hour), NextUpdate: testNow.Add(23 * time.Hour),
		RevokedCertificateEntries: entries,
	}, p.root, p.rootKey)
	require.NoError(t, err)
	u, err := feed.CRLParser{Issuer: p.root, CertificateKeys: true}.ParseDER(der)
	require.NoError(t, err)
	st, err := revocation.Open(filepath.Join(t.TempDir(), "rev"), revocation.Options{Now: func() time.Time { return testNow }, RefreshInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Apply(context.Background(), u))
	return StoreChecker(st)
}

func neverSynced(t *testing.T) *revocation.Store {
	st, err := revocation.Open(filepath.Join(t.TempDir(), "rev"), revocation.Options{Now: func() time.Time { return testNow }, RefreshInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func TestAuthenticateWithRevocationList(t *testing.T) {
	p := newTestPKI(t)
	opts := baseOptions(p)
	opts.NoRevocation = false
	opts.Revocation = revokedStore(t, p, false)
	a, err := NewAuthenticator(opts)
	require.NoError(t, err)
	_, err = a.AuthenticateWithPIN(context.Background(), newFakeCard(p), profile.Password("1234"))
	require.NoError(t, err)

	opts.Revocation = revokedStore(t, p, true)
	a, err = NewAuthenticator(opts)
	require.NoError(t, err)
	_, err = a.AuthenticateWithPIN(context.Background(), newFakeCard(p), profile.Password("1234"))
	var re *RevokedError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, revocation.ReasonKeyCompromise, re.Reason)
	assert.Equal(t, "list", re.Source)
}

func TestNewAuthenticatorRefuses(t *testing.T) {
	p := newTestPKI(t)
	rc := revokedStore(t, p, false)
	tests := map[string]AuthOptions{
		"no roots":         {NoRevocation: true},
		"leaf as root":     {Roots: []*x509.Certificate{p.leaf}, NoRevocation: true},
		"nil root":         {Roots: []*x509.Certificate{nil}, NoRevocation: true},
		"no revocation":    {Roots: []*x509.Certificate{p.root}},
		"both revocations": {Roots: []*x509.Certificate{p.root}, NoRevocation: true, Revocation: rc},
		"bad chunk":        {Roots: []*x509.Certificate{p.root}, NoRevocation: true, Read: ReadOptions{MaxChunk: -5}},
		"leaf intermed.":   {Roots: []*x509.Certificate{p.root}, NoRevocation: true, Intermediates: []*x509.Certificate{p.leaf}},
	}
	for name, o := range tests {
		_, err := NewAuthenticator(o)
		require.ErrorIs(t, err, ErrConfig, name)
	}
	a, err := NewAuthenticator(AuthOptions{Roots: []*x509.Certificate{p.root}, NoRevocation: true})
	require.NoError(t, err)
	_, err = a.Authenticate(context.Background(), newFakeCard(p))
	require.ErrorIs(t, err, ErrConfig, "no PIN function")
}

func TestAuthenticateRandFailure(t *testing.T) {
	p := newTestPKI(t)
	opts := baseOptions(p)
	opts.Rand = errReader{}
	a, err := NewAuthenticator(opts)
	require.NoError(t, err)
	card := newFakeCard(p)
	_, err = a.AuthenticateWithPIN(context.Background(), card, profile.Password("1234"))
	require.Error(t, err)
	assert.Empty(t, card.sent, "no challenge, nothing sent")
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestAuthenticateCardRemovedAfterPrompt(t *testing.T) {
	p := newTestPKI(t)
	card := newFakeCard(p)
	opts := baseOptions(p)
	opts.PIN = func(ctx context.Context, st profile.PasswordStatus) (profile.Password, error) {
		assert.Equal(t, 0, card.txDepth, "the prompt runs outside any transaction")
		assert.Equal(t, 3, st.Remaining)
		card.notJPKI = true // another card is in the reader now
		return profile.Password("1234"), nil
	}
	a, err := NewAuthenticator(opts)
	require.NoError(t, err)
	_, err = a.Authenticate(context.Background(), card)
	require.ErrorIs(t, err, ErrNotJPKI)
	assert.False(t, sentPIN(card), "the PIN never goes to a card that is not the JPKI AP")
}

func TestLoadCertificates(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "anchors.pem")
	require.NoError(t, os.WriteFile(pemFile, append(pemOf(p.root), pemOf(p.other)...), 0o644))
	derFile := filepath.Join(dir, "root.der")
	require.NoError(t, os.WriteFile(derFile, p.root.Raw, 0o644))
	certs, err := LoadCertificates(pemFile, derFile)
	require.NoError(t, err)
	require.Len(t, certs, 3)
	assert.Equal(t, p.other.Raw, certs[1].Raw)

	bad := filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o644))
	_, err = LoadCertificates(bad)
	require.ErrorIs(t, err, ErrMalformed)

	open := filepath.Join(dir, "open.pem")
	require.NoError(t, os.WriteFile(open, pemOf(p.root), 0o644))
	require.NoError(t, os.Chmod(open, 0o666))
	_, err = LoadCertificates(open)
	require.Error(t, err, "a world-writable anchor file is refused")
}

// TestChainCache: a certificate seen again is accepted from the cache only
// while its chain is valid at the new time; an expired one is refused
// again by crypto/x509; the cache is bounded.
func TestChainCache(t *testing.T) {
	p := newTestPKI(t)
	now := testNow
	a, err := NewAuthenticator(AuthOptions{Roots: []*x509.Certificate{p.root}, Time: func() time.Time { return now }, NoRevocation: true})
	require.NoError(t, err)
	_, err = a.VerifyCertificate(p.leaf)
	require.NoError(t, err)
	_, ok := a.chains.get(p.leaf, now)
	require.True(t, ok)
	now = testNow.AddDate(5, 0, 0)
	_, err = a.VerifyCertificate(p.leaf)
	var ce *CertificateInvalidError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ReasonExpired, ce.Reason)

	c := newChainCache(2)
	for i := range 5 {
		leaf := p.issue(t, p.root, p.rootKey, &p.cardKey.PublicKey, &x509.Certificate{SerialNumber: big.NewInt(int64(100 + i)), NotBefore: testNow, NotAfter: testNow.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature})
		c.put(leaf, []*x509.Certificate{leaf, p.root})
	}
	assert.Len(t, c.m, 2)
}
