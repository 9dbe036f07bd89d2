package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// HTTPSource fetches a feed over HTTP(S) from BaseURL (a static host or a
// CDN), with conditional GET (If-None-Match / If-Modified-Since), a timeout
// per attempt and retries with exponential backoff and jitter on network
// errors, 5xx and 429 (waiting longer when the server's Retry-After asks
// for it, up to MaxBackoff).
type HTTPSource struct {
	// BaseURL is the feed directory, e.g. "https://feed.example/revocation/";
	// required.
	BaseURL string
	// Client is the HTTP client; nil means http.DefaultClient.
	Client *http.Client
	// Timeout bounds one attempt; 0 means 60 s.
	Timeout time.Duration
	// Retries is the number of retries after the first attempt; 0 means 3,
	// negative means none.
	Retries int
	// Backoff is the delay before the first retry, doubled each time up
	// to MaxBackoff (or Backoff itself when larger), plus up to Backoff of
	// random jitter; 0 means 500 ms.
	Backoff time.Duration
	// MaxSize bounds one file; 0 means DefaultMaxSize. The Syncer's
	// own limits (see Source) are far smaller for the index and the
	// signatures, and the signed size for every listed file.
	MaxSize int64
	// Progress, when set, is called as a body downloads (total is -1 when
	// the server sends no length).
	Progress func(name string, done, total int64)
}

// MaxBackoff caps the doubling of HTTPSource.Backoff between retries.
const MaxBackoff = 5 * time.Minute

// retryDelay is the pause before retry number attempt+1 (attempt counts
// from 0): backoff doubled attempt times, capped at MaxBackoff (or at
// backoff when larger) without overflowing, plus jitter below backoff.
func retryDelay(backoff time.Duration, attempt int) time.Duration {
	limit := max(MaxBackoff, backoff)
	d := limit
	if attempt < 62 && backoff <= limit>>attempt {
		d = backoff << attempt
	}
	return d + rand.N(backoff)
}

// Fetch requests BaseURL/name and returns the response body as a stream;
// Timeout bounds the attempt until the body is closed. Retries cover the
// request up to a 200 answer; an error while the caller reads the body
// ends the fetch (the next sync starts again). Redirects are followed
// only to http or https, and never from https down to http
// (ErrBadRedirect).
func (s *HTTPSource) Fetch(ctx context.Context, name string, cond Validators) (*Fetched, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.BaseURL == "" {
		return nil, fmt.Errorf("%w: HTTPSource.BaseURL is empty", ErrConfig)
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	base, err := url.Parse(s.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: HTTPSource.BaseURL does not parse", ErrConfig) // the URL may hold credentials: not echoed
	}
	if base.Scheme != "http" && base.Scheme != "https" {
		return nil, fmt.Errorf("%w: HTTPSource.BaseURL %q: want http or https", ErrConfig, truncate(base.Redacted()))
	}
	u := base.JoinPath(name).String()
	retries := s.Retries
	if retries == 0 {
		retries = 3
	}
	backoff := s.Backoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	client := redirectGuard(s.Client, base.Scheme)
	var last error
	for attempt := 0; ; attempt++ {
		f, retry, err := s.once(ctx, client, u, name, cond)
		if err == nil {
			return f, nil
		}
		last = err
		if !retry || attempt >= retries || ctx.Err() != nil {
			break
		}
		d := retryDelay(backoff, attempt)
		if be := (*busyError)(nil); errors.As(err, &be) && be.after > d {
			d = min(be.after, max(MaxBackoff, backoff)) // the server asked for a longer pause
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(ctx.Err(), last)
		case <-t.C:
		}
	}
	if ctx.Err() != nil {
		return nil, errors.Join(ctx.Err(), last)
	}
	return nil, last
}

// busyError is a 5xx or 429 answer, with the pause the server asked for
// in Retry-After (0 when none).
type busyError struct {
	msg   string
	after time.Duration
}

// Error returns the status line.
func (e *busyError) Error() string { return e.msg }

// retryAfter parses a Retry-After header (RFC 9110 section 10.2.3):
// delay-seconds or an HTTP date. It returns 0 when v is empty, malformed
// or in the past.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redirectGuard returns a shallow copy of c (http.DefaultClient when nil)
// that refuses redirects to schemes other than http and https, and from
// https to http, before applying c's own redirect policy.
func redirectGuard(c *http.Client, scheme string) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cc := *c
	policy := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		to := req.URL.Scheme
		if to != "https" && (to != "http" || scheme == "https") {
			return fmt.Errorf("%w: %s to %q", ErrBadRedirect, scheme, truncate(to))
		}
		if policy != nil {
			return policy(req, via)
		}
		if len(via) >= 10 {
			return errors.New("feed: stopped after 10 redirects")
		}
		return nil
	}
	return &cc
}

// once makes one attempt: the file, whether a failure may be retried, and
// the error.
func (s *HTTPSource) once(ctx context.Context, client *http.Client, u, name string, cond Validators) (*Fetched, bool, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	keep := false // the body is handed over: cancel when it is closed
	defer func() {
		if !keep {
			cancel()
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, fmt.Errorf("feed: %w", err)
	}
	if cond.ETag != "" {
		req.Header.Set("If-None-Match", cond.ETag)
	}
	if cond.LastModified != "" {
		req.Header.Set("If-Modified-Since", cond.LastModified)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, !errors.Is(err, ErrBadRedirect), fmt.Errorf("feed: fetch %s: %w", name, err)
	}
	defer func() {
		if !keep {
			resp.Body.Close()
		}
	}()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, false, ErrNotModified
	case resp.StatusCode == http.StatusNotFound:
		return nil, false, fmt.Errorf("%w: %s", ErrNotFound, name)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, true, &busyError{msg: fmt.Sprintf("feed: fetch %s: %s", name, resp.Status), after: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	case resp.StatusCode != http.StatusOK:
		return nil, false, fmt.Errorf("feed: fetch %s: %s", name, resp.Status)
	}
	limit := maxSize(s.MaxSize)
	if resp.ContentLength > limit {
		return nil, false, &SizeError{Name: name, Limit: limit, Size: resp.ContentLength}
	}
	var r io.Reader = io.LimitReader(resp.Body, limit+1)
	if s.Progress != nil {
		r = &progressReader{r: r, fn: func(n int64) { s.Progress(name, n, resp.ContentLength) }}
	}
	v := Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	keep = true
	body := &limitedBody{r: r, c: resp.Body, name: name, limit: limit, done: cancel}
	return &Fetched{Body: body, Size: resp.ContentLength, Validators: v}, false, nil
}
