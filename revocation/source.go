package revocation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Errors from sources.
var (
	// ErrNotModified: a conditional fetch found the file unchanged.
	ErrNotModified = errors.New("revocation: feed file not modified")
	// ErrNotFound: the source has no such file.
	ErrNotFound = errors.New("revocation: feed file not found")
	// ErrTooLarge: a feed file exceeds its size limit; the error is a
	// *SizeError saying which file and which limit.
	ErrTooLarge = errors.New("revocation: feed file too large")
	// ErrBadRedirect: an HTTPSource was redirected to a scheme other than
	// http or https, or from https down to plain http. Not retried.
	ErrBadRedirect = errors.New("revocation: feed redirected to a refused scheme")
)

// Validators are the cache validators of a fetched file, sent back on the
// next fetch so that an unchanged file is not transferred again.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// SizeError is a feed file refused for its size before or while it was
// read: larger than its limit (the signed index's size for a listed file,
// MaxIndexSize for the index, a source's MaxSize), or a signature that is
// not exactly SignatureSize bytes. It matches ErrTooLarge.
type SizeError struct {
	Name string // the feed file
	// Limit is the most bytes accepted.
	Limit int64
	// Size is the size the source announced, or, when it announced none
	// (chunked HTTP), the bytes read before reading stopped: Limit+1.
	Size int64
}

// Error says which file and which limit.
func (e *SizeError) Error() string {
	return fmt.Sprintf("revocation: feed file %s is larger than its limit of %d bytes (%d bytes or more)", e.Name, e.Limit, e.Size)
}

// Is reports ErrTooLarge.
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }

// Fetched is a fetched file: a stream the caller reads (only as far as it
// needs) and closes.
type Fetched struct {
	Body io.ReadCloser
	// Size is the length the source announced (the file's size, an HTTP
	// Content-Length), -1 when it announced none. It is a hint: the
	// reader bounds what it reads whatever Size says.
	Size       int64
	Validators Validators
}

// Source fetches the files of a signed feed by name. Fetch returns
// ErrNotModified when cond matches the current file, ErrNotFound when the
// file does not exist. It must honour ctx; the Syncer also stops reading
// a body once ctx ends.
//
// A feed host is not trusted before the signature is checked: the Syncer
// reads the index (feed.json) up to MaxIndexSize, its signature up to
// SignatureSize bytes, and each listed file up to its signed size plus
// one byte (streamed into its hash, never buffered whole), and refuses
// anything larger with a *SizeError, whatever the source announced.
type Source interface {
	Fetch(ctx context.Context, name string, cond Validators) (*Fetched, error)
}

// DefaultMaxFeedFile is a source's default MaxSize: a bound on any one
// file it serves, above the Syncer's own per-file limits.
const DefaultMaxFeedFile = 2 << 30

// DirSource reads a feed from a local directory (a mounted share, a USB
// stick carried to an offline terminal). Its validator is the file's size
// and modification time.
type DirSource struct {
	Dir string
	// MaxSize bounds one file; 0 means DefaultMaxFeedFile.
	MaxSize int64
}

// Fetch opens Dir/name. Only a regular file is opened (a FIFO or device
// planted under a feed name would block or never end); the body is the
// open file, read by the caller up to its limits.
func (s DirSource) Fetch(ctx context.Context, name string, cond Validators) (*Fetched, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !feedNameRE.MatchString(name) {
		return nil, fmt.Errorf("revocation: bad feed file name %q", truncate(name))
	}
	path := filepath.Join(s.Dir, name)
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("revocation: feed file %s is not a regular file (%s)", name, st.Mode().Type())
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("revocation: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("revocation: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("revocation: feed file %s is not a regular file (%s)", name, st.Mode().Type())
	}
	v := Validators{ETag: fmt.Sprintf(`"%x-%x"`, st.Size(), st.ModTime().UnixNano())}
	if cond.ETag != "" && cond.ETag == v.ETag {
		f.Close()
		return nil, ErrNotModified
	}
	limit := s.MaxSize
	if limit <= 0 {
		limit = DefaultMaxFeedFile
	}
	if st.Size() > limit {
		f.Close()
		return nil, &SizeError{Name: name, Limit: limit, Size: st.Size()}
	}
	return &Fetched{Body: &limitedBody{r: io.LimitReader(f, limit+1), c: f, name: name, limit: limit}, Size: st.Size(), Validators: v}, nil
}

// limitedBody reads at most limit bytes of a body and fails with a
// *SizeError once more arrive; Close closes the body and releases what
// the fetch held (an HTTP attempt's timeout).
type limitedBody struct {
	r     io.Reader // limited to limit+1 bytes
	c     io.Closer
	name  string
	limit int64
	n     int64
	done  func() // called once by Close, may be nil
}

// Read reads from the body, refusing a byte beyond the limit.
func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.limit {
		return n - int(b.n-b.limit), &SizeError{Name: b.name, Limit: b.limit, Size: b.n}
	}
	return n, err
}

// Close closes the body.
func (b *limitedBody) Close() error {
	err := b.c.Close()
	if b.done != nil {
		b.done()
		b.done = nil
	}
	return err
}

// HTTPSource fetches a feed over HTTP(S) from BaseURL (a static host or a
// CDN), with conditional GET (If-None-Match / If-Modified-Since), a timeout
// per attempt and retries with exponential backoff and jitter on network
// errors, 5xx and 429 (waiting longer when the server's Retry-After asks
// for it, up to MaxBackoff).
type HTTPSource struct {
	// BaseURL is the feed directory, e.g. "https://feed.example/revocation/".
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
	// MaxSize bounds one file; 0 means DefaultMaxFeedFile. The Syncer's
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
	if !feedNameRE.MatchString(name) {
		return nil, fmt.Errorf("revocation: bad feed file name %q", truncate(name))
	}
	base, err := url.Parse(s.BaseURL)
	if err != nil {
		return nil, errors.New("revocation: feed URL does not parse") // the URL may hold credentials: not echoed
	}
	if base.Scheme != "http" && base.Scheme != "https" {
		return nil, fmt.Errorf("revocation: feed URL %q: want http or https", truncate(base.Redacted()))
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
			return errors.New("revocation: stopped after 10 redirects")
		}
		return nil
	}
	return &cc
}

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
		return nil, false, fmt.Errorf("revocation: %w", err)
	}
	if cond.ETag != "" {
		req.Header.Set("If-None-Match", cond.ETag)
	}
	if cond.LastModified != "" {
		req.Header.Set("If-Modified-Since", cond.LastModified)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, !errors.Is(err, ErrBadRedirect), fmt.Errorf("revocation: fetch %s: %w", name, err)
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
		return nil, true, &busyError{msg: fmt.Sprintf("revocation: fetch %s: %s", name, resp.Status), after: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	case resp.StatusCode != http.StatusOK:
		return nil, false, fmt.Errorf("revocation: fetch %s: %s", name, resp.Status)
	}
	limit := s.MaxSize
	if limit <= 0 {
		limit = DefaultMaxFeedFile
	}
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

type progressReader struct {
	r    io.Reader
	n    int64
	fn   func(int64)
	last int64
}

// Read reads from the wrapped reader and reports progress every MiB.
func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n-p.last >= 1<<20 || err != nil {
		p.last = p.n
		p.fn(p.n)
	}
	return n, err
}
