package feed

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/revocation"
)

// opaqueSigner hides the private key behind crypto.Signer, as an HSM does;
// corrupt flips a bit of every signature (a faulty token).
type opaqueSigner struct {
	key     ed25519.PrivateKey
	corrupt bool
}

func (s opaqueSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s opaqueSigner) Sign(r io.Reader, msg []byte, o crypto.SignerOpts) ([]byte, error) {
	sig, err := s.key.Sign(r, msg, o)
	if s.corrupt && err == nil {
		sig[0] ^= 1
	}
	return sig, err
}

// TestPublisherSigner: a feed signed through a crypto.Signer (a key in an
// HSM) syncs like one signed with Key; a signature that does not verify
// is never published; Key and Signer together are refused.
func TestPublisherSigner(t *testing.T) {
	ctx := context.Background()
	key := testKey(t, 7)
	dir := t.TempDir()
	head, err := (&Publisher{Dir: dir, Signer: opaqueSigner{key: key}}).Publish(ctx, masters(1, 5)[0], testAsOf)
	require.NoError(t, err)
	store := mustOpen(t, t.TempDir(), revocation.Options{})
	res, err := (&Syncer{Store: store, Source: &DirSource{Dir: dir}, PublicKey: key.Public().(ed25519.PublicKey)}).Sync(ctx)
	require.NoError(t, err)
	assert.Equal(t, head.Seq, res.To)

	bad := t.TempDir()
	_, err = (&Publisher{Dir: bad, Signer: opaqueSigner{key: key, corrupt: true}}).Publish(ctx, masters(1, 5)[0], testAsOf)
	assert.ErrorContains(t, err, "does not verify")
	_, err = (&Publisher{Dir: bad, Key: key, Signer: opaqueSigner{key: key}}).Publish(ctx, nil, testAsOf)
	assert.ErrorIs(t, err, ErrConfig)
	assert.Contains(t, (Publisher{Signer: opaqueSigner{key: key}}).redactedKey(), "signer")
}
