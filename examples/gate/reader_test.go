package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/pcsctest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// syncBuffer collects the gate's output and signals every write.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	notify chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{notify: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := strings.TrimSpace(s.b.String())
	if t == "" {
		return nil
	}
	return strings.Split(t, "\n")
}

// waitLines waits until the gate has written n lines (it writes one per
// tap) or the test's patience ends.
func waitLines(t *testing.T, b *syncBuffer, n int) []string {
	t.Helper()
	timeout := time.NewTimer(pcsctest.Timeout)
	defer timeout.Stop()
	for {
		if l := b.lines(); len(l) >= n {
			return l
		}
		select {
		case <-b.notify:
		case <-timeout.C:
			return b.lines()
		}
	}
}

// TestGateOnReader runs `gate --reader --revocation DIR --json` through a
// real pcscd: a valid card and a card on the revocation list are tapped one
// after the other (removal and insertion seen by PC/SC), then the gate is
// stopped like with Ctrl-C. The second run adds a signed feed that cannot
// be reached (the gate is offline, its sync failing and retrying in the
// background): decisions never wait for it, and the list on disk still
// refuses the revoked card.
func TestGateOnReader(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"list on disk", nil},
		{"offline feed", []string{"--feed", "http://127.0.0.1:1/revocation/", "--feed-pubkey", hex.EncodeToString(pub)}},
	} {
		t.Run(tc.name, func(t *testing.T) { testGateOnReader(t, tc.extra) })
	}
}

func testGateOnReader(t *testing.T, extra []string) {
	slot := pcsctest.Acquire(t)
	now := time.Now()
	revoked := profile.CUID{0xBA, 0xD0, 15: 0x01}
	dir := t.TempDir()
	store, err := revocation.Open(dir, revocation.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, store.Apply(context.Background(), &revocation.Update{
		Full: true, Seq: 1, AsOf: now.Add(-2 * time.Hour),
		Add: []revocation.Record{{Key: revocation.CUIDKey(revoked), RevokedAt: now.Add(-3 * time.Hour).Unix(), Reason: revocation.ReasonStolen}},
	}))
	require.NoError(t, store.Close())
	audit := filepath.Join(t.TempDir(), "audit.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := newSyncBuffer()
	errb := newSyncBuffer()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"--reader", slot.ReaderName, "--revocation", dir, "--json", "--audit", audit}, extra...), out, errb)
	}()

	first := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "GATE-1"}))
	conn := slot.Attach(t, first)
	lines := waitLines(t, out, 1)
	require.Len(t, lines, 1, errb.lines())
	var d Decision
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &d))
	assert.Equal(t, Open, d.Outcome)
	assert.Equal(t, "GATE-1", d.UserID)
	assert.Equal(t, slot.ReaderName, d.Slot)
	require.NotNil(t, d.RevocationListAge)
	assert.InDelta(t, 2*3600, *d.RevocationListAge, 60)
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)

	slot.Attach(t, mockcard.MustNew(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "GATE-2"}, CUID: revoked})))
	lines = waitLines(t, out, 2)
	require.Len(t, lines, 2, errb.lines())
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &d))
	assert.Equal(t, Deny, d.Outcome)
	assert.Equal(t, "revoked", d.Reason)
	assert.Equal(t, "revoked: stolen (delivered list)", d.Detail)
	assert.Equal(t, revoked.String(), d.CUID)

	cancel()
	assert.Equal(t, exitOK, <-done, errb.lines())
	f, err := os.Open(audit)
	require.NoError(t, err)
	defer f.Close()
	ds := parseDecisions(t, f)
	require.Len(t, ds, 2)
	assert.Equal(t, []Outcome{Open, Deny}, []Outcome{ds[0].Outcome, ds[1].Outcome})
}
