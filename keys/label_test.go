package keys

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dataKeyVector is docs/PROTOCOL.md §5.1's data-key example: the AES-256
// master 404142…5F under DataKeyLabel for CUID 000102…0F and AID
// F0000000010001, computed independently of this code (SP 800-108 counter
// mode written out in Python over the cryptography package's AES-CMAC).
const dataKeyVector = "D39421D1CC0C34080251347D71ED0584E968243805E490D2B0FCFDB05614DC69"

const master256 = "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F"

func TestDiversifyLabel(t *testing.T) {
	m, err := NewKey(AES, h(master256))
	require.NoError(t, err)
	data, err := DiversifyLabel(m, DataKeyLabel, h(testCUID), h(testAID))
	require.NoError(t, err)
	assert.Equal(t, h(dataKeyVector), data.Bytes())
	card, err := Diversify(m, h(testCUID), h(testAID))
	require.NoError(t, err)
	assert.NotEqual(t, card.Bytes(), data.Bytes(), "same master, other purpose: another key")
	same, err := DiversifyLabel(m, DiversificationLabel, h(testCUID), h(testAID))
	require.NoError(t, err)
	assert.Equal(t, card.Bytes(), same.Bytes(), "DiversificationLabel is Diversify")

	for _, bad := range []string{"", "a\x00b", strings.Repeat("x", 65)} {
		_, err := DiversifyLabel(m, bad, h(testCUID), h(testAID))
		assert.ErrorIs(t, err, ErrInvalidInput, "%q", bad)
	}
}

// bareProvider is a Provider without DiversifyLabel (a third party's).
type bareProvider struct{ s *Store }

func (b bareProvider) Key(ctx context.Context, ref KeyRef) (Key, error) { return b.s.Key(ctx, ref) }
func (b bareProvider) Diversify(ctx context.Context, ref KeyRef, cuid, aid []byte) (Key, error) {
	return b.s.Diversify(ctx, ref, cuid, aid)
}

func TestDiversifyForEveryProvider(t *testing.T) {
	ctx := context.Background()
	ref := KeyRef{Name: "typed-data", Version: 1}
	m, err := NewKey(AES, h(master256))
	require.NoError(t, err)
	st := NewStore()
	require.NoError(t, st.Add(ref, m))
	env := Env{Environ: func() []string { return []string{EnvName(ref) + "=aes:" + master256} }}
	for name, p := range map[string]Provider{"store": st, "env": env, "bare": bareProvider{st}} {
		k, err := DiversifyFor(ctx, p, ref, DataKeyLabel, h(testCUID), h(testAID))
		require.NoError(t, err, name)
		assert.Equal(t, h(dataKeyVector), k.Bytes(), name)
		c, err := DiversifyFor(ctx, p, ref, DiversificationLabel, h(testCUID), h(testAID))
		require.NoError(t, err, name)
		assert.Equal(t, h("F1BFF50B4C705DDE41BE8DDF36827639488B6A43F7317EE7EDA4D091CCA62C60"), c.Bytes(), name)
	}
}

// TestProtocolDocDataKeyVector: docs/PROTOCOL.md §5.1 states the vector
// this package reproduces.
func TestProtocolDocDataKeyVector(t *testing.T) {
	doc, err := os.ReadFile("../docs/PROTOCOL.md")
	require.NoError(t, err)
	assert.Contains(t, string(doc), "`"+dataKeyVector+"`")
	assert.Contains(t, string(doc), "`"+DataKeyLabel+"`")
}
