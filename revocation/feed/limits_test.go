package feed

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynacard/freespace/revocation"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hugeBody writes n bytes of JSON-looking filler lazily, 64 KiB at a time
// and flushed, so the response is chunked (no Content-Length); it stops
// when the client goes away and counts what it wrote.
func hugeBody(n int64, served *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(`{"format":"freespace-revocation-feed/1",` + strings.Repeat(" ", 64<<10-40))
		fl := w.(http.Flusher)
		for left := n; left > 0; {
			c := chunk[:min(int64(len(chunk)), left)]
			if _, err := w.Write(c); err != nil {
				return
			}
			fl.Flush()
			served.Add(int64(len(c)))
			left -= int64(len(c))
			chunk[0] = ' '
		}
	}
}

// allocDuring returns the bytes the process allocated while fn ran
// (runtime.MemStats.TotalAlloc): a bound on the heap growth, freed or not.
func allocDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A hostile feed host serving a 400 MiB chunked feed.json (or signature)
// is refused with a *SizeError once the limit is passed, before anything
// is parsed or verified, and the syncer allocates far less than 64 MiB
// doing so (issue 10 §3: 1.4 GB resident before).
func TestSyncRefusesHugeChunkedIndex(t *testing.T) {
	const huge = 400 << 20
	key := testKey(t, 1)
	tests := []struct {
		name  string
		file  string
		limit int64
	}{
		{"index", IndexName, MaxIndexSize},
		{"signature", IndexName + SigSuffix, SignatureSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feed := t.TempDir()
			_, err := (&Publisher{Dir: feed, Key: key}).Publish(context.Background(), masters(1, 10)[0], testAsOf)
			require.NoError(t, err)
			var served atomic.Int64
			mux := http.NewServeMux()
			mux.Handle("/", http.FileServer(http.Dir(feed)))
			mux.Handle("/"+tt.file, hugeBody(huge, &served))
			ts := httptest.NewServer(mux)
			defer ts.Close()

			store := mustOpen(t, t.TempDir(), revocation.Options{RefreshInterval: -1, Now: fixedNow(testAsOf.Add(time.Hour))})
			syncer := &Syncer{Store: store, Source: &HTTPSource{BaseURL: ts.URL, Retries: -1}, PublicKey: key.Public().(ed25519.PublicKey)}
			var serr error
			grown := allocDuring(func() { _, serr = syncer.Sync(context.Background()) })
			require.Error(t, serr)
			assert.ErrorIs(t, serr, ErrTooLarge)
			var se *SizeError
			require.ErrorAs(t, serr, &se)
			assert.Equal(t, tt.file, se.Name)
			assert.Equal(t, tt.limit, se.Limit)
			assert.Equal(t, tt.limit+1, se.Size, "reading stopped one byte past the limit")
			if tt.file != IndexName {
				assert.ErrorIs(t, serr, ErrBadSignature)
			}
			assert.Less(t, grown, uint64(64<<20), "allocated %d MiB while refusing", grown>>20)
			assert.Less(t, served.Load(), int64(huge), "the download was abandoned")
			assert.Zero(t, store.Snapshot().Seq(), "nothing applied")
			t.Logf("%s: refused after the server wrote %d MiB; %d KiB allocated", tt.name, served.Load()>>20, grown>>10)
		})
	}
}

// sizeHidingSource serves a DirSource's files without announcing their
// size (as a chunked HTTP answer does) and counts the bytes read from
// each.
type sizeHidingSource struct {
	*DirSource
	read map[string]*atomic.Int64
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (s sizeHidingSource) Fetch(ctx context.Context, name string, cond Validators) (*Fetched, error) {
	f, err := s.DirSource.Fetch(ctx, name, cond)
	if err != nil {
		return nil, err
	}
	c := &atomic.Int64{}
	s.read[name] = c
	f.Body, f.Size = countingBody{f.Body, c}, -1
	return f, nil
}

// A listed file larger than its signed size is refused: before reading
// when the source announces the size, else cut at the signed size + 1
// byte, streamed into the hash and never read further.
func TestSyncCutsListedFileAtSignedSize(t *testing.T) {
	key := testKey(t, 1)
	feed := t.TempDir()
	head, err := (&Publisher{Dir: feed, Key: key}).Publish(context.Background(), masters(1, 50)[0], testAsOf)
	require.NoError(t, err)
	list := filepath.Join(feed, head.List.Name)
	f, err := os.OpenFile(list, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(make([]byte, 8<<20))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	hidden := sizeHidingSource{DirSource: &DirSource{Dir: feed}, read: map[string]*atomic.Int64{}}
	tests := []struct {
		name   string
		src    Source
		wantRd int64 // bytes read from the list file; -1: not checked
	}{
		{"size announced: refused before reading", &DirSource{Dir: feed}, -1},
		{"size not announced: cut at size+1", hidden, head.List.Size + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := mustOpen(t, t.TempDir(), revocation.Options{RefreshInterval: -1, Now: fixedNow(testAsOf.Add(time.Hour))})
			_, err := (&Syncer{Store: store, Source: tt.src, PublicKey: key.Public().(ed25519.PublicKey)}).Sync(context.Background())
			var se *SizeError
			require.ErrorAs(t, err, &se)
			assert.ErrorIs(t, err, ErrTooLarge)
			assert.Equal(t, head.List.Name, se.Name)
			assert.Equal(t, head.List.Size, se.Limit)
			if tt.wantRd >= 0 {
				assert.Equal(t, tt.wantRd, hidden.read[head.List.Name].Load())
				assert.Equal(t, tt.wantRd, se.Size)
			}
			assert.Zero(t, store.Snapshot().Seq(), "nothing applied")
		})
	}
}

// A listed file that was tampered with (same size) is refused as a bad
// signature even when the parser chokes on it first, and one shorter than
// its signed size as truncated.
func TestSyncListedFileTamperedOrShort(t *testing.T) {
	key := testKey(t, 1)
	for _, tt := range []struct {
		name   string
		change func(b []byte) []byte
		want   string
	}{
		{"tampered", func(b []byte) []byte { b[0] = '!'; return b }, "does not match its hash"},
		{"short", func(b []byte) []byte { return b[:len(b)-3] }, "truncated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			feed := t.TempDir()
			head, err := (&Publisher{Dir: feed, Key: key}).Publish(context.Background(), masters(1, 20)[0], testAsOf)
			require.NoError(t, err)
			list := filepath.Join(feed, head.List.Name)
			b, err := os.ReadFile(list)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(list, tt.change(b), 0o644))
			store := mustOpen(t, t.TempDir(), revocation.Options{RefreshInterval: -1, Now: fixedNow(testAsOf.Add(time.Hour))})
			hidden := sizeHidingSource{DirSource: &DirSource{Dir: feed}, read: map[string]*atomic.Int64{}}
			_, err = (&Syncer{Store: store, Source: hidden, PublicKey: key.Public().(ed25519.PublicKey)}).Sync(context.Background())
			assert.ErrorIs(t, err, ErrBadSignature)
			assert.Contains(t, err.Error(), tt.want)
			assert.False(t, errors.Is(err, revocation.ErrMalformed), "the signature decides, not the parser: %v", err)
		})
	}
}

// A FIFO planted in a feed directory under a feed name does not hang the
// directory source.
func TestDirSourceRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, IndexName), 0o755))
	_, err := (&DirSource{Dir: dir}).Fetch(context.Background(), IndexName, Validators{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")
}

// The publisher reads its previous publication back with the same
// limits: a feed.json grown on a tampered web root is refused, not read
// whole, and nothing new is published.
func TestPublisherReadsPreviousIndexWithLimits(t *testing.T) {
	key := testKey(t, 1)
	feed := t.TempDir()
	p := &Publisher{Dir: feed, Key: key}
	_, err := p.Publish(context.Background(), masters(1, 10)[0], testAsOf)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(filepath.Join(feed, IndexName), 400<<20)) // sparse: no disk used
	_, err = p.Publish(context.Background(), masters(1, 10)[0], testAsOf.Add(time.Hour))
	assert.ErrorIs(t, err, ErrTooLarge)
	var se *SizeError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, int64(MaxIndexSize), se.Limit)
	assert.NoFileExists(t, filepath.Join(feed, "list-00000000000000000002.csv"))
}
