//go:build !cgo && !windows

package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Built without cgo, the library refuses --reader at once with the reason
// instead of waiting for a PC/SC service it can never reach.
func TestReaderWithoutCgo(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--reader", "R", "--ledger", filepath.Join(t.TempDir(), "l.jsonl")}, &out, &errb)
	assert.Equal(t, 1, code)
	assert.Contains(t, errb.String(), "built without cgo")
}
