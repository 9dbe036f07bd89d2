//go:build !cgo

package pkcs11

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mynacard/freespace/keys"
)

// TestNoCgo: without cgo the package compiles and every entry point
// returns ErrNoCgo.
func TestNoCgo(t *testing.T) {
	p, err := Open(context.Background(), Config{})
	assert.Nil(t, p)
	assert.ErrorIs(t, err, ErrNoCgo)
	var q *Provider
	_, err = q.Diversify(context.Background(), keys.KeyRef{Name: "x"}, nil, nil)
	assert.ErrorIs(t, err, ErrNoCgo)
	var _ keys.Provider = q
	var _ keys.LabelDiversifier = q
}
