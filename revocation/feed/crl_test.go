package feed

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/mynacard/freespace/revocation"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t testing.TB) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "freespace test CA"},
		NotBefore:             testAsOf.Add(-24 * time.Hour),
		NotAfter:              testAsOf.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCRLSign | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return testCA{cert: cert, key: key}
}

func (ca testCA) crl(t testing.TB, number int64, entries []x509.RevocationListEntry, exts ...pkix.Extension) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(number),
		ThisUpdate:                testAsOf,
		NextUpdate:                testAsOf.Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
		ExtraExtensions:           exts,
	}, ca.cert, ca.key)
	require.NoError(t, err)
	return der
}

func TestCRLParser(t *testing.T) {
	ca := newTestCA(t)
	serial20 := new(big.Int).SetBytes(bytes.Repeat([]byte{0x7f}, 20))
	der := ca.crl(t, 42, []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(0x01ab), RevocationTime: testAsOf.Add(-time.Hour), ReasonCode: 1},
		{SerialNumber: serial20, RevocationTime: testAsOf.Add(-2 * time.Hour), ReasonCode: 4},
		{SerialNumber: big.NewInt(7), RevocationTime: testAsOf.Add(-3 * time.Hour)},
	})
	u, err := CRLParser{Issuer: ca.cert}.Parse(bytes.NewReader(der))
	require.NoError(t, err)
	assert.True(t, u.Full)
	assert.Equal(t, uint64(42), u.Seq)
	assert.Equal(t, testAsOf, u.AsOf)
	require.Len(t, u.Add, 3)
	want := map[string]revocation.Reason{"serial:07": revocation.ReasonUnspecified, "serial:01ab": revocation.ReasonKeyCompromise, "serial:" + "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f": revocation.ReasonSuperseded}
	for _, r := range u.Add {
		reason, ok := want[r.Key.String()]
		require.True(t, ok, r.Key.String())
		assert.Equal(t, reason, r.Reason)
	}

	// Into a store: serials answer exactly, CUIDs with the same bytes do not.
	s := mustOpen(t, t.TempDir(), revocation.Options{})
	require.NoError(t, s.Apply(t.Context(), u))
	k, _ := revocation.SerialKey([]byte{0x01, 0xab})
	res, err := s.Check(k)
	require.NoError(t, err)
	assert.True(t, res.Revoked)
	k, _ = revocation.SerialKey([]byte{0x01, 0xac})
	res, err = s.Check(k)
	require.NoError(t, err)
	assert.False(t, res.Revoked)
}

func TestCRLParserRefuses(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	good := ca.crl(t, 1, nil)
	delta := ca.crl(t, 2, nil, pkix.Extension{Id: oidDeltaCRLIndicator, Critical: true, Value: []byte{0x02, 0x01, 0x01}})
	_, err := CRLParser{Issuer: other.cert}.ParseDER(good)
	assert.ErrorIs(t, err, ErrBadSignature)
	_, err = CRLParser{}.ParseDER(delta)
	assert.ErrorIs(t, err, revocation.ErrMalformed)
	_, err = CRLParser{}.ParseDER(good[:len(good)-5])
	assert.ErrorIs(t, err, revocation.ErrMalformed)
	_, err = CRLParser{}.ParseDER([]byte("not der"))
	assert.ErrorIs(t, err, revocation.ErrMalformed)
	dup := ca.crl(t, 3, []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(5), RevocationTime: testAsOf},
		{SerialNumber: big.NewInt(5), RevocationTime: testAsOf},
	})
	_, err = CRLParser{}.ParseDER(dup)
	assert.ErrorIs(t, err, revocation.ErrMalformed)
}
