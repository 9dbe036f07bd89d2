package feed

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynacard/freespace/revocation"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testKey(t testing.TB, seed byte) ed25519.PrivateKey {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

// masters returns successive master lists, each changing part of the last.
func masters(n, size int) [][]revocation.Record {
	r := rand.New(rand.NewPCG(11, 12))
	var out [][]revocation.Record
	cur := randRecords(r, size)
	for range n {
		out = append(out, append([]revocation.Record(nil), cur...))
		next := cur[:0:0]
		for _, rec := range cur {
			if r.IntN(8) != 0 {
				next = append(next, rec)
			}
		}
		cur = append(next, randRecords(r, size/6)...)
	}
	return out
}

func modelOf(recs []revocation.Record) model {
	m := model{}
	for _, r := range recs {
		m[r.Key] = r
	}
	return m
}

// feedServer serves a feed directory with strong ETags, counting requests
// and optionally failing the first ones.
type feedServer struct {
	dir      string
	requests atomic.Int32
	notMod   atomic.Int32
	fail     atomic.Int32 // fail this many requests with 503
}

func (f *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.fail.Load() > 0 {
		f.fail.Add(-1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	data, err := os.ReadFile(filepath.Join(f.dir, filepath.Base(r.URL.Path)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(data)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if r.Header.Get("If-None-Match") == etag {
		f.notMod.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Write(data)
}

func TestSyncOverHTTP(t *testing.T) {
	ctx := context.Background()
	key := testKey(t, 1)
	feed := t.TempDir()
	pub := &Publisher{Dir: feed, Key: key, KeepDeltas: 2}
	ms := masters(5, 300)
	srv := &feedServer{dir: feed}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	store := mustOpen(t, t.TempDir(), revocation.Options{CompactAfter: -1})
	syncer := &Syncer{Store: store, Source: &HTTPSource{BaseURL: ts.URL + "/feed/", Backoff: time.Millisecond}, PublicKey: key.Public().(ed25519.PublicKey)}

	_, err := pub.Publish(ctx, ms[0], testAsOf)
	require.NoError(t, err)
	res, err := syncer.Sync(ctx)
	require.NoError(t, err)
	assert.Equal(t, SyncResult{From: 0, To: 1, Files: []string{"list-00000000000000000001.csv"}}, res)
	assertMatches(t, store.Snapshot(), modelOf(ms[0]), nil)

	res, err = syncer.Sync(ctx)
	require.NoError(t, err)
	assert.True(t, res.NotModified)
	assert.Equal(t, int32(1), srv.notMod.Load())

	for i := 1; i < 4; i++ {
		_, err = pub.Publish(ctx, ms[i], testAsOf.Add(time.Duration(i)*time.Hour))
		require.NoError(t, err)
	}
	srv.fail.Store(2) // the next two requests fail: retried
	res, err = syncer.Sync(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"list-00000000000000000004.csv"}, res.Files, "deltas 2..4 not all listed (KeepDeltas 2): full list")
	assertMatches(t, store.Snapshot(), modelOf(ms[3]), nil)

	_, err = pub.Publish(ctx, ms[4], testAsOf.Add(5*time.Hour))
	require.NoError(t, err)
	res, err = syncer.Sync(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"delta-00000000000000000005.csv"}, res.Files)
	assertMatches(t, store.Snapshot(), modelOf(ms[4]), nil)
	assert.Equal(t, testAsOf.Add(5*time.Hour), store.Snapshot().AsOf())
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	ents, err := os.ReadDir(from)
	require.NoError(t, err)
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, e.Name()), data, 0o644))
	}
	return to
}

func TestSyncRefusesBadFeeds(t *testing.T) {
	ctx := context.Background()
	key := testKey(t, 1)
	pubKey := key.Public().(ed25519.PublicKey)
	feed := t.TempDir()
	pub := &Publisher{Dir: feed, Key: key}
	ms := masters(3, 100)
	_, err := pub.Publish(ctx, ms[0], testAsOf)
	require.NoError(t, err)
	atSeq1 := copyDir(t, feed)
	_, err = pub.Publish(ctx, ms[1], testAsOf.Add(time.Hour))
	require.NoError(t, err)
	atSeq2 := copyDir(t, feed)
	_, err = pub.Publish(ctx, ms[2], testAsOf.Add(2*time.Hour))
	require.NoError(t, err)

	newStore := func(t *testing.T, dir string) *revocation.Store {
		s := mustOpen(t, t.TempDir(), revocation.Options{CompactAfter: -1})
		if dir != "" {
			_, err := (&Syncer{Store: s, Source: &DirSource{Dir: dir}, PublicKey: pubKey}).Sync(ctx)
			require.NoError(t, err)
		}
		return s
	}
	mutate := func(t *testing.T, src, name string, fn func([]byte) []byte) string {
		d := copyDir(t, src)
		p := filepath.Join(d, name)
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		if fn == nil {
			require.NoError(t, os.Remove(p))
		} else {
			require.NoError(t, os.WriteFile(p, fn(data), 0o644))
		}
		return d
	}
	flip := func(b []byte) []byte { b[len(b)/2] ^= 1; return b }
	truncate := func(b []byte) []byte { return b[:len(b)-10] }

	// A signed index whose delta entry points at a file holding another
	// sequence (its hash matches: only the sequence check catches it).
	outOfSeq := copyDir(t, feed)
	{
		var h Index
		data, _ := os.ReadFile(filepath.Join(outOfSeq, IndexName))
		require.NoError(t, json.Unmarshal(data, &h))
		h.Deltas[1].Name = h.Deltas[0].Name
		h.Deltas[1].Size = h.Deltas[0].Size
		h.Deltas[1].SHA256 = h.Deltas[0].SHA256
		hj, _ := json.Marshal(h)
		require.NoError(t, os.WriteFile(filepath.Join(outOfSeq, IndexName), hj, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(outOfSeq, IndexName+SigSuffix), ed25519.Sign(key, hj), 0o644))
	}

	tests := []struct {
		name    string
		from    string // store state before: synced from this feed
		feed    string
		want    error
		wantKey ed25519.PublicKey
	}{
		{"unsigned", "", mutate(t, feed, IndexName+SigSuffix, nil), ErrBadSignature, nil},
		{"forged index", "", mutate(t, feed, IndexName, flip), ErrBadSignature, nil},
		{"forged signature", "", mutate(t, feed, IndexName+SigSuffix, flip), ErrBadSignature, nil},
		{"other key", "", feed, ErrBadSignature, testKey(t, 2).Public().(ed25519.PublicKey)},
		{"truncated list", "", mutate(t, feed, "list-00000000000000000003.csv", truncate), ErrBadSignature, nil},
		{"forged delta", atSeq1, mutate(t, feed, "delta-00000000000000000002.csv", flip), ErrBadSignature, nil},
		{"truncated index", "", mutate(t, feed, IndexName, truncate), ErrBadSignature, nil},
		{"replayed", feed, atSeq2, revocation.ErrReplay, nil},
		{"out of sequence", atSeq1, outOfSeq, revocation.ErrOutOfSequence, nil},
		{"missing file", "", mutate(t, feed, "list-00000000000000000003.csv", nil), ErrNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, tt.from)
			before := s.Snapshot()
			k := pubKey
			if tt.wantKey != nil {
				k = tt.wantKey
			}
			_, err := (&Syncer{Store: s, Source: &DirSource{Dir: tt.feed}, PublicKey: k}).Sync(ctx)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.Same(t, before, s.Snapshot(), "store unchanged")
		})
	}
}

func TestHTTPSourceTimeoutsAndCancel(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer ts.Close()

	src := &HTTPSource{BaseURL: ts.URL, Timeout: 20 * time.Millisecond, Retries: 2, Backoff: time.Millisecond}
	_, err := src.Fetch(context.Background(), IndexName, Validators{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, int32(3), hits.Load(), "first attempt and two retries")

	ctx, cancel := context.WithCancel(context.Background())
	src = &HTTPSource{BaseURL: ts.URL, Timeout: time.Hour, Retries: 5, Backoff: time.Hour}
	done := make(chan error, 1)
	// Wait for this fetch's own request (on a loaded machine the first
	// part may have counted fewer than three: a 20 ms attempt can time out
	// before its request reaches the handler).
	before := hits.Load()
	go func() { _, err := src.Fetch(ctx, IndexName, Validators{}); done <- err }()
	for hits.Load() <= before {
		time.Sleep(time.Millisecond)
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)

	_, err = src.Fetch(context.Background(), "../etc/passwd", Validators{})
	assert.Error(t, err)
	_, err = (&HTTPSource{BaseURL: "ftp://x"}).Fetch(context.Background(), IndexName, Validators{})
	assert.Error(t, err)
}

func TestHTTPSourceStatus(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write(make([]byte, 100))
		case "/forbidden":
			w.WriteHeader(http.StatusForbidden)
		default:
			http.NotFound(w, r)
		}
	}))
	defer ts.Close()
	src := &HTTPSource{BaseURL: ts.URL, MaxSize: 10, Retries: -1}
	_, err := src.Fetch(context.Background(), "big", Validators{})
	assert.ErrorIs(t, err, ErrTooLarge)
	_, err = src.Fetch(context.Background(), "nothing", Validators{})
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = src.Fetch(context.Background(), "forbidden", Validators{})
	assert.Error(t, err)
	assert.False(t, errors.Is(err, ErrNotFound))
}

func TestPublisherRedactsKey(t *testing.T) {
	key := testKey(t, 3)
	p := &Publisher{Dir: "feed", Key: key}
	seed := hex.EncodeToString(key.Seed())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		out := fmt.Sprintf(verb, p) + fmt.Sprintf(verb, *p)
		assert.NotContains(t, out, seed, verb)
		assert.NotContains(t, out, fmt.Sprint([]byte(key)), verb)
		assert.Contains(t, out, "redacted", verb)
	}
}

func TestPublisherRedactsKeyInStructuredLogs(t *testing.T) {
	key := testKey(t, 3)
	p := &Publisher{Dir: "feed", Key: key}
	b64 := base64.StdEncoding.EncodeToString(key)
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("publishing", "publisher", p, "value", *p)
	}
	j, err := json.Marshal(p)
	require.NoError(t, err)
	buf.Write(j)
	out := buf.String()
	for _, secret := range []string{b64, b64[:20], hex.EncodeToString(key.Seed())} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, `"dir":"feed"`)
	assert.Contains(t, out, "redacted")
}

// writeFeedFile writes u to dir/name in the text form and returns its
// index entry.
func writeFeedFile(t *testing.T, dir, name string, u *revocation.Update) File {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, revocation.WriteText(&buf, u, ','))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644))
	sum := sha256.Sum256(buf.Bytes())
	return File{Name: name, Seq: u.Seq, Prev: u.Prev, Size: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:])}
}

func TestSyncRefusesBadDeltaChainWithoutApplyingAny(t *testing.T) {
	ctx := context.Background()
	key := testKey(t, 1)
	pubKey := key.Public().(ed25519.PublicKey)
	ms := masters(1, 50)
	r := rand.New(rand.NewPCG(5, 6))

	tests := []struct {
		name   string
		asOf2  time.Time // delta 2
		asOf3  time.Time // delta 3 and the full list
		asOfH  time.Time // the index
		want   error
		wantIn string
	}{
		// Delta 2 is fine on its own; delta 3 goes back in time. Applied
		// one by one, delta 2 would land before delta 3 is refused.
		{"second delta older than the first", testAsOf.Add(2 * time.Hour), testAsOf.Add(time.Hour), testAsOf.Add(2 * time.Hour), revocation.ErrReplay, "delta-3"},
		// Delta 2 claims a time after the signed index's own as-of.
		{"delta newer than the index", testAsOf.Add(5 * time.Hour), testAsOf.Add(5 * time.Hour), testAsOf.Add(3 * time.Hour), revocation.ErrOutOfSequence, "delta-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feed := t.TempDir()
			_, err := (&Publisher{Dir: feed, Key: key}).Publish(ctx, ms[0], testAsOf)
			require.NoError(t, err)
			s := mustOpen(t, t.TempDir(), revocation.Options{CompactAfter: -1})
			_, err = (&Syncer{Store: s, Source: &DirSource{Dir: feed}, PublicKey: pubKey}).Sync(ctx)
			require.NoError(t, err)
			before := s.Snapshot()
			require.Equal(t, uint64(1), before.Seq())

			d2 := &revocation.Update{Seq: 2, Prev: 1, AsOf: tt.asOf2, Add: randRecords(r, 3)}
			d3 := &revocation.Update{Seq: 3, Prev: 2, AsOf: tt.asOf3, Add: randRecords(r, 3)}
			list := &revocation.Update{Full: true, Seq: 3, AsOf: tt.asOf3, Add: randRecords(r, 3)}
			for _, u := range []*revocation.Update{d2, d3, list} {
				require.NoError(t, u.Normalize())
			}
			h := Index{Format: headFormat, Seq: 3, AsOf: tt.asOfH,
				List:   writeFeedFile(t, feed, "list-3.csv", list),
				Deltas: []File{writeFeedFile(t, feed, "delta-2.csv", d2), writeFeedFile(t, feed, "delta-3.csv", d3)},
			}
			hj, err := json.Marshal(h)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(feed, IndexName), hj, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(feed, IndexName+SigSuffix), ed25519.Sign(key, hj), 0o644))

			res, err := (&Syncer{Store: s, Source: &DirSource{Dir: feed}, PublicKey: pubKey}).Sync(ctx)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.wantIn)
			assert.Same(t, before, s.Snapshot(), "store unchanged")
			assert.Empty(t, res.Files)
			written, err := filepath.Glob(filepath.Join(s.Dir(), "delta-*"))
			require.NoError(t, err)
			assert.Empty(t, written, "nothing written to disk")
		})
	}
}

// TestWrittenFilesFollowTheirDirectory: files written atomically (lists,
// deltas, indexes, signatures) take the read and write bits of their
// directory, not os.CreateTemp's 0600 nor a fixed world-readable mode.
func TestWrittenFilesFollowTheirDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	ctx := context.Background()
	feed := t.TempDir()
	require.NoError(t, os.Chmod(feed, 0o755))
	_, err := (&Publisher{Dir: feed, Key: testKey(t, 1)}).Publish(ctx, masters(1, 20)[0], testAsOf)
	require.NoError(t, err)
	store := t.TempDir()
	require.NoError(t, os.Chmod(store, 0o750))
	s := mustOpen(t, store, revocation.Options{CompactAfter: -1})
	_, err = (&Syncer{Store: s, Source: &DirSource{Dir: feed}, PublicKey: testKey(t, 1).Public().(ed25519.PublicKey)}).Sync(ctx)
	require.NoError(t, err)
	k, err := revocation.ParseKey("cuid:00112233445566778899aabbccddeeff")
	require.NoError(t, err)
	require.NoError(t, s.Stop(ctx, k, revocation.StopOptions{Reason: revocation.ReasonLost, By: "desk", Why: "test"}))

	// A static web server serves the feed and checkers may run as other
	// users: every list, delta, index and signature takes the read and
	// write bits of its directory whatever the umask (the journal and lock
	// file are created through the umask).
	n := 0
	for dir, want := range map[string]os.FileMode{feed: 0o644, store: 0o640} {
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range ents {
			if e.Name() == "local-stops.log" || e.Name() == "writer.lock" { // the store's journal and lock file
				continue
			}
			fi, err := e.Info()
			require.NoError(t, err)
			assert.Equal(t, want, fi.Mode().Perm(), "%s", e.Name())
			n++
		}
	}
	assert.Equal(t, 5, n, "list, its signature, index, index signature, store list")
}

// TestSyncRefusesFutureFeed: a feed dated further ahead of the local clock
// than MaxFuture (a day by default) is refused and the store left as it
// was, since taking it would make every correctly dated feed after it a
// replay; within the limit, or with the check off, it is applied.
func TestSyncRefusesFutureFeed(t *testing.T) {
	ctx := context.Background()
	key := testKey(t, 1)
	ms := masters(1, 20)
	now := testAsOf.Add(time.Hour)
	for _, tt := range []struct {
		name      string
		ahead     time.Duration // feed as-of minus the local clock
		maxFuture time.Duration
		want      error
	}{
		{"an hour ahead", time.Hour, 0, nil},
		{"two days ahead", 48 * time.Hour, 0, ErrFutureFeed},
		{"two days ahead, three allowed", 48 * time.Hour, 72 * time.Hour, nil},
		{"a year ahead, check off", 365 * 24 * time.Hour, -1, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			feed := t.TempDir()
			_, err := (&Publisher{Dir: feed, Key: key}).Publish(ctx, ms[0], now.Add(tt.ahead))
			require.NoError(t, err)
			s := mustOpen(t, t.TempDir(), revocation.Options{CompactAfter: -1, Now: fixedNow(now)})
			sy := &Syncer{Store: s, Source: &DirSource{Dir: feed}, PublicKey: key.Public().(ed25519.PublicKey), MaxFuture: tt.maxFuture}
			res, err := sy.Sync(ctx)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				assert.Contains(t, err.Error(), "local clock")
				assert.Equal(t, uint64(0), s.Snapshot().Seq(), "nothing applied")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, uint64(1), res.To)
		})
	}
}

// TestTwoSyncersShareADirectory: two syncers (a timer and an operator's
// `cardap revocation sync`, say) on two Stores of one directory, racing on
// the same feed: both succeed, each update is applied once, and both end
// at the feed's sequence.
func TestTwoSyncersShareADirectory(t *testing.T) {
	ctx := context.Background()
	key := testKey(t, 3)
	feed := t.TempDir()
	pub := &Publisher{Dir: feed, Key: key, KeepDeltas: 20}
	ms := masters(8, 200)
	dir := t.TempDir()
	var syncers []*Syncer
	for range 2 {
		s := mustOpen(t, dir, revocation.Options{CompactAfter: -1, RefreshInterval: -1})
		syncers = append(syncers, &Syncer{Store: s, Source: &DirSource{Dir: feed}, PublicKey: key.Public().(ed25519.PublicKey)})
	}
	for i, m := range ms {
		_, err := pub.Publish(ctx, m, testAsOf.Add(time.Duration(i)*time.Hour))
		require.NoError(t, err)
		var wg sync.WaitGroup
		for _, sy := range syncers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := sy.Sync(ctx)
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		for _, sy := range syncers {
			require.NoError(t, sy.Store.Refresh(ctx))
			assert.Equal(t, uint64(i+1), sy.Store.Snapshot().Seq())
			assertMatches(t, sy.Store.Snapshot(), modelOf(m), nil)
		}
	}
}
