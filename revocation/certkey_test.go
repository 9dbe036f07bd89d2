package revocation

import (
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCertificateKey checks the key against SHA-256 computed here over the
// documented input (docs/PROTOCOL.md §10.4): issuer DER || the serial's
// DER INTEGER content octets, first 16 bytes.
func TestCertificateKey(t *testing.T) {
	issuer := []byte{0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02, 'C', 'A'}
	tests := []struct {
		name    string
		serial  *big.Int
		content string // content octets of the DER INTEGER
	}{
		{"one byte", big.NewInt(0x2a), "2a"},
		{"top bit set keeps 00", big.NewInt(0x80), "0080"},
		{"zero", big.NewInt(0), "00"},
		{"two bytes", big.NewInt(0x01ab), "01ab"},
		{"20 bytes with top bit", new(big.Int).SetBytes(bytesOf(20, 0xff)), "00" + hex.EncodeToString(bytesOf(20, 0xff))},
		{"negative", big.NewInt(-1), "ff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := CertificateKey(issuer, tt.serial)
			require.NoError(t, err)
			c, _ := hex.DecodeString(tt.content)
			sum := sha256.Sum256(append(append([]byte(nil), issuer...), c...))
			assert.Equal(t, KindCUID, k.Kind())
			assert.Equal(t, sum[:16], k.Bytes())
		})
	}
	// The issuer is part of the key.
	a, _ := CertificateKey(issuer, big.NewInt(1))
	other := append([]byte(nil), issuer...)
	other[len(other)-1] = 'B'
	b, _ := CertificateKey(other, big.NewInt(1))
	assert.NotEqual(t, a, b)
}

func TestCertificateKeyRefuses(t *testing.T) {
	_, err := CertificateKey(nil, big.NewInt(1))
	require.ErrorIs(t, err, ErrMalformedKey)
	_, err = CertificateKey([]byte{0x30, 0}, nil)
	require.ErrorIs(t, err, ErrMalformedKey)
	_, err = CertificateKey([]byte{0x30, 0}, new(big.Int).Lsh(big.NewInt(1), 8*22))
	require.ErrorIs(t, err, ErrMalformedKey)
}

func bytesOf(n int, b byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}
