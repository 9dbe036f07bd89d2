package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errWriter fails every write, like a closed pipe or a full disk.
type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

// TestOutputWriteErrorFails: a command whose output cannot be written does
// not exit 0; the error is reported on stderr.
func TestOutputWriteErrorFails(t *testing.T) {
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: typeCCard(t, "U-1")}}}
	broken := errors.New("broken pipe")
	for _, args := range [][]string{
		{"readers"}, {"readers", "--json"},
		{"probe"}, {"probe", "--json"},
		{"typec", "read"}, {"typec", "read", "--json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var errb bytes.Buffer
			code := run(withSource(context.Background(), src), &cli{stdout: errWriter{broken}, stderr: &errb}, args)
			assert.Equal(t, exitFailure, code)
			assert.Equal(t, 1, strings.Count(errb.String(), "broken pipe"), "reported once: %s", errb.String())
		})
	}
}

// closeErrSource is mockSource whose cards fail to close.
type closeErrSource struct {
	*mockSource
	cardErr error
}

func (s closeErrSource) Connect(ctx context.Context, name string) (card, error) {
	c, err := s.mockSource.Connect(ctx, name)
	if err != nil {
		return nil, err
	}
	return closeErrConn{c.(mockConn), s.cardErr}, nil
}

type closeErrConn struct {
	mockConn
	err error
}

func (c closeErrConn) Close() error { return c.err }

// TestCloseErrorFails: a card or PC/SC context that fails to close after
// the command makes it exit with a failure and says so.
func TestCloseErrorFails(t *testing.T) {
	cardErr := errors.New("disconnect refused")
	for _, args := range [][]string{{"probe"}, {"typec", "read"}, {"typec", "read", "--json"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			src := closeErrSource{&mockSource{slots: []mockSlot{{name: "Mock 0", card: typeCCard(t, "U-1")}}}, cardErr}
			code, out, errOut := runCLI(t, src, args...)
			assert.Equal(t, exitFailure, code)
			assert.Contains(t, out, "Mock 0", "the output is written first")
			assert.Contains(t, errOut, "closing the card: disconnect refused")
		})
	}
}

// TestSecretsFromStdin: --stdin secrets are slices of one buffer, never
// strings: each is wiped by its Zero and the whole buffer by
// secretFlags.Zero; input over the bound is refused, not cut.
func TestSecretsFromStdin(t *testing.T) {
	ctx := context.WithValue(context.Background(), stdinKey{}, strings.NewReader("Kx7#pass\r\nsecond\n\nlast"))
	s := secretFlags{stdin: true}
	var got []string
	for range 4 {
		p, err := s.secret(ctx, "password")
		require.NoError(t, err)
		assert.Equal(t, len(p), cap(p), "an append cannot run into the next line")
		got = append(got, string(p))
		if len(got) == 1 {
			p.Zero()
			assert.NotContains(t, string(s.buf), "Kx7#pass", "Zero wipes the password in the stdin buffer")
		}
	}
	assert.Equal(t, []string{"Kx7#pass", "second", "", "last"}, got)
	_, err := s.secret(ctx, "new")
	assert.ErrorContains(t, err, "no line left for the new")
	s.Zero()
	assert.Equal(t, make([]byte, len(s.buf)), s.buf, "secretFlags.Zero wipes everything read")

	long := context.WithValue(context.Background(), stdinKey{}, strings.NewReader(strings.Repeat("x", maxStdin)+"\nmore"))
	s = secretFlags{stdin: true}
	_, err = s.secret(long, "password")
	assert.ErrorIs(t, err, errStdinTooLong)
	assert.Equal(t, make([]byte, len(s.buf)), s.buf, "a refused input is wiped")

	exact := context.WithValue(context.Background(), stdinKey{}, strings.NewReader(strings.Repeat("y", maxStdin)))
	s = secretFlags{stdin: true}
	p, err := s.secret(exact, "password")
	require.NoError(t, err)
	assert.Len(t, p, maxStdin)
}

// FuzzReadStdin: any stdin gives lines without newlines whose join is the
// input (less a final newline and the CR of CRLF endings), each line's
// capacity ends at its length, or errStdinTooLong past the bound; never a
// panic.
func FuzzReadStdin(f *testing.F) {
	for _, seed := range []string{"", "\n", "pw\n", "a\r\nb", "a\n\n\nb\r\n", "\r", "\r\n\r\n", strings.Repeat("z", maxStdin), strings.Repeat("z", maxStdin+1)} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var s secretFlags
		err := s.readStdin(bytes.NewReader(in))
		if len(in) > maxStdin {
			require.ErrorIs(t, err, errStdinTooLong)
			require.Empty(t, s.lines)
			return
		}
		require.NoError(t, err)
		var want [][]byte
		if len(in) > 0 {
			want = bytes.Split(bytes.TrimSuffix(in, []byte{'\n'}), []byte{'\n'})
		}
		require.Len(t, s.lines, len(want))
		for i, l := range s.lines {
			assert.Equal(t, string(bytes.TrimSuffix(want[i], []byte{'\r'})), string(l))
			assert.Equal(t, len(l), cap(l))
		}
		s.Zero()
		assert.Equal(t, make([]byte, len(s.buf)), s.buf)
	})
}
