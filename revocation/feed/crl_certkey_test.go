package feed

import (
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"github.com/mynacard/freespace/revocation"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCRLParserCertificateKeys(t *testing.T) {
	ca := newTestCA(t)
	der := ca.crl(t, 3, []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(0x80), RevocationTime: testAsOf.Add(-time.Hour), ReasonCode: 1},
	})
	u, err := CRLParser{Issuer: ca.cert, CertificateKeys: true}.ParseDER(der)
	require.NoError(t, err)
	require.Len(t, u.Add, 1)
	want, err := revocation.CertificateKey(ca.cert.RawSubject, big.NewInt(0x80))
	require.NoError(t, err)
	assert.Equal(t, want, u.Add[0].Key)
	assert.Equal(t, revocation.ReasonKeyCompromise, u.Add[0].Reason)

	// Without the issuer the CRL's signature is unchecked: refused.
	_, err = CRLParser{CertificateKeys: true}.ParseDER(der)
	require.ErrorIs(t, err, ErrConfig)

	// A CRL signed by another CA is refused.
	other := newTestCA(t)
	_, err = CRLParser{Issuer: other.cert, CertificateKeys: true}.ParseDER(der)
	require.ErrorIs(t, err, ErrBadSignature)
}
