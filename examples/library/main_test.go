package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "ledger.jsonl")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--ledger", ledgerPath}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	assert.Equal(t, strings.Join([]string{
		"counter: welcome Sato Hanako (+10 points, 10 in total)",
		"counter: welcome Suzuki Ichiro (+10 points, 10 in total)",
		"counter: card GYM-9999 is not a member here",
		"counter: no visit recorded: unknown-card",
		"counter: welcome Sato Hanako (+10 points, 20 in total)",
		"",
	}, "\n"), out.String())

	// The ledger survives a restart: totals continue.
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"--ledger", ledgerPath, "--points", "5"}, &out, &errOut))
	assert.Contains(t, out.String(), "Sato Hanako (+5 points, 25 in total)")
	b, err := os.ReadFile(ledgerPath)
	require.NoError(t, err)
	assert.Equal(t, 6, strings.Count(string(b), "\n"))
}

func TestMembersFile(t *testing.T) {
	m, err := parseMembers(strings.NewReader("user_id,name\nLIB-1,A\nLIB-2, B \n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"LIB-1": "A", "LIB-2": "B"}, m)
	for _, bad := range []string{"LIB-1,A\nLIB-1,B\n", "LIB 1,A\n", "LIB-1\n", ",A\n"} {
		_, err := parseMembers(strings.NewReader(bad))
		assert.Error(t, err, bad)
	}
}

func TestCorruptLedgerRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l.jsonl")
	require.NoError(t, os.WriteFile(p, []byte("{\"user_id\":\"a\",\"points\":1}\n{broken"), 0o600))
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(context.Background(), []string{"--ledger", p}, &out, &errOut))
	assert.Contains(t, errOut.String(), "ledger")
}

func TestBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"--points", "0"}, &out, &errOut))
	assert.Equal(t, 2, run(context.Background(), []string{"--nope"}, &out, &errOut))
}

func FuzzParseMembers(f *testing.F) {
	f.Add("user_id,name\nLIB-1,A\n")
	f.Add("a,b\nc,d\n")
	f.Add("\"x\ny\",z\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMembers(strings.NewReader(s))
		if err == nil {
			for id := range m {
				if id == "" || strings.ContainsAny(id, " \n") {
					t.Fatalf("invalid id %q accepted", id)
				}
			}
		}
	})
}
