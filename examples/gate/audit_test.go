package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/internal/jsonlog"
	"github.com/mynacard/freespace/internal/testsupport/jsonlogtest"
	"github.com/mynacard/freespace/profile"
)

// TestAuditTornTailRemoved: a crash in the middle of an audit write leaves
// an unfinished last line (its door never opened). The next start cuts it
// off and says so; the file stays one decision per line.
func TestAuditTornTailRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	runGate(t, context.Background(), "--audit", path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"time":"2026-11-29T16:09:26Z","slot":"demo g`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	_, errOut := runGate(t, context.Background(), "--audit", path)
	assert.Contains(t, errOut, "removed an unfinished last line of the audit log")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	ds := parseDecisions(t, bytes.NewReader(b))
	assert.Len(t, ds, 2*len(demoWant))
}

// TestAuditWriteFailureKeepsDoorShut: when the audit line cannot be made
// durable, a valid card is refused (audit-failed), the door is not run, and
// no half line stays in the file: the next decisions are readable.
func TestAuditWriteFailureKeepsDoorShut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var fa *jsonlogtest.FaultyFile
	a, _, err := jsonlog.OpenWrapped(path, nil, func(f *os.File) jsonlog.File {
		fa = &jsonlogtest.FaultyFile{File: f}
		return fa
	})
	require.NoError(t, err)
	var opened int
	g := &gate{now: time.Now, log: slog.New(slog.DiscardHandler), audit: a,
		door: DoorFunc(func(context.Context, Decision) error { opened++; return nil })}
	tap := cardap.Tap{Slot: "s", Time: time.Now(), Identity: &cardap.Identity{AP: profile.TypeC, UserID: "U", CUID: demoCUID(9)}}

	fa.FailWrite = true
	d := g.decide(context.Background(), tap, "")
	assert.Equal(t, Deny, d.Outcome)
	assert.Equal(t, "audit-failed", d.Reason)
	fa.FailSync = true
	d = g.decide(context.Background(), tap, "")
	assert.Equal(t, "audit-failed", d.Reason)
	assert.Zero(t, opened, "the door stays shut without a durable record")

	d = g.decide(context.Background(), tap, "")
	assert.Equal(t, Open, d.Outcome)
	assert.Equal(t, 1, opened)
	require.NoError(t, g.closeOutputs())
	assert.ErrorIs(t, a.Append(d), jsonlog.ErrClosed, "append after close")

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	ds := parseDecisions(t, bytes.NewReader(b))
	require.Len(t, ds, 1, "only the decision whose door opened is in the log")
	assert.Equal(t, Open, ds[0].Outcome)
}
