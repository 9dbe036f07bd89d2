//go:build cgo || windows

package reader

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

// joinErrs keeps a lone error as it is and joins several.
func TestJoinErrs(t *testing.T) {
	assert.NoError(t, joinErrs())
	assert.NoError(t, joinErrs(nil, nil))
	assert.Same(t, context.Canceled, joinErrs(nil, context.Canceled, nil), "a lone error keeps its identity")
	other := errors.New("release failed")
	err := joinErrs(context.Canceled, nil, other)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, other)
}
