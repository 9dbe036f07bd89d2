package pcsc_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
)

// newClient is a client that accepts the Type C cards of these tests
// without a revocation list; mod changes its configuration.
func newClient(t *testing.T, mod func(*cardap.Config)) *cardap.Client {
	t.Helper()
	cfg := cardap.Config{APs: []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})}, AllowUnproven: true}
	if mod != nil {
		mod(&cfg)
	}
	c, err := cardap.New(cfg)
	require.NoError(t, err)
	return c
}
