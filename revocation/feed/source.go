package feed

import (
	"context"
	"fmt"
	"io"
)

// Validators are the cache validators of a fetched file, sent back on the
// next fetch so that an unchanged file is not transferred again.
type Validators struct {
	// ETag is the entity tag (HTTP ETag, or a DirSource's size and
	// modification time).
	ETag string `json:"etag,omitempty"`
	// LastModified is the HTTP Last-Modified date, empty when none.
	LastModified string `json:"last_modified,omitempty"`
}

// SizeError is a feed file refused for its size before or while it was
// read: larger than its limit (the signed index's size for a listed file,
// MaxIndexSize for the index, a source's MaxSize), or a signature that is
// not exactly SignatureSize bytes. It matches ErrTooLarge.
type SizeError struct {
	// Name is the feed file.
	Name string
	// Limit is the most bytes accepted.
	Limit int64
	// Size is the size the source announced, or, when it announced none
	// (chunked HTTP), the bytes read before reading stopped: Limit+1.
	Size int64
}

// Error says which file and which limit.
func (e *SizeError) Error() string {
	return fmt.Sprintf("feed: file %s is larger than its limit of %d bytes (%d bytes or more)", e.Name, e.Limit, e.Size)
}

// Is reports ErrTooLarge.
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }

// Fetched is a fetched file: a stream the caller reads (only as far as it
// needs) and closes.
type Fetched struct {
	// Body is the file's content; the caller closes it.
	Body io.ReadCloser
	// Size is the length the source announced (the file's size, an HTTP
	// Content-Length), -1 when it announced none. It is a hint: the
	// reader bounds what it reads whatever Size says.
	Size int64
	// Validators identify this version of the file, for the next
	// conditional fetch.
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
//
// DirSource and HTTPSource are the built-in sources; both are configured
// as struct literals and used through a pointer (&DirSource{Dir: ...},
// &HTTPSource{BaseURL: ...}), with the same MaxSize and Progress fields.
type Source interface {
	// Fetch returns the named file of the feed as a stream.
	Fetch(ctx context.Context, name string, cond Validators) (*Fetched, error)
}

// DefaultMaxSize is a source's default MaxSize: a bound on any one
// file it serves, above the Syncer's own per-file limits.
const DefaultMaxSize = 2 << 30

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

// progressReader reports the bytes read through it to fn, every MiB and
// at the end.
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

// maxSize is a source's MaxSize, DefaultMaxSize when unset.
func maxSize(n int64) int64 {
	if n <= 0 {
		return DefaultMaxSize
	}
	return n
}

// checkName refuses a file name a feed never uses (docs/PROTOCOL.md
// chapter 9.2): no path separators, no dot files, at most 128 bytes.
func checkName(name string) error {
	if !feedNameRE.MatchString(name) {
		return fmt.Errorf("feed: bad file name %q", truncate(name))
	}
	return nil
}
