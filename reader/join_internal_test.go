//go:build cgo || windows

package reader

import (
	"context"
	"errors"
	"strings"
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

// Several errors join on one line: they end up in log attributes.
func TestJoinErrsOneLine(t *testing.T) {
	err := joinErrs(newError(opConnect, "R", codeNoService), newError(opReleaseContext, "", codeCommError))
	assert.NotContains(t, err.Error(), "\n")
	assert.ErrorIs(t, err, ErrNoService)
	assert.Contains(t, err.Error(), "; ")
	assert.Equal(t, 1, strings.Count(err.Error(), "reader:"), err.Error())
}
