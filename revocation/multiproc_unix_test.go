//go:build unix

package revocation

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdLock takes the writer lock of dir through its own descriptor, as
// another process would; the returned function releases it.
func holdLock(t *testing.T, dir string) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	return func() { f.Close() }
}

// TestWriterWaitsForLock: while another writer holds the lock, a write
// waits; it gives up with ErrLocked when its context ends, and succeeds
// once the lock is released.
func TestWriterWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{RefreshInterval: -1})
	k := CUIDKey(randCUID(rand.New(rand.NewPCG(5, 6))))
	release := holdLock(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := s.Stop(ctx, k, StopOptions{Reason: ReasonLost, By: "op"})
	require.ErrorIs(t, err, ErrLocked)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, s.Stops(), "nothing written")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	assert.ErrorIs(t, s.Apply(ctx2, &Update{Full: true, Seq: 1, AsOf: testAsOf}), ErrLocked)

	done := make(chan error, 1)
	go func() { done <- s.Stop(context.Background(), k, StopOptions{Reason: ReasonLost, By: "op"}) }()
	select {
	case err := <-done:
		t.Fatalf("Stop returned while the lock was held: %v", err)
	default:
	}
	release()
	require.NoError(t, <-done)
	assert.Len(t, s.Stops(), 1)

	// Close makes a writer waiting for the lock give up.
	release = holdLock(t, dir)
	defer release()
	go func() {
		done <- s.Stop(context.Background(), CUIDKey(randCUID(rand.New(rand.NewPCG(7, 7)))), StopOptions{Reason: ReasonLost, By: "op"})
	}()
	require.NoError(t, s.Close())
	require.ErrorIs(t, <-done, ErrClosed)
}

// TestOpenKeepsTempsOfActiveWriter: a temporary file is removed at open
// only when no writer holds the lock; otherwise it may be another
// process's write in progress.
func TestOpenKeepsTempsOfActiveWriter(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "."+listName(5)+tmpMarker+"123")
	require.NoError(t, os.WriteFile(tmp, []byte("in progress"), 0o644))
	release := holdLock(t, dir)
	s, err := Open(dir, Options{RefreshInterval: -1})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.FileExists(t, tmp, "kept while another writer holds the lock")
	release()
	s, err = Open(dir, Options{RefreshInterval: -1})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.NoFileExists(t, tmp, "removed once no writer holds the lock")

	// A read-only open never removes anything.
	require.NoError(t, os.WriteFile(tmp, []byte("left over"), 0o644))
	ro, err := Open(dir, Options{ReadOnly: true, RefreshInterval: -1})
	require.NoError(t, err)
	require.NoError(t, ro.Close())
	assert.FileExists(t, tmp)
	// The next write (holding the lock) removes it.
	w := mustOpen(t, dir, Options{RefreshInterval: -1})
	require.NoError(t, os.WriteFile(tmp, []byte("left over"), 0o644))
	require.NoError(t, w.Stop(context.Background(), CUIDKey(randCUID(rand.New(rand.NewPCG(8, 8)))), StopOptions{Reason: ReasonLost, By: "op"}))
	assert.NoFileExists(t, tmp)
}
