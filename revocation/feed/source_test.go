package feed

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTTPSourceRefusesSchemeChangingRedirects(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("from plain http"))
	}))
	defer plain.Close()
	var hits atomic.Int32
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/down":
			http.Redirect(w, r, plain.URL+"/x", http.StatusFound)
		case "/ftp":
			http.Redirect(w, r, "ftp://feed.invalid/x", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/target", http.StatusFound)
		case "/target":
			w.Write([]byte("from https"))
		}
	}))
	defer tls.Close()

	src := &HTTPSource{BaseURL: tls.URL, Client: tls.Client(), Retries: 2, Backoff: time.Millisecond}
	for _, name := range []string{"down", "ftp"} {
		hits.Store(0)
		_, err := src.Fetch(context.Background(), name, Validators{})
		require.Error(t, err, name)
		assert.ErrorIs(t, err, ErrBadRedirect, name)
		assert.Equal(t, int32(1), hits.Load(), "%s: a refused redirect is not retried", name)
	}
	got, err := src.Fetch(context.Background(), "same", Validators{})
	require.NoError(t, err)
	body, err := io.ReadAll(got.Body)
	require.NoError(t, err)
	require.NoError(t, got.Body.Close())
	assert.Equal(t, "from https", string(body))

	// The caller's own redirect policy still applies after the guard.
	own := tls.Client()
	refuse := errors.New("caller policy")
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return refuse }
	_, err = (&HTTPSource{BaseURL: tls.URL, Client: own, Retries: -1}).Fetch(context.Background(), "same", Validators{})
	assert.ErrorIs(t, err, refuse)
	assert.ErrorIs(t, own.CheckRedirect(nil, nil), refuse, "the caller's client is not modified")
}

func TestRetryDelayIsBoundedAndPositive(t *testing.T) {
	tests := []struct {
		backoff  time.Duration
		attempt  int
		min, max time.Duration
	}{
		{500 * time.Millisecond, 0, 500 * time.Millisecond, time.Second},
		{500 * time.Millisecond, 3, 4 * time.Second, 4500 * time.Millisecond},
		{500 * time.Millisecond, 20, MaxBackoff, MaxBackoff + 500*time.Millisecond},
		{500 * time.Millisecond, 40, MaxBackoff, MaxBackoff + 500*time.Millisecond},  // 500ms<<40 overflows
		{500 * time.Millisecond, 100, MaxBackoff, MaxBackoff + 500*time.Millisecond}, // shift past 64 bits
		{time.Hour, 5, time.Hour, 2 * time.Hour},                                     // Backoff above the cap
	}
	for _, tt := range tests {
		for range 20 {
			d := retryDelay(tt.backoff, tt.attempt)
			assert.GreaterOrEqual(t, d, tt.min, "backoff %s attempt %d", tt.backoff, tt.attempt)
			assert.Less(t, d, tt.max, "backoff %s attempt %d", tt.backoff, tt.attempt)
		}
	}
}

func TestHTTPSourceHonoursRetryAfter(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer ts.Close()
	// The server asks for an hour; the 1 ms backoff must not override it:
	// the caller's deadline ends the wait after the first request.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := (&HTTPSource{BaseURL: ts.URL, Retries: 3, Backoff: time.Millisecond}).Fetch(ctx, IndexName, Validators{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "429")
	assert.Equal(t, int32(1), hits.Load(), "no retry before the server's Retry-After")
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999", 0}, // out of range: ignored
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, retryAfter(tt.in, now), "%q", tt.in)
	}
}

func TestHTTPSourceErrorsHideURLCredentials(t *testing.T) {
	for _, u := range []string{"ftp://feeduser:s3cret-pass@feed.invalid/", "https://feeduser:s3cret-pass@feed.invalid/%zz"} {
		_, err := (&HTTPSource{BaseURL: u}).Fetch(context.Background(), IndexName, Validators{})
		require.Error(t, err, u)
		assert.NotContains(t, err.Error(), "s3cret-pass", u)
	}
}
