package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/mynacard/freespace/cardap"
)

// gate holds what every tap needs. handle is called by cardap.Serve on one
// goroutine per reader, so the outputs are guarded by mu.
type gate struct {
	now       func() time.Time
	log       *slog.Logger // the gate's own messages
	clientLog *slog.Logger // cardap's (one record per decision at Info); nil discards
	door      Door         // nil: no door to open

	mu    sync.Mutex
	out   io.Writer // stdout
	json  bool      // stdout gets JSON lines instead of human lines
	audit *auditLog // nil: no audit file
}

// setOutputs configures stdout, the audit file and the door from the flags.
func (g *gate) setOutputs(o *options, stdout, stderr io.Writer) error {
	g.out, g.json = stdout, o.json
	if o.doorCmd != "" {
		argv, err := splitArgs(o.doorCmd)
		if err != nil {
			return fmt.Errorf("--door-cmd: %w", err)
		}
		g.door = &CmdDoor{Argv: argv, Timeout: o.doorTimeout, Output: stderr}
	}
	if o.audit != "" {
		a, dropped, err := openAudit(o.audit)
		if err != nil {
			return err
		}
		if dropped > 0 {
			g.log.Warn("gate: removed an unfinished last line of the audit log (an interrupted write; that door never opened)", "file", o.audit, "bytes", dropped)
		}
		g.audit = a
	}
	return nil
}

// closeOutputs closes the audit file; its error is a runtime failure.
func (g *gate) closeOutputs() error {
	if g.audit == nil {
		return nil
	}
	if err := g.audit.Close(); err != nil {
		return fmt.Errorf("closing the audit log: %w", err)
	}
	return nil
}

// handle is the cardap.Handler of the gate: decide, record, open the door.
// The audit record is made durable before the door opens, so that no one
// walks through a door the log does not know of; the door's result is then
// written with the decision to stdout.
func (g *gate) handle(ctx context.Context, tap cardap.Tap, _ cardap.Card) {
	d := g.decide(ctx, tap, "")
	if err := g.emit(d); err != nil {
		g.log.Error("gate: writing the decision", "err", err)
	}
}

// decide makes the decision of tap (label: the demo's name of the card),
// writes it to the audit log, and runs the door on an open decision.
func (g *gate) decide(ctx context.Context, tap cardap.Tap, label string) Decision {
	d := decide(tap)
	d.Tap = label
	if g.audit != nil {
		if err := g.audit.Append(d); err != nil {
			// No durable record: the door stays shut.
			g.log.Error("gate: audit log write failed; door kept shut", "err", err)
			d.Outcome, d.Reason, d.Detail = Deny, "audit-failed", "audit log unavailable, door kept shut"
			return d
		}
	}
	if d.Outcome == Open && g.door != nil {
		if err := g.door.Open(ctx, d); err != nil {
			d.Door, d.DoorError = "failed", err.Error()
			g.log.Error("gate: door failed", "slot", d.Slot, "err", err)
		} else {
			d.Door = "opened"
		}
	}
	return d
}

// emit writes one decision to stdout: a human line, or a JSON line.
func (g *gate) emit(d Decision) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.json {
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		_, err = g.out.Write(append(b, '\n'))
		return err
	}
	_, err := io.WriteString(g.out, humanLine(d))
	return err
}

// auditFile is what the audit log needs of its file (an *os.File; tests
// inject failures).
type auditFile interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// auditLog is an append-only JSON-lines file; every line is fsynced before
// Append returns. A line whose write or fsync fails is cut off again, so
// the file never keeps half a line that later lines would follow.
type auditLog struct {
	mu   sync.Mutex
	f    auditFile
	size int64 // length of the file up to the last complete line
}

// openAudit opens (creating, mode 0600) the audit log at path. An
// unfinished last line (no newline: a write cut by a crash or power loss,
// whose door never opened) is cut off, so that the file stays one JSON
// object per line; dropped is its length.
func openAudit(path string) (a *auditLog, dropped int64, err error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("opening the audit log: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("opening the audit log: %w", err)
	}
	end, err := lastLineEnd(f, st.Size())
	if err != nil {
		return nil, 0, fmt.Errorf("reading the audit log: %w", err)
	}
	if end < st.Size() {
		if err := f.Truncate(end); err != nil {
			return nil, 0, fmt.Errorf("audit log: removing an unfinished last line: %w", err)
		}
		if err := f.Sync(); err != nil {
			return nil, 0, fmt.Errorf("audit log: %w", err)
		}
	}
	if created {
		// The new file's directory entry must be durable too.
		if err := syncDir(filepath.Dir(path)); err != nil {
			return nil, 0, fmt.Errorf("audit log: syncing its directory: %w", err)
		}
	}
	return &auditLog{f: f, size: end}, st.Size() - end, nil
}

// syncDir fsyncs a directory, making a file created in it durable. File
// systems that cannot sync a directory (EINVAL) are accepted.
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

// Append writes d as one JSON line and syncs the file.
func (a *auditLog) Append(d Decision) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return errors.New("audit log closed")
	}
	_, err = a.f.Write(b)
	if err == nil {
		err = a.f.Sync()
	}
	if err != nil {
		if terr := a.f.Truncate(a.size); terr != nil {
			err = errors.Join(err, fmt.Errorf("cutting off the failed line: %w", terr))
		}
		return fmt.Errorf("audit log: %w", err)
	}
	a.size += int64(len(b))
	return nil
}

// Close closes the file.
func (a *auditLog) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	return err
}
