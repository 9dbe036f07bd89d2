//go:build unix

package revocation

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mynacard/freespace/securefile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// insecure reports the *securefile.Error in err's chain, failing t if
// there is none.
func insecure(t *testing.T, err error) *securefile.Error {
	t.Helper()
	var e *securefile.Error
	require.Error(t, err)
	require.True(t, errors.As(err, &e), "error %v (%T) does not wrap a *securefile.Error", err, err)
	return e
}

// withTimeout runs fn and fails t if it has not returned within 10 s: a
// FIFO planted in the store directory must not hang an opener.
func withTimeout(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s hung", what)
	}
}

func giveToNobody(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	require.NoError(t, os.Lchown(path, 65534, 65534))
}

// A store directory owned by another user, or writable by others, is
// refused for reading and writing alike (issue 10 §12); group-writable is
// allowed.
func TestStoreDirectoryOwnerAndMode(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  securefile.Problem // 0: accepted
	}{
		{"0755", func(t *testing.T, dir string) {}, 0},
		{"group-writable 0775", func(t *testing.T, dir string) { require.NoError(t, os.Chmod(dir, 0o775)) }, 0},
		{"world-writable 0777", func(t *testing.T, dir string) { require.NoError(t, os.Chmod(dir, 0o777)) }, securefile.WorldWritable},
		{"sticky world-writable 1777", func(t *testing.T, dir string) { require.NoError(t, os.Chmod(dir, 0o777|os.ModeSticky)) }, securefile.WorldWritable},
		{"owned by another user", func(t *testing.T, dir string) { giveToNobody(t, dir) }, securefile.BadOwner},
	}
	for _, tt := range tests {
		for _, ro := range []bool{false, true} {
			name := tt.name + map[bool]string{false: " read-write", true: " read-only"}[ro]
			t.Run(name, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "store")
				require.NoError(t, os.Mkdir(dir, 0o755))
				require.NoError(t, os.Chmod(dir, 0o755))
				tt.setup(t, dir)
				s, err := Open(dir, Options{ReadOnly: ro, RefreshInterval: -1, Logger: quietLogger()})
				if tt.want == 0 {
					require.NoError(t, err)
					require.NoError(t, s.Close())
					return
				}
				assert.Nil(t, s)
				e := insecure(t, err)
				assert.Equal(t, tt.want, e.Problem, "%v", err)
				assert.Equal(t, dir, e.Path)
			})
		}
	}
}

// Files planted in the store directory under the names the store uses:
// symlinks are never followed (root would otherwise create, truncate or
// append to a file of the attacker's choosing), FIFOs never hang the
// opener, and files of other users are refused. Every refusal wraps a
// *securefile.Error.
func TestStorePlantedFiles(t *testing.T) {
	k := CUIDKey(randCUID(rand.New(rand.NewPCG(9, 9))))
	fifo := func(t *testing.T, path string) {
		require.NoError(t, syscall.Mkfifo(path, 0o644))
	}
	tests := []struct {
		name  string
		file  string // planted under this name
		plant func(t *testing.T, path string)
		op    func(t *testing.T, dir string) error
		want  securefile.Problem
	}{
		{"symlink as writer.lock", lockName, nil, openRW, securefile.Symlink},
		{"fifo as writer.lock", lockName, fifo, openRW, securefile.NotRegular},
		{"symlink as local-stops.log: read", journalName, nil, openRO, securefile.Symlink},
		{"fifo as local-stops.log: read", journalName, fifo, openRO, securefile.NotRegular},
		{"fifo as a list file: read-only", listName(7), fifo, openRO, securefile.NotRegular},
		{"fifo as a list file: read-write", listName(7), fifo, openRW, securefile.NotRegular},
		{"symlink as a list file", listName(7), nil, openRO, securefile.Symlink},
		{"list file of another user", listName(7), func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
			giveToNobody(t, path)
		}, openRO, securefile.BadOwner},
		{"world-writable list file", listName(7), func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
			require.NoError(t, os.Chmod(path, 0o666))
		}, openRO, securefile.WorldWritable},
		{"fifo as a delta file", deltaName(2), fifo, openRO, securefile.NotRegular},
		{"symlink as local-stops.log: stop", journalName, nil, func(t *testing.T, dir string) error {
			s, err := Open(dir, Options{RefreshInterval: -1, Logger: quietLogger()})
			if err != nil {
				return err
			}
			defer s.Close()
			return s.Stop(context.Background(), k, StopOptions{Reason: ReasonLost, By: "desk"})
		}, securefile.Symlink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "store")
			require.NoError(t, os.Mkdir(dir, 0o755))
			if tt.file == deltaName(2) {
				w := mustOpen(t, dir, Options{RefreshInterval: -1})
				require.NoError(t, w.Apply(context.Background(), &Update{Full: true, Seq: 1, AsOf: testAsOf}))
				require.NoError(t, w.Close())
			}
			// A symlink points outside the store, at a file root must
			// neither create nor change.
			target := filepath.Join(parent, "victim")
			require.NoError(t, os.WriteFile(target, []byte("precious\n"), 0o644))
			path := filepath.Join(dir, tt.file)
			if tt.plant == nil {
				require.NoError(t, os.Symlink(target, path))
			} else {
				tt.plant(t, path)
			}
			var err error
			withTimeout(t, tt.name, func() { err = tt.op(t, dir) })
			e := insecure(t, err)
			assert.Equal(t, tt.want, e.Problem, "%v", err)
			got, rerr := os.ReadFile(target)
			require.NoError(t, rerr)
			assert.Equal(t, "precious\n", string(got), "the symlink's target is untouched")
		})
	}
}

// A FIFO planted as a delta after a checker opened the store does not
// hang its refresh: the refresh fails with a *securefile.Error and the
// checker keeps its state.
func TestStoreRefreshRefusesPlantedFIFO(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{RefreshInterval: -1})
	require.NoError(t, w.Apply(context.Background(), &Update{Full: true, Seq: 1, AsOf: testAsOf}))
	ro := mustOpen(t, dir, Options{ReadOnly: true, RefreshInterval: -1})
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, deltaName(2)), 0o644))
	var err error
	withTimeout(t, "refresh", func() { err = ro.Refresh(context.Background()) })
	assert.Equal(t, securefile.NotRegular, insecure(t, err).Problem)
	assert.Equal(t, uint64(1), ro.Snapshot().Seq())
}

func openRW(t *testing.T, dir string) error {
	s, err := Open(dir, Options{RefreshInterval: -1, Logger: quietLogger()})
	if err == nil {
		s.Close()
	}
	return err
}

func openRO(t *testing.T, dir string) error {
	s, err := Open(dir, Options{ReadOnly: true, RefreshInterval: -1, Logger: quietLogger()})
	if err == nil {
		s.Close()
	}
	return err
}
