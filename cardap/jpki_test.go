package cardap_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"log/slog"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/jpki"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/revocation/feed"
)

// jpkiNow is inside the mock's current certificates' validity.
var jpkiNow = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

// countingPIN returns a PasswordFunc giving pin and counting its calls.
func countingPIN(pin string, calls *int) cardap.PasswordFunc {
	return func(_ context.Context, req cardap.PasswordRequest) (profile.Password, error) {
		*calls++
		if req.AP != profile.JPKI {
			return nil, assert.AnError
		}
		return profile.Password(pin), nil
	}
}

func jpkiClient(t *testing.T, rev cardap.RevocationChecker, pin cardap.PasswordFunc, mod func(*cardap.JPKIConfig)) *cardap.Client {
	t.Helper()
	pki := mockcard.MustLoadJPKITestPKI()
	jc := cardap.JPKIConfig{Roots: []*x509.Certificate{pki.AuthCA2015.Cert, pki.AuthCA2023.Cert}, PasswordFunc: pin}
	if mod != nil {
		mod(&jc)
	}
	c, err := cardap.New(cardap.Config{APs: []cardap.AP{cardap.JPKI(jc)}, Revocation: rev, NoRevocation: rev == nil,
		Now: func() time.Time { return jpkiNow }})
	require.NoError(t, err)
	return c
}

// jpkiStore returns a revocation store holding a CRL of the mock's auth
// CA (imported by certificate revocation key) revoking serials.
func jpkiStore(t *testing.T, serials ...*big.Int) *revocation.Store {
	t.Helper()
	pki := mockcard.MustLoadJPKITestPKI()
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: jpkiNow.Add(-time.Hour), ReasonCode: 1})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(3), ThisUpdate: jpkiNow.Add(-time.Hour), NextUpdate: jpkiNow.Add(23 * time.Hour),
		RevokedCertificateEntries: entries,
	}, pki.AuthCA2023.Cert, pki.AuthCA2023.Key)
	require.NoError(t, err)
	u, err := feed.CRLParser{Issuer: pki.AuthCA2023.Cert, CertificateKeys: true}.ParseDER(der)
	require.NoError(t, err)
	st, err := revocation.Open(filepath.Join(t.TempDir(), "rev"), revocation.Options{Now: func() time.Time { return jpkiNow }, RefreshInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Apply(context.Background(), u))
	return st
}

func TestJPKIIdentify(t *testing.T) {
	pki := mockcard.MustLoadJPKITestPKI()
	card, err := mockcard.NewJPKI(mockcard.JPKI{})
	require.NoError(t, err)
	calls := 0
	c := jpkiClient(t, cardap.RevocationStore(jpkiStore(t, pki.Card2Auth.Cert.SerialNumber)), countingPIN(mockcard.JPKITestAuthPIN, &calls), nil)
	id, err := c.Identify(context.Background(), card)
	require.NoError(t, err)
	assert.Equal(t, 1, calls)
	assert.Equal(t, profile.JPKI, id.AP)
	assert.Equal(t, cardap.Proof{AP: profile.JPKI, Method: cardap.ProofSignature, PasswordVerified: true}, id.Proof)
	require.NotNil(t, id.JPKI)
	sum := sha256.Sum256(pki.CardAuth.Cert.RawSubjectPublicKeyInfo)
	assert.Equal(t, sum, id.JPKI.ID)
	assert.Equal(t, id.JPKI.String(), id.UserID)
	assert.True(t, id.CUID.IsZero(), "a JPKI identity has no CUID")
	assert.Equal(t, pki.CardAuth.Cert.NotAfter, id.Expires)
	assert.Equal(t, 17, id.APDUs)
	assert.GreaterOrEqual(t, id.RevocationListAge, time.Duration(0))
	assert.Equal(t, "signature", id.Proof.Method.String())
}

func TestJPKIIdentifyRefusals(t *testing.T) {
	ctx := context.Background()
	pki := mockcard.MustLoadJPKITestPKI()
	tests := []struct {
		name   string
		card   mockcard.JPKI
		rev    func(t *testing.T) cardap.RevocationChecker
		pin    string
		mod    func(*cardap.JPKIConfig)
		want   cardap.Reason
		askPIN bool
	}{
		{name: "revoked by the CRL, PIN not asked", want: cardap.ReasonRevoked,
			rev: func(t *testing.T) cardap.RevocationChecker {
				return cardap.RevocationStore(jpkiStore(t, pki.CardAuth.Cert.SerialNumber))
			}},
		{name: "stopped locally, PIN not asked", want: cardap.ReasonRevoked,
			rev: func(t *testing.T) cardap.RevocationChecker {
				st := jpkiStore(t)
				k, err := revocation.CertificateKey(pki.CardAuth.Cert.RawIssuer, pki.CardAuth.Cert.SerialNumber)
				require.NoError(t, err)
				require.NoError(t, st.Stop(ctx, k, revocation.StopOptions{Reason: revocation.ReasonLost, By: "desk"}))
				return cardap.RevocationStore(st)
			}},
		{name: "never synced list: fail closed", want: cardap.ReasonRevocationUnknown,
			rev: func(t *testing.T) cardap.RevocationChecker {
				st, err := revocation.Open(filepath.Join(t.TempDir(), "rev"), revocation.Options{RefreshInterval: -1})
				require.NoError(t, err)
				t.Cleanup(func() { st.Close() })
				return cardap.RevocationStore(st)
			}},
		{name: "rogue CA", card: mockcard.JPKI{AuthCert: pki.RogueCardAuth.DER, AuthKey: pki.RogueCardAuth.Key}, want: cardap.ReasonAuthFailed},
		{name: "expired generation", card: mockcard.JPKI{AuthCert: pki.OldCardAuth.DER, AuthKey: pki.OldCardAuth.Key}, want: cardap.ReasonExpired},
		{name: "forged signature", card: mockcard.JPKI{AuthCert: pki.CardAuth.DER, AuthKey: pki.Card2Auth.Key}, want: cardap.ReasonAuthFailed, askPIN: true},
		{name: "wrong PIN", pin: "0000", want: cardap.ReasonPasswordWrong, askPIN: true},
		{name: "smartphone", card: mockcard.JPKI{Smartphone: true}, want: cardap.ReasonUnknownCard},
		{name: "PIN not 4 digits", pin: "12345", want: cardap.ReasonPasswordRequired, askPIN: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card, err := mockcard.NewJPKI(tt.card)
			require.NoError(t, err)
			var rev cardap.RevocationChecker
			if tt.rev != nil {
				rev = tt.rev(t)
			}
			pin := tt.pin
			if pin == "" {
				pin = mockcard.JPKITestAuthPIN
			}
			calls := 0
			c := jpkiClient(t, rev, countingPIN(pin, &calls), tt.mod)
			_, err = c.Identify(ctx, card)
			require.Error(t, err)
			assert.Equal(t, tt.want, cardap.ReasonOf(err), "%v", err)
			assert.Equal(t, tt.askPIN, calls == 1, "PIN asked")
		})
	}
}

func TestJPKILastTryNotSpent(t *testing.T) {
	ctx := context.Background()
	card, err := mockcard.NewJPKI(mockcard.JPKI{})
	require.NoError(t, err)
	calls := 0
	wrong := jpkiClient(t, nil, countingPIN("0000", &calls), nil)
	for range 2 {
		_, err := wrong.Identify(ctx, card)
		require.ErrorIs(t, err, cardap.ErrPasswordWrong)
	}
	right := jpkiClient(t, nil, countingPIN(mockcard.JPKITestAuthPIN, &calls), nil)
	_, err = right.Identify(ctx, card)
	require.ErrorIs(t, err, cardap.ErrPasswordBlocked)
	require.ErrorIs(t, err, profile.ErrLastTry)
	assert.Equal(t, 2, calls, "not asked at the last try")
	st, err := jpki.PINStatus(ctx, card)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Remaining)
}

// TestJPKIAfterFreeSpaceAPs: a card without the JPKI AP falls through to
// the next AP; a JPKI card is identified by the JPKI option after the
// free-space AP it does not carry.
func TestJPKIAfterFreeSpaceAPs(t *testing.T) {
	ctx := context.Background()
	pki := mockcard.MustLoadJPKITestPKI()
	jc := cardap.JPKI(cardap.JPKIConfig{Roots: []*x509.Certificate{pki.AuthCA2023.Cert}, PasswordFunc: fixedPassword(mockcard.JPKITestAuthPIN)})
	c, err := cardap.New(cardap.Config{APs: []cardap.AP{cardap.TypeC(cardap.TypeCConfig{}), jc}, NoRevocation: true,
		Now: func() time.Time { return jpkiNow }})
	require.NoError(t, err)
	card, err := mockcard.NewJPKI(mockcard.JPKI{})
	require.NoError(t, err)
	id, err := c.Identify(ctx, card)
	require.NoError(t, err)
	assert.Equal(t, profile.JPKI, id.AP)
}

func TestJPKIConfigRefused(t *testing.T) {
	pki := mockcard.MustLoadJPKITestPKI()
	for name, jc := range map[string]cardap.JPKIConfig{
		"no PIN function": {Roots: []*x509.Certificate{pki.AuthCA2023.Cert}},
		"no roots":        {PasswordFunc: fixedPassword("1234")},
		"leaf as root":    {Roots: []*x509.Certificate{pki.CardAuth.Cert}, PasswordFunc: fixedPassword("1234")},
		"bad read":        {Roots: []*x509.Certificate{pki.AuthCA2023.Cert}, PasswordFunc: fixedPassword("1234"), Read: jpki.ReadOptions{MaxChunk: -1}},
	} {
		_, err := cardap.New(cardap.Config{APs: []cardap.AP{cardap.JPKI(jc)}, NoRevocation: true})
		require.ErrorIs(t, err, cardap.ErrConfig, name)
	}
}

// TestJPKILogNamesIdentity: the decision log names a JPKI card by its
// identity (no CUID).
func TestJPKILogNamesIdentity(t *testing.T) {
	pki := mockcard.MustLoadJPKITestPKI()
	var buf bytes.Buffer
	c, err := cardap.New(cardap.Config{
		APs:          []cardap.AP{cardap.JPKI(cardap.JPKIConfig{Roots: []*x509.Certificate{pki.AuthCA2023.Cert}, PasswordFunc: fixedPassword(mockcard.JPKITestAuthPIN)})},
		NoRevocation: true, Now: func() time.Time { return jpkiNow }, Logger: slog.New(slog.NewTextHandler(&buf, nil)),
	})
	require.NoError(t, err)
	card, err := mockcard.NewJPKI(mockcard.JPKI{})
	require.NoError(t, err)
	_, err = c.Identify(context.Background(), card)
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "jpki="+identityOf(pki.CardAuth))
	assert.Contains(t, buf.String(), "proof=signature")
	assert.NotContains(t, buf.String(), "cuid=")
}

func identityOf(c mockcard.JPKITestCert) string {
	sum := sha256.Sum256(c.Cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}
