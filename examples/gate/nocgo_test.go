//go:build !cgo && !windows

package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Built without cgo, the gate refuses --reader at once with the reason and
// exit 3, as cardap does.
func TestReaderWithoutCgo(t *testing.T) {
	var errb bytes.Buffer
	code := run(context.Background(), []string{"--reader", "R", "--keys", "unused.json", "--no-revocation"}, io.Discard, &errb)
	assert.Equal(t, exitNoReader, code)
	assert.Contains(t, errb.String(), "built without cgo")
}
