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

	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/keys/keystest"
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

// TestGateOnReader runs `gate --reader --keys FILE --revocation DIR --json`
// through a real pcscd: a valid Type A card, a card on the revocation list
// and a Type C copy of the valid card are tapped one after the other
// (removal and insertion seen by PC/SC), then the gate is stopped like
// with Ctrl-C. The second run adds a signed feed that cannot
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
	keyFile := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, keystest.WriteFile(keyFile, 1))
	masters := keystest.Store(1)
	typeA := func(user string, cuid profile.CUID) *mockcard.Card {
		return mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: user}, CUID: cuid, Keys: mockcard.APKeys{Masters: masters}}))
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := newSyncBuffer()
	errb := newSyncBuffer()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"--reader", slot.ReaderName, "--keys", keyFile, "--revocation", dir, "--json", "--audit", audit}, extra...), out, errb)
	}()

	firstCUID := profile.CUID{0x6A, 0x7E, 15: 0x01}
	conn := slot.Attach(t, typeA("GATE-1", firstCUID))
	lines := waitLines(t, out, 1)
	require.Len(t, lines, 1, errb.lines())
	var d Decision
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &d))
	assert.Equal(t, Open, d.Outcome)
	assert.Equal(t, "GATE-1", d.UserID)
	assert.Equal(t, slot.ReaderName, d.Slot)
	assert.Equal(t, "mutual-auth", d.Proof)
	require.NotNil(t, d.RevocationListAge)
	assert.InDelta(t, 2*3600, *d.RevocationListAge, 60)
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)

	conn = slot.Attach(t, typeA("GATE-2", revoked))
	lines = waitLines(t, out, 2)
	require.Len(t, lines, 2, errb.lines())
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &d))
	assert.Equal(t, Deny, d.Outcome)
	assert.Equal(t, "revoked", d.Reason)
	assert.Equal(t, "revoked: stolen (delivered list)", d.Detail)
	assert.Equal(t, revoked.String(), d.CUID)
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)

	// A copy of GATE-1's ID on a Type C card: refused as unproven.
	slot.Attach(t, mockcard.MustNew(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "GATE-1"}, CUID: firstCUID})))
	lines = waitLines(t, out, 3)
	require.Len(t, lines, 3, errb.lines())
	require.NoError(t, json.Unmarshal([]byte(lines[2]), &d))
	assert.Equal(t, Deny, d.Outcome)
	assert.Equal(t, "unproven", d.Reason)

	cancel()
	assert.Equal(t, exitOK, <-done, errb.lines())
	f, err := os.Open(audit)
	require.NoError(t, err)
	defer f.Close()
	ds := parseDecisions(t, f)
	require.Len(t, ds, 3)
	assert.Equal(t, []Outcome{Open, Deny, Deny}, []Outcome{ds[0].Outcome, ds[1].Outcome, ds[2].Outcome})
}
