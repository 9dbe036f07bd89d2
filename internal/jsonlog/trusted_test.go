//go:build unix

package jsonlog

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/securefile"
)

// OpenTrusted opens the log as Open does (torn tail cut, appends
// durable), creates it 0600, and refuses what a privileged process must
// not write through: a symlink, a FIFO (without hanging), a file others
// may write.
func TestOpenTrusted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, dropped, err := OpenTrusted(path, nil)
	require.NoError(t, err)
	assert.Zero(t, dropped)
	require.NoError(t, l.Append(map[string]string{"op": "one"}))
	require.NoError(t, l.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"op":"to`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	var lines []string
	l, dropped, err = OpenTrusted(path, func(line []byte) error { lines = append(lines, string(line)); return nil })
	require.NoError(t, err)
	assert.EqualValues(t, 9, dropped, "the torn tail is cut")
	assert.Equal(t, []string{`{"op":"one"}`}, lines)
	require.NoError(t, l.Close())

	link := filepath.Join(dir, "link.jsonl")
	require.NoError(t, os.Symlink(path, link))
	_, _, err = OpenTrusted(link, nil)
	var se *securefile.Error
	require.ErrorAs(t, err, &se, "a symlink is refused")

	fifo := filepath.Join(dir, "fifo.jsonl")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	_, _, err = OpenTrusted(fifo, nil)
	require.ErrorAs(t, err, &se, "a FIFO is refused")

	open := filepath.Join(dir, "open.jsonl")
	require.NoError(t, os.WriteFile(open, nil, 0o600))
	require.NoError(t, os.Chmod(open, 0o666))
	_, _, err = OpenTrusted(open, nil)
	require.ErrorAs(t, err, &se, "a world-writable file is refused")
	assert.ErrorIs(t, err, securefile.ErrInsecure)
}
