package feed

import (
	"crypto/ed25519"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mynacard/freespace/revocation"
	"github.com/stretchr/testify/require"
)

func FuzzCRLParser(f *testing.F) {
	ca := newTestCA(f)
	f.Add(ca.crl(f, 1, nil))
	f.Add(ca.crl(f, 9, []x509.RevocationListEntry{{SerialNumber: big.NewInt(77), RevocationTime: testAsOf, ReasonCode: 1}}))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		u, err := CRLParser{}.ParseDER(der)
		if err != nil {
			require.ErrorIs(t, err, revocation.ErrMalformed)
			return
		}
		require.True(t, u.Full)
		for _, r := range u.Add {
			require.False(t, r.Key.IsZero())
		}
	})
}

func FuzzParseIndex(f *testing.F) {
	key := testKey(f, 1)
	pub := key.Public().(ed25519.PublicKey)
	dir := f.TempDir()
	p := &Publisher{Dir: dir, Key: key}
	ms := masters(2, 5)
	for i, m := range ms {
		_, err := p.Publish(f.Context(), m, testAsOf.Add(time.Duration(i)*time.Hour))
		require.NoError(f, err)
	}
	head, err := os.ReadFile(filepath.Join(dir, IndexName))
	require.NoError(f, err)
	f.Add(head)
	f.Add([]byte(`{"format":"freespace-revocation-feed/1","seq":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Signed by the right key, so parsing itself is exercised.
		h, err := ParseIndex(data, ed25519.Sign(key, data), pub)
		if err != nil {
			require.ErrorIs(t, err, revocation.ErrMalformed)
			return
		}
		require.NotZero(t, h.Seq)
		for _, d := range h.Deltas {
			require.Equal(t, d.Prev+1, d.Seq)
		}
	})
}
