// Package jsonlog is the durable append-only JSON-lines file shared by
// cmd/cardap (the loading terminal's operation log) and the examples (the
// gate's audit log, the library's points ledger).
//
// Every line is one JSON value followed by a newline, and Append returns
// only after the line is written and fsynced. A line whose write or fsync
// fails is cut off again, so the file never keeps half a line that later
// lines would follow. At Open, an unfinished last line (no trailing
// newline: a write cut by a crash or power loss, which was therefore never
// reported as done) is cut off, and the complete lines can be replayed to
// rebuild state.
package jsonlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/mynacard/freespace/securefile"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("jsonlog: log closed")

// File is what a Log needs of its file once it is open: an *os.File
// satisfies it. It exists so that tests can inject write, sync or truncate
// failures through OpenWrapped.
type File interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Log is an open append-only JSON-lines file. Its methods are safe for
// concurrent use.
type Log struct {
	path string
	mu   sync.Mutex
	f    File  // nil after Close
	size int64 // length of the file up to the last complete line
}

// Open opens the log at path, creating it (mode 0600) if it does not
// exist; writes always go to the end (O_APPEND). When the file was
// created, its directory is fsynced so that the new entry is durable too
// (file systems that cannot sync a directory are accepted).
//
// If replay is not nil it is called for each complete line, in order,
// without its newline; an error from it stops Open, which then returns
// that error naming the file and the line number (errors.Is and errors.As
// see the replay's error) and leaves the file untouched.
//
// An unfinished last line (no trailing newline) is then cut off and the
// file fsynced; dropped is its length in bytes. Errors name the file.
func Open(path string, replay func(line []byte) error) (l *Log, dropped int64, err error) {
	return OpenWrapped(path, replay, nil)
}

// OpenWrapped is Open whose writes, syncs, truncations and close go
// through wrap(f) instead of the opened *os.File f (opening, replaying and
// cutting off an unfinished line use f itself). It is meant for tests that
// inject failures; a nil wrap is Open.
func OpenWrapped(path string, replay func(line []byte) error, wrap func(f *os.File) File) (l *Log, dropped int64, err error) {
	return open(path, replay, wrap, func() (*os.File, error) {
		return os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	})
}

// OpenTrusted is Open for a log a privileged process keeps (an operator's
// audit log run as root): the file is opened with securefile.OpenFile, so
// a symlink, a FIFO or another non-regular file is refused, as is a file
// or directory owned by another user than root or the running one, or
// writable by others (a *securefile.Error with the facts). A new file is
// created 0600.
func OpenTrusted(path string, replay func(line []byte) error) (l *Log, dropped int64, err error) {
	return OpenTrustedWrapped(path, replay, nil)
}

// OpenTrustedWrapped is OpenTrusted with the writes going through wrap, as
// OpenWrapped does for Open (tests that inject failures); a nil wrap is
// OpenTrusted.
func OpenTrustedWrapped(path string, replay func(line []byte) error, wrap func(f *os.File) File) (l *Log, dropped int64, err error) {
	return open(path, replay, wrap, func() (*os.File, error) {
		return securefile.OpenFile(path, securefile.Policy{}, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	})
}

// open is Open with the file opened by openFile.
func open(path string, replay func(line []byte) error, wrap func(f *os.File) File, openFile func() (*os.File, error)) (l *Log, dropped int64, err error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := openFile()
	if err != nil {
		return nil, 0, err // an *os.PathError or *securefile.Error: it names the file
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	end, err := lastLineEnd(f, st.Size())
	if err != nil {
		return nil, 0, fmt.Errorf("%s: reading: %w", path, err)
	}
	if replay != nil {
		if err := replayLines(path, io.NewSectionReader(f, 0, end), replay); err != nil {
			return nil, 0, err
		}
	}
	if end < st.Size() {
		if err := f.Truncate(end); err != nil {
			return nil, 0, fmt.Errorf("%s: removing an unfinished last line: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return nil, 0, fmt.Errorf("%s: removing an unfinished last line: %w", path, err)
		}
	}
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return nil, 0, fmt.Errorf("%s: syncing its directory: %w", path, err)
		}
	}
	l = &Log{path: path, f: f, size: end}
	if wrap != nil {
		l.f = wrap(f)
	}
	return l, st.Size() - end, nil
}

// replayLines calls replay for each line of r, which holds complete lines
// only.
func replayLines(path string, r io.Reader, replay func(line []byte) error) error {
	br := bufio.NewReader(r)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", path, lineNo, err)
		}
		if err := replay(line[:len(line)-1]); err != nil {
			return fmt.Errorf("%s: line %d: %w", path, lineNo, err)
		}
	}
}

// syncDir fsyncs a directory, making a file created in it durable. File
// systems that cannot sync a directory (EINVAL, ErrUnsupported) are
// accepted.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	return errors.Join(err, d.Close())
}

// lastLineEnd returns the offset just past the last newline of the first
// size bytes of f (0 when there is none).
func lastLineEnd(f io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, 4096)
	for end := size; end > 0; {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// Append writes v as one JSON line and fsyncs the file. On an error
// nothing of the line stays in the file: a partly written line is cut off
// again (if that fails too, both errors are returned). After Close it
// returns ErrClosed.
func (l *Log) Append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return ErrClosed
	}
	_, err = l.f.Write(b)
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		if terr := l.f.Truncate(l.size); terr != nil {
			err = errors.Join(err, fmt.Errorf("cutting off the failed line: %w", terr))
		}
		return fmt.Errorf("%s: %w", l.path, err)
	}
	l.size += int64(len(b))
	return nil
}

// Close closes the file; its error (a failed final write-back) is the
// caller's to report. Closing again does nothing.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
