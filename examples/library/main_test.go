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

	"github.com/mynacard/freespace/internal/jsonlog"
	"github.com/mynacard/freespace/internal/testsupport/jsonlogtest"
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
	// A complete line that does not decode, followed by more entries:
	// corruption, not an interrupted write. Refused, file untouched.
	p := filepath.Join(t.TempDir(), "l.jsonl")
	content := "{\"user_id\":\"a\",\"points\":1}\n{broken\n{\"user_id\":\"a\",\"points\":1}\n"
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(context.Background(), []string{"--ledger", p}, &out, &errOut))
	assert.Contains(t, errOut.String(), "line 2")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, content, string(b))
}

// TestTornLedgerTailRecovered: a crash in the middle of a write leaves an
// unfinished last line; that visit was never reported. The next start cuts
// it off (and says so), and the totals continue from the complete entries.
func TestTornLedgerTailRecovered(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l.jsonl")
	require.NoError(t, os.WriteFile(p, []byte("{\"user_id\":\"LIB-0001\",\"points\":7}\n{\"user_id\":\"LIB-00"), 0o600))
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"--ledger", p}, &out, &errOut), errOut.String())
	assert.Contains(t, errOut.String(), "removed an unfinished last entry (18 bytes)")
	assert.Contains(t, out.String(), "Sato Hanako (+10 points, 17 in total)")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, 4, strings.Count(string(b), "\n"), "the kept entry and three visits")
	assert.True(t, strings.HasSuffix(string(b), "}\n"))
	_, _, err = openLedger(p)
	require.NoError(t, err, "the repaired ledger opens again")
}

// TestLedgerWriteFailureLeavesNoHalfEntry: a failed write or sync reports
// the visit as not recorded and leaves no partial entry behind, so later
// entries stay readable and the totals exact.
func TestLedgerWriteFailureLeavesNoHalfEntry(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l.jsonl")
	var ff *jsonlogtest.FaultyFile
	l := newLedger()
	var dropped int64
	var err error
	l.log, dropped, err = jsonlog.OpenWrapped(p, l.replay, func(f *os.File) jsonlog.File {
		ff = &jsonlogtest.FaultyFile{File: f}
		return ff
	})
	require.NoError(t, err)
	require.Zero(t, dropped)
	e := entry{UserID: "LIB-0001", Points: 10}
	_, err = l.add(e)
	require.NoError(t, err)
	ff.FailWrite = true
	_, err = l.add(e)
	require.ErrorContains(t, err, "no space left")
	ff.FailSync = true
	_, err = l.add(e)
	require.ErrorContains(t, err, "I/O error")
	total, err := l.add(e)
	require.NoError(t, err)
	assert.Equal(t, 20, total, "failed visits are not counted")
	require.NoError(t, l.Close())
	_, err = l.add(e)
	assert.ErrorIs(t, err, jsonlog.ErrClosed, "add after Close")

	l, dropped, err = openLedger(p)
	require.NoError(t, err)
	assert.Zero(t, dropped)
	assert.Equal(t, 20, l.totals["LIB-0001"])
	require.NoError(t, l.Close())
}

// cancelOnWrite is an output that cancels the run (like Ctrl-C) as soon
// as a line containing trigger is written.
type cancelOnWrite struct {
	bytes.Buffer
	trigger string
	cancel  context.CancelFunc
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	n, err := c.Buffer.Write(p)
	if strings.Contains(string(p), c.trigger) {
		c.cancel()
	}
	return n, err
}

// TestInterruptKeepsEveryReportedVisit: Ctrl-C right after the first
// visit is reported. The run ends cleanly and every visit it reported is
// in the ledger, and only those.
func TestInterruptKeepsEveryReportedVisit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOnWrite{trigger: "welcome", cancel: cancel}
	var errOut bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"--ledger", p}, out, &errOut), errOut.String())
	require.Error(t, ctx.Err(), "the run was interrupted")
	reported := strings.Count(out.String(), "welcome")
	require.GreaterOrEqual(t, reported, 1)
	assert.Less(t, reported, 3, "the interrupt stopped the demo: %s", out.String())
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, reported, strings.Count(string(b), "\n"), "ledger: %s", b)
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
