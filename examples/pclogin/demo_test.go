package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemoWithoutArguments: `pclogin` with no arguments runs the demo on
// the built-in mock card instead of printing its usage and exiting 2:
// alice's card logs in as alice, bob's card is denied for alice and
// allowed for bob, a Type C copy of alice's card is refused as not
// authenticated, another operator's card fails mutual authentication;
// exit 0, nothing on stderr, no key material printed.
func TestDemoWithoutArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), nil, env(nil), nil, &stdout, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	assert.Empty(t, stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 7, stdout.String())
	for i, want := range []string{
		"tap 1: alice's card (Type A), login as alice: allowed (Type A, mutual-auth)",
		"tap 2: bob's card (Type A), login as alice: denied: card belongs to another account",
		"tap 3: bob's card (Type A), login as bob: allowed (Type A, mutual-auth)",
		"tap 4: a Type C copy of alice's card (her user ID and CUID, read without keys), login as alice: denied: card not authenticated",
		"tap 5: another operator's card carrying alice's user ID, login as alice: denied: card unreadable (mutual authentication failed",
	} {
		assert.True(t, strings.HasPrefix(lines[i+1], want), "line %d: %q", i+1, lines[i+1])
	}
	assert.NotContains(t, stdout.String(), demoCUID(1).String(), "no CUID is printed")
}

// TestDemoFailsOnWriteError: a demo whose output cannot be written does
// not exit 0.
func TestDemoFailsOnWriteError(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), nil, env(nil), nil, failingWriter{}, &stderr)
	assert.Equal(t, exitDenied, code)
	assert.Contains(t, stderr.String(), "pclogin: demo:")
}
