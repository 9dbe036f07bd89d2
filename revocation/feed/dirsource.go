package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// DirSource reads a feed from a local directory (a mounted share, a USB
// stick carried to an offline terminal). Its validator is the file's size
// and modification time.
type DirSource struct {
	// Dir is the feed directory; required.
	Dir string
	// MaxSize bounds one file; 0 means DefaultMaxSize. The Syncer's
	// own limits (see Source) are far smaller for the index and the
	// signatures, and the signed size for every listed file.
	MaxSize int64
	// Progress, when set, is called as a file is read (total is the
	// file's size).
	Progress func(name string, done, total int64)
}

// Fetch opens Dir/name. Only a regular file is opened (a FIFO or device
// planted under a feed name would block or never end); the body is the
// open file, read by the caller up to its limits.
func (s *DirSource) Fetch(ctx context.Context, name string, cond Validators) (*Fetched, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.Dir == "" {
		return nil, fmt.Errorf("%w: DirSource.Dir is empty", ErrConfig)
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	path := filepath.Join(s.Dir, name)
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("feed: %s is not a regular file (%s)", name, st.Mode().Type())
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("feed: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("feed: %s is not a regular file (%s)", name, st.Mode().Type())
	}
	v := Validators{ETag: fmt.Sprintf(`"%x-%x"`, st.Size(), st.ModTime().UnixNano())}
	if cond.ETag != "" && cond.ETag == v.ETag {
		f.Close()
		return nil, ErrNotModified
	}
	limit := maxSize(s.MaxSize)
	if st.Size() > limit {
		f.Close()
		return nil, &SizeError{Name: name, Limit: limit, Size: st.Size()}
	}
	var r io.Reader = io.LimitReader(f, limit+1)
	if s.Progress != nil {
		total := st.Size()
		r = &progressReader{r: r, fn: func(n int64) { s.Progress(name, n, total) }}
	}
	return &Fetched{Body: &limitedBody{r: r, c: f, name: name, limit: limit}, Size: st.Size(), Validators: v}, nil
}
