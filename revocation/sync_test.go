package revocation

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

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
func masters(n, size int) [][]Record {
	r := rand.New(rand.NewPCG(11, 12))
	var out [][]Record
	cur := randRecords(r, size)
	for range n {
		out = append(out, append([]Record(nil), cur...))
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

func modelOf(recs []Record) model {
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

	store := mustOpen(t, t.TempDir(), Options{CompactAfter: -1})
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

	newStore := func(t *testing.T, dir string) *Store {
		s := mustOpen(t, t.TempDir(), Options{CompactAfter: -1})
		if dir != "" {
			_, err := (&Syncer{Store: s, Source: DirSource{Dir: dir}, PublicKey: pubKey}).Sync(ctx)
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
		var h Head
		data, _ := os.ReadFile(filepath.Join(outOfSeq, HeadName))
		require.NoError(t, json.Unmarshal(data, &h))
		h.Deltas[1].Name = h.Deltas[0].Name
		h.Deltas[1].Size = h.Deltas[0].Size
		h.Deltas[1].SHA256 = h.Deltas[0].SHA256
		hj, _ := json.Marshal(h)
		require.NoError(t, os.WriteFile(filepath.Join(outOfSeq, HeadName), hj, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(outOfSeq, HeadName+SigSuffix), ed25519.Sign(key, hj), 0o644))
	}

	tests := []struct {
		name    string
		from    string // store state before: synced from this feed
		feed    string
		want    error
		wantKey ed25519.PublicKey
	}{
		{"unsigned", "", mutate(t, feed, HeadName+SigSuffix, nil), ErrBadSignature, nil},
		{"forged index", "", mutate(t, feed, HeadName, flip), ErrBadSignature, nil},
		{"forged signature", "", mutate(t, feed, HeadName+SigSuffix, flip), ErrBadSignature, nil},
		{"other key", "", feed, ErrBadSignature, testKey(t, 2).Public().(ed25519.PublicKey)},
		{"truncated list", "", mutate(t, feed, "list-00000000000000000003.csv", truncate), ErrBadSignature, nil},
		{"forged delta", atSeq1, mutate(t, feed, "delta-00000000000000000002.csv", flip), ErrBadSignature, nil},
		{"truncated index", "", mutate(t, feed, HeadName, truncate), ErrBadSignature, nil},
		{"replayed", feed, atSeq2, ErrReplay, nil},
		{"out of sequence", atSeq1, outOfSeq, ErrOutOfSequence, nil},
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
			_, err := (&Syncer{Store: s, Source: DirSource{Dir: tt.feed}, PublicKey: k}).Sync(ctx)
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
	_, err := src.Fetch(context.Background(), HeadName, Validators{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, int32(3), hits.Load(), "first attempt and two retries")

	ctx, cancel := context.WithCancel(context.Background())
	src = &HTTPSource{BaseURL: ts.URL, Timeout: time.Hour, Retries: 5, Backoff: time.Hour}
	done := make(chan error, 1)
	go func() { _, err := src.Fetch(ctx, HeadName, Validators{}); done <- err }()
	for hits.Load() < 4 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)

	_, err = src.Fetch(context.Background(), "../etc/passwd", Validators{})
	assert.Error(t, err)
	_, err = (&HTTPSource{BaseURL: "ftp://x"}).Fetch(context.Background(), HeadName, Validators{})
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
