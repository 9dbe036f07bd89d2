package revocation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mynacard/freespace/securefile"
)

// lockName is the writer lock file: writers hold an exclusive flock(2) on
// it while they change the directory.
const lockName = "writer.lock"

// beginWrite starts a write: it takes the in-process writer mutex, then the
// cross-process writer lock (waiting as long as ctx allows), removes
// temporary files left by writers that died, and catches up with changes
// other processes made, so that the write is checked against the newest
// state. end releases everything.
func (s *Store) beginWrite(ctx context.Context) (end func(), err error) {
	if s.opts.ReadOnly {
		return nil, ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if err := s.lockDir(ctx); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.rmu.Lock()
	end = func() {
		s.rmu.Unlock()
		if err := unlockFile(s.lockFile); err != nil {
			s.log.Warn("revocation: releasing the writer lock failed", "err", err)
		}
		s.mu.Unlock()
	}
	s.removeTemps()
	if err := s.refreshLocked(); err != nil {
		end()
		return nil, err
	}
	return end, nil
}

// lockDir takes the writer lock file, polling with a growing pause (1 ms
// to 50 ms) until it is free, ctx ends (ErrLocked) or the store is closed
// (ErrClosed). s.mu must be held.
func (s *Store) lockDir(ctx context.Context) error {
	if s.lockFile == nil {
		f, err := openLockFile(s.dir)
		if err != nil {
			return fmt.Errorf("revocation: writer lock: %w", err)
		}
		s.lockFile = f
	}
	pause := time.Millisecond
	for {
		ok, err := tryLockFile(s.lockFile)
		if err != nil {
			return fmt.Errorf("revocation: writer lock: %w", err)
		}
		if ok {
			return nil
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ErrLocked, ctx.Err())
		case <-s.done:
			t.Stop()
			return ErrClosed
		case <-t.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// cleanTempsAtOpen removes temporary files of interrupted writes, but only
// if no writer holds the lock: a temporary file may otherwise belong to a
// write in progress in another process. Skipped cleanups happen at the
// next write.
// A lock file that is not safe to trust (a planted symlink or FIFO, a
// file of another user) is an error: the store is not opened for writing.
func (s *Store) cleanTempsAtOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lockFile == nil {
		f, err := openLockFile(s.dir)
		if errors.Is(err, securefile.ErrInsecure) {
			return fmt.Errorf("revocation: writer lock: %w", err)
		}
		if err != nil {
			s.log.Warn("revocation: cannot create the writer lock file", "err", err)
			return nil
		}
		s.lockFile = f
	}
	if ok, err := tryLockFile(s.lockFile); err != nil || !ok {
		return nil
	}
	s.removeTemps()
	if err := unlockFile(s.lockFile); err != nil {
		s.log.Warn("revocation: releasing the writer lock failed", "err", err)
	}
	return nil
}

// openLockFile opens (creating if needed) the writer lock file of dir
// through securefile: a symlink planted under its name is not followed
// (root would otherwise create or truncate a file of another user's
// choosing), and a FIFO, a device or a file of another user is refused.
func openLockFile(dir string) (*os.File, error) {
	return securefile.OpenFile(filepath.Join(dir, lockName), securefile.Policy{}, os.O_RDWR|os.O_CREATE, 0o644)
}
