package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/revocation/feed"
)

// TestSyncLoop: the gate's feed sync applies a newly published revocation,
// and the very next check refuses the card; a feed signed with another key
// is refused and the list kept.
func TestSyncLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	feedDir := t.TempDir()
	publisher := &feed.Publisher{Dir: feedDir, Key: priv}
	now := time.Now()
	lost := profile.CUID{0xFE, 0xED, 15: 1}
	later := profile.CUID{0xFE, 0xED, 15: 2}
	rec := func(c profile.CUID) revocation.Record {
		return revocation.Record{Key: revocation.CUIDKey(c), RevokedAt: now.Add(-time.Hour).Unix(), Reason: revocation.ReasonLost}
	}
	_, err = publisher.Publish(ctx, []revocation.Record{rec(lost)}, now.Add(-time.Hour))
	require.NoError(t, err)

	var logs bytes.Buffer
	g := &gate{now: time.Now, log: slog.New(slog.NewTextHandler(&logs, nil))}
	store, err := revocation.Open(t.TempDir(), revocation.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer store.Close()
	chk := cardap.RevocationStore(store)
	syncer := &feed.Syncer{Store: store, Source: feedSource(feedDir), PublicKey: pub}

	done := make(chan struct{})
	go func() { defer close(done); g.syncLoop(ctx, syncer, 20*time.Millisecond) }()
	waitSeq := func(seq uint64) {
		t.Helper()
		require.Eventually(t, func() bool { return store.Snapshot().Seq() == seq }, 10*time.Second, 5*time.Millisecond)
	}
	waitSeq(1)
	st, err := chk.CheckCUID(ctx, lost)
	require.NoError(t, err)
	assert.True(t, st.Revoked)
	st, err = chk.CheckCUID(ctx, later)
	require.NoError(t, err)
	assert.False(t, st.Revoked)

	_, err = publisher.Publish(ctx, []revocation.Record{rec(lost), rec(later)}, now)
	require.NoError(t, err)
	waitSeq(2)
	st, err = chk.CheckCUID(ctx, later)
	require.NoError(t, err)
	assert.True(t, st.Revoked, "the published revocation applies to the next check")
	cancel()
	<-done
	assert.Contains(t, logs.String(), "revocation list updated")

	// A feed signed by someone else: refused, list kept.
	other, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	logs.Reset()
	g.syncOnce(context.Background(), &feed.Syncer{Store: store, Source: feedSource(feedDir), PublicKey: other})
	assert.Contains(t, logs.String(), "bad signature")
	assert.EqualValues(t, 2, store.Snapshot().Seq())
}

func TestFeedFlags(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	keyHex := hex.EncodeToString(pub)
	keyFile := filepath.Join(t.TempDir(), "feed.pub")
	require.NoError(t, os.WriteFile(keyFile, []byte(keyHex+"\n"), 0o644))

	base := []string{"--reader", "R", "--keys", "k.json", "--revocation", t.TempDir()}
	for _, k := range []string{keyHex, keyFile} {
		o, code := parseFlags(append(base, "--feed", "https://feed.invalid/rev/", "--feed-pubkey", k), io.Discard)
		require.Equal(t, exitOK, code)
		assert.Equal(t, pub, o.feedKey)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{append(base, "--feed", "d"), "--feed needs --feed-pubkey"},
		{append(base, "--feed", "d", "--feed-pubkey", "abcd"), "want 64 hex digits"},
		{append(base, "--feed", "d", "--feed-pubkey", keyHex[:62]+"zz"), "want 64 hex digits"},
		{[]string{"--reader", "R", "--keys", "k.json", "--no-revocation", "--feed", "d", "--feed-pubkey", keyHex}, "--feed needs --revocation DIR"},
		{append(base, "--sync-every", "0s"), "--sync-every must be positive"},
	} {
		var errb bytes.Buffer
		_, code := parseFlags(tt.args, &errb)
		assert.Equal(t, exitUsage, code, "%q", tt.args)
		assert.Contains(t, errb.String(), tt.want, "%q", tt.args)
	}
}
