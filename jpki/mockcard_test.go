package jpki

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"testing"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mockNow is inside the validity of the mock's current-generation
// certificates and after the 2015 generation expired.
var mockNow = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func mockOptions(t *testing.T) (AuthOptions, *mockcard.JPKITestPKI) {
	t.Helper()
	pki := mockcard.MustLoadJPKITestPKI()
	return AuthOptions{
		Roots:        []*x509.Certificate{pki.AuthCA2015.Cert, pki.AuthCA2023.Cert},
		Time:         func() time.Time { return mockNow },
		NoRevocation: true,
	}, pki
}

// TestAuthenticateMockCard runs the whole flow against the strict mock
// JPKI AP (mockcard), with and without extended length.
func TestAuthenticateMockCard(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		extended bool
		prompt   bool
		apdus    int
	}{
		{"short, PIN known", false, false, 15},
		{"extended, PIN known", true, false, 8},
		{"short, PIN prompt", false, true, 17},
		{"extended, PIN prompt", true, true, 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts, pki := mockOptions(t)
			if tt.extended {
				opts.Read.MaxChunk = 4096
			}
			opts.PIN = func(ctx context.Context, st profile.PasswordStatus) (profile.Password, error) {
				assert.Equal(t, 3, st.Remaining)
				return profile.Password(mockcard.JPKITestAuthPIN), nil
			}
			card, err := mockcard.NewJPKI(mockcard.JPKI{}, mockcard.WithExtendedLength(tt.extended))
			require.NoError(t, err)
			a, err := NewAuthenticator(opts)
			require.NoError(t, err)
			var res *Result
			if tt.prompt {
				res, err = a.Authenticate(ctx, card)
			} else {
				res, err = a.AuthenticateWithPIN(ctx, card, profile.Password(mockcard.JPKITestAuthPIN))
			}
			require.NoError(t, err)
			assert.Equal(t, tt.apdus, res.APDUs)
			assert.Equal(t, sha256.Sum256(pki.CardAuth.Cert.RawSubjectPublicKeyInfo), res.Identity.ID)
			assert.Equal(t, pki.AuthCA2023.Cert.Raw, res.Chain[1].Raw)
		})
	}
}

func TestAuthenticateMockCardRefusals(t *testing.T) {
	ctx := context.Background()
	opts, pki := mockOptions(t)
	tests := []struct {
		name string
		cfg  mockcard.JPKI
		opts func(*AuthOptions)
		want error
	}{
		{"rogue CA with the real CA's name", mockcard.JPKI{AuthCert: pki.RogueCardAuth.DER, AuthKey: pki.RogueCardAuth.Key}, nil, ErrCertificateInvalid},
		{"previous generation expired", mockcard.JPKI{AuthCert: pki.OldCardAuth.DER, AuthKey: pki.OldCardAuth.Key}, nil, ErrCertificateInvalid},
		{"key of another card", mockcard.JPKI{AuthCert: pki.CardAuth.DER, AuthKey: pki.Card2Auth.Key}, nil, ErrBadSignature},
		{"smartphone", mockcard.JPKI{Smartphone: true}, nil, ErrSmartphone},
		{"only the 2015 anchor", mockcard.JPKI{}, func(o *AuthOptions) { o.Roots = []*x509.Certificate{pki.AuthCA2015.Cert} }, ErrCertificateInvalid},
		{"signing certificate is not accepted", mockcard.JPKI{AuthCert: pki.CardSign.DER, AuthKey: pki.CardSign.Key}, nil, ErrCertificateInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			if tt.opts != nil {
				tt.opts(&o)
			}
			card, err := mockcard.NewJPKI(tt.cfg)
			require.NoError(t, err)
			a, err := NewAuthenticator(o)
			require.NoError(t, err)
			_, err = a.AuthenticateWithPIN(ctx, card, profile.Password(mockcard.JPKITestAuthPIN))
			require.ErrorIs(t, err, tt.want)
		})
	}
}

// TestMockCardPINNeverRetried: a wrong PIN costs exactly one try, and the
// last one is not spent without AllowLastTry.
func TestMockCardPINNeverRetried(t *testing.T) {
	ctx := context.Background()
	opts, _ := mockOptions(t)
	card, err := mockcard.NewJPKI(mockcard.JPKI{})
	require.NoError(t, err)
	a, err := NewAuthenticator(opts)
	require.NoError(t, err)
	for want := 2; want >= 1; want-- {
		_, err = a.AuthenticateWithPIN(ctx, card, profile.Password("0000"))
		var pe *profile.PasswordError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, want, pe.Remaining)
		st, err := PINStatus(ctx, card)
		require.NoError(t, err)
		assert.Equal(t, want, st.Remaining)
	}
	_, err = a.AuthenticateWithPIN(ctx, card, profile.Password(mockcard.JPKITestAuthPIN))
	require.ErrorIs(t, err, profile.ErrLastTry)
	st, err := PINStatus(ctx, card)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Remaining, "the last try was not spent")
}

func TestReadCertificatesMockCard(t *testing.T) {
	ctx := context.Background()
	pki := mockcard.MustLoadJPKITestPKI()
	for _, ext := range []bool{false, true} {
		card, err := mockcard.NewJPKI(mockcard.JPKI{}, mockcard.WithExtendedLength(ext))
		require.NoError(t, err)
		cnt := &apdu.Counter{Next: card}
		chunk := 0
		if ext {
			chunk = 4096
		}
		c, err := Open(ctx, cnt, ReadOptions{MaxChunk: chunk})
		require.NoError(t, err)
		cert, err := c.Certificate(ctx, EFAuthCertificate)
		require.NoError(t, err)
		assert.Equal(t, pki.CardAuth.DER, cert.Raw)
		ca, err := c.Certificate(ctx, EFAuthCACertificate)
		require.NoError(t, err)
		assert.Equal(t, pki.AuthCA2023.DER, ca.Raw)
		tok, err := c.Token(ctx)
		require.NoError(t, err)
		assert.False(t, IsSmartphoneToken(tok))
		t.Logf("extended=%v: %d APDUs for both certificates and the token", ext, cnt.APDUs)
	}
}

// TestExtendedRefusedByReaderFallsBack: a card (or reader) without
// extended length answers 6700 to the extended READ; the read goes on in
// short APDUs.
func TestExtendedRefusedByReaderFallsBack(t *testing.T) {
	ctx := context.Background()
	pki := mockcard.MustLoadJPKITestPKI()
	card, err := mockcard.NewJPKI(mockcard.JPKI{}, mockcard.WithExtendedLength(false))
	require.NoError(t, err)
	cnt := &apdu.Counter{Next: card}
	cert, err := ReadCertificate(ctx, cnt, EFAuthCertificate, ReadOptions{MaxChunk: 4096})
	require.NoError(t, err)
	assert.Equal(t, pki.CardAuth.DER, cert.Raw)
	// SELECT AP, SELECT EF, the refused extended READ, then 8 short READs.
	assert.Equal(t, 2+1+(len(pki.CardAuth.DER)+255)/256, cnt.APDUs)
}
