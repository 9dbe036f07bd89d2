package jsonlog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/jsonlogtest"
)

// TestLastLineEnd checks the backwards search across read chunks.
func TestLastLineEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want int64
	}{
		{"empty", "", 0},
		{"no newline", "abc", 0},
		{"one line", "a\n", 2},
		{"torn second line", "a\nb", 2},
		{"two lines", "a\nb\n", 4},
		{"long tail beyond one chunk", "x\n" + strings.Repeat("y", 10000), 2},
		{"newline in an earlier chunk", strings.Repeat("y", 5000) + "\n" + strings.Repeat("z", 5000), 5001},
		{"newline at a chunk edge", strings.Repeat("y", 4095) + "\n" + strings.Repeat("z", 4096), 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lastLineEnd(strings.NewReader(tc.data), int64(len(tc.data)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestOpenTornTail: an unfinished last line is cut off (and reported in
// dropped), complete lines are replayed in order without their newline,
// and the file is left as complete lines only.
func TestOpenTornTail(t *testing.T) {
	for _, tc := range []struct {
		name        string
		content     string
		wantLines   []string
		wantDropped int64
	}{
		{"empty file kept", "", nil, 0},
		{"complete lines kept", "{\"a\":1}\n{\"a\":2}\n", []string{`{"a":1}`, `{"a":2}`}, 0},
		{"all unfinished", `{"time":`, nil, 8},
		{"torn last line", "{\"a\":1}\n{\"a\"", []string{`{"a":1}`}, 4},
		{"empty complete line replayed", "\n{\"a\"", []string{""}, 4},
		{"long torn tail", "{}\n" + strings.Repeat("x", 9000), []string{"{}"}, 9000},
	} {
		for _, withReplay := range []bool{true, false} {
			name := tc.name + "/replay"
			if !withReplay {
				name = tc.name + "/no-replay"
			}
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "log.jsonl")
				require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
				var lines []string
				var replay func([]byte) error
				if withReplay {
					replay = func(line []byte) error { lines = append(lines, string(line)); return nil }
				}
				l, dropped, err := Open(path, replay)
				require.NoError(t, err)
				assert.Equal(t, tc.wantDropped, dropped)
				if withReplay {
					assert.Equal(t, tc.wantLines, lines)
				}
				require.NoError(t, l.Append(map[string]int{"b": 3}))
				require.NoError(t, l.Close())

				b, err := os.ReadFile(path)
				require.NoError(t, err)
				kept := tc.content[:len(tc.content)-int(tc.wantDropped)]
				assert.Equal(t, kept+"{\"b\":3}\n", string(b), "the torn line is gone, the new one follows the kept ones")
			})
		}
	}
}

// TestOpenReplayError: a replay error names the file and the line number,
// wraps the replay's error, and leaves the file untouched (a torn tail
// included).
func TestOpenReplayError(t *testing.T) {
	errBad := errors.New("bad entry")
	for _, tc := range []struct {
		name     string
		content  string
		wantLine string
	}{
		{"first line", "x\ny\n", "line 1"},
		{"third line", "ok\nok\nx\nok\n", "line 3"},
		{"with a torn tail", "ok\nx\n{\"torn", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log.jsonl")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			l, _, err := Open(path, func(line []byte) error {
				if string(line) == "x" {
					return errBad
				}
				return nil
			})
			require.Error(t, err)
			assert.Nil(t, l)
			assert.ErrorIs(t, err, errBad)
			assert.ErrorContains(t, err, path)
			assert.ErrorContains(t, err, tc.wantLine+":")
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tc.content, string(b))
		})
	}
}

// TestOpenCreates: a new log is created with mode 0600 (its directory is
// synced); a missing directory is an error naming the file.
func TestOpenCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.jsonl")
	l, dropped, err := Open(path, func([]byte) error { t.Error("replay on an empty file"); return nil })
	require.NoError(t, err)
	assert.Zero(t, dropped)
	require.NoError(t, l.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	missing := filepath.Join(t.TempDir(), "no", "such", "log.jsonl")
	_, _, err = Open(missing, nil)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, missing)
}

// TestAppendFailureCutsOff: a failed write or sync returns an error naming
// the file and leaves no part of the line behind, so the next line follows
// the last good one. Only when the cut-off itself fails does the partial
// line stay, and both errors are returned.
func TestAppendFailureCutsOff(t *testing.T) {
	for _, tc := range []struct {
		name                          string
		failWrite, failSync, failTrun bool
		wantErr                       []string
		wantContent                   string
	}{
		{"write fails", true, false, false, []string{"no space left"}, "{\"n\":1}\n{\"n\":3}\n"},
		{"sync fails", false, true, false, []string{"I/O error"}, "{\"n\":1}\n{\"n\":3}\n"},
		{"write and cut-off fail", true, false, true, []string{"no space left", "cutting off the failed line", "truncate refused"}, "{\"n\":1}\n{\"n\"{\"n\":3}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log.jsonl")
			var ff *jsonlogtest.FaultyFile
			l, _, err := OpenWrapped(path, nil, func(f *os.File) File {
				ff = &jsonlogtest.FaultyFile{File: f}
				return ff
			})
			require.NoError(t, err)
			require.NoError(t, l.Append(map[string]int{"n": 1}))
			ff.FailWrite, ff.FailSync, ff.FailTruncate = tc.failWrite, tc.failSync, tc.failTrun
			err = l.Append(map[string]int{"n": 2})
			require.Error(t, err)
			assert.ErrorContains(t, err, path)
			for _, want := range tc.wantErr {
				assert.ErrorContains(t, err, want)
			}
			require.NoError(t, l.Append(map[string]int{"n": 3}))
			require.NoError(t, l.Close())
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tc.wantContent, string(b))
		})
	}
}

// TestAppendErrors: a value that does not marshal writes nothing; after
// Close, Append returns ErrClosed and Close is a no-op.
func TestAppendErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	l, _, err := Open(path, nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"channel", make(chan int)},
		{"function", func() {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, l.Append(tc.v), path)
		})
	}
	require.NoError(t, l.Close())
	assert.ErrorIs(t, l.Append("late"), ErrClosed)
	assert.NoError(t, l.Close(), "closing again")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Zero(t, st.Size())
}

// FuzzOpen: whatever the file holds, Open replays exactly its complete
// lines, drops exactly the bytes after the last newline, and leaves the
// complete lines in the file.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("{\"a\":1}\n"))
	f.Add([]byte("{\"a\":1}\n{\"a\""))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("no newline at all"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "log.jsonl")
		require.NoError(t, os.WriteFile(path, data, 0o600))
		var lines []string
		l, dropped, err := Open(path, func(line []byte) error {
			if strings.IndexByte(string(line), '\n') >= 0 {
				t.Fatalf("line %q holds a newline", line)
			}
			lines = append(lines, string(line))
			return nil
		})
		require.NoError(t, err)
		require.NoError(t, l.Close())
		kept := ""
		if len(lines) > 0 {
			kept = strings.Join(lines, "\n") + "\n"
		}
		require.True(t, strings.HasPrefix(string(data), kept), "replayed lines are the file's start")
		assert.Equal(t, int64(len(data)-len(kept)), dropped)
		assert.NotContains(t, string(data[len(kept):]), "\n")
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, kept, string(b))
	})
}
