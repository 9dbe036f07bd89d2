package pcsc_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/cardap/pcsc"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/internal/testsupport/syncbuf"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/vpcd"
)

// restartChildEnv marks the subprocess of TestServeRestart.
const restartChildEnv = "FREESPACE_TEST_SERVEPCSC_RESTART_CHILD"

// serveLine is one JSON line of the subprocess: a tap, or (last) the
// return of pcsc.Serve.
type serveLine struct {
	Msg  string `json:"msg,omitempty"` // a log record of the client (JSON slog)
	Slot string `json:"slot,omitempty"`
	User string `json:"user,omitempty"`
	Err  string `json:"err,omitempty"`
	Done string `json:"done,omitempty"`
}

// TestServeRestart runs pcsc.Serve against a private pcscd that the
// test stops, restarts and reconfigures under it: the serve loop must go on
// serving after pcscd comes back (also for a card that was in the reader
// when pcscd went away), pick up the readers of a vpcd device that appears
// with a restart, go on when that device disappears again, and stop
// cleanly on context cancel while pcscd is down.
//
// libpcsclite reads PCSCLITE_CSOCK_NAME once per process and this process
// talks to the pcscd that scripts/test.sh shares between packages, so
// pcsc.Serve runs in a subprocess (this test binary again) pointed at the
// private pcscd. It prints one JSON line per tap and the client's debug
// log as JSON lines (the test waits on those that say a reader's loop is
// waiting for a card, or has ended), and stops when its stdin is closed.
func TestServeRestart(t *testing.T) {
	if os.Getenv(restartChildEnv) == "1" {
		serveRestartChild(t)
		return
	}
	d := pcsctest.NewPrivate(t, 2)
	d.Start(1)
	slots := d.Slots() // device 1: slots 0 and 1; device 2: slots 2 and 3
	child := startServeChild(t, d)
	since := 0 // events before this one are from an earlier pcscd

	// present waits until the loop of each slot waits for a card on the
	// current pcscd (a slot that held a card when pcscd went away is first
	// waited empty: a card seen there at once could be the same one), then
	// attaches one card per slot at once and expects exactly one tap per
	// card, each accepted with the card's user ID in its reader.
	present := func(step string, users map[int]string) {
		t.Helper()
		want := make([]serveLine, 0, len(users))
		for i, user := range users {
			child.waitEvent(t, step, evWaiting, slots[i].ReaderName, since)
			card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: user}))
			conn, err := vpcd.Attach(context.Background(), slots[i].Addr, card, vpcd.Config{})
			require.NoError(t, err, "%s: attaching %s", step, user)
			t.Cleanup(func() { _ = conn.Close() })
			want = append(want, serveLine{Slot: slots[i].ReaderName, User: user})
		}
		got := make([]serveLine, 0, len(users))
		for range users {
			got = append(got, child.nextTap(t, step))
		}
		require.ElementsMatch(t, want, got, step)
	}
	// restart stops pcscd (cards in its readers are dropped) and starts it
	// again with devices vpcd devices.
	restart := func(devices int) {
		d.Stop()
		since = child.events()
		d.Start(devices)
	}

	present("first start", map[int]string{0: "U-R-1"})

	// (a) pcscd stops with the card still in the reader and starts again.
	restart(1)
	present("after restart", map[int]string{0: "U-R-2", 1: "U-R-3"})

	// (b) A second vpcd device appears: its readers are served too.
	restart(2)
	present("reader added", map[int]string{0: "U-R-4", 2: "U-R-5", 3: "U-R-6"})

	// ... and disappears again: its readers are no longer served, the
	// remaining ones still are.
	restart(1)
	child.waitEvent(t, "reader removed", evGone, slots[2].ReaderName, since)
	child.waitEvent(t, "reader removed", evGone, slots[3].ReaderName, since)
	present("reader removed", map[int]string{0: "U-R-7", 1: "U-R-8"})

	// Cancel while pcscd is down: pcsc.Serve returns context.Canceled once
	// every reader goroutine has ended.
	d.Stop()
	child.stop(t)
}

// serveRestartChild is the subprocess: pcsc.Serve over every reader of the
// pcscd at PCSCLITE_CSOCK_NAME until stdin is closed.
func serveRestartChild(t *testing.T) {
	out := &lockedWriter{w: os.Stdout}
	logger := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, func(c *cardap.Config) {
		c.NoRevocation = true
		c.Logger = logger
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	emit := func(l serveLine) {
		b, err := json.Marshal(l)
		if assert.NoError(t, err) {
			_, err = out.Write(append(b, '\n'))
			assert.NoError(t, err)
		}
	}
	err := pcsc.Serve(ctx, c, func(_ context.Context, tap cardap.Tap, _ cardap.Card) {
		l := serveLine{Slot: tap.Slot}
		if tap.Identity != nil {
			l.User = tap.Identity.UserID
		}
		if tap.Err != nil {
			l.Err = tap.Err.Error()
		}
		emit(l)
	}, pcsc.Options{Rescan: 500 * time.Millisecond})
	emit(serveLine{Done: errString(err)})
	assert.ErrorIs(t, err, context.Canceled)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// The client's debug records the test waits for (cardap/pcsc.go).
const (
	evWaiting = "cardap: waiting for a card"
	evGone    = "cardap: reader no longer served"
)

// serveChild is the running subprocess of TestServeRestart.
type serveChild struct {
	stdin  io.Closer
	taps   chan serveLine // taps, then the Done line
	exited chan error
	output *syncbuf.Buffer // stderr and log records, shown on failure

	mu      sync.Mutex
	log     []serveLine   // the log records with a slot, in order
	changed chan struct{} // closed and replaced when log grows
}

func startServeChild(t *testing.T, d *pcsctest.Daemon) *serveChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), restartChildEnv+"=1", d.Env())
	c := &serveChild{taps: make(chan serveLine, 16), exited: make(chan error, 1), output: &syncbuf.Buffer{}, changed: make(chan struct{})}
	cmd.Stderr = c.output
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	c.stdin = stdin
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.handle(sc.Bytes())
		}
		close(c.taps)
		c.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-c.exited:
		case <-time.After(pcsctest.Timeout):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("pcsc.Serve subprocess output:\n%s", c.output.String())
		}
	})
	return c
}

// handle sorts one line of the subprocess's stdout.
func (c *serveChild) handle(line []byte) {
	var l serveLine
	if !bytes.HasPrefix(line, []byte("{")) || json.Unmarshal(line, &l) != nil {
		_, _ = fmt.Fprintf(c.output, "stdout: %s\n", line)
		return
	}
	if l.Msg == "" {
		c.taps <- l
		return
	}
	_, _ = fmt.Fprintf(c.output, "%s\n", line)
	if l.Slot == "" {
		return
	}
	c.mu.Lock()
	c.log = append(c.log, l)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// events returns how many slot log records the subprocess has written.
func (c *serveChild) events() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.log)
}

// waitEvent waits until a log record msg about slot appears after the
// first since records, failing after pcsctest.Timeout.
func (c *serveChild) waitEvent(t *testing.T, step, msg, slot string, since int) {
	t.Helper()
	timeout := time.After(pcsctest.Timeout)
	for {
		c.mu.Lock()
		changed := c.changed
		found := slices.ContainsFunc(c.log[since:], func(l serveLine) bool { return l.Msg == msg && l.Slot == slot })
		c.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s: no %q for %q within %v", step, msg, slot, pcsctest.Timeout)
		}
	}
}

// nextTap returns the next tap line, failing after pcsctest.Timeout.
func (c *serveChild) nextTap(t *testing.T, step string) serveLine {
	t.Helper()
	select {
	case l, ok := <-c.taps:
		if !ok {
			t.Fatalf("%s: the pcsc.Serve subprocess ended early", step)
		}
		if l.Done != "" {
			t.Fatalf("%s: pcsc.Serve returned %s", step, l.Done)
		}
		return l
	case <-time.After(pcsctest.Timeout):
		t.Fatalf("%s: no tap within %v", step, pcsctest.Timeout)
	}
	return serveLine{}
}

// stop closes the subprocess's stdin (its context is cancelled) and expects
// pcsc.Serve to return context.Canceled, with no further tap, and the
// subprocess to exit cleanly.
func (c *serveChild) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.stdin.Close())
	select {
	case l, ok := <-c.taps:
		require.True(t, ok, "the pcsc.Serve subprocess ended without reporting")
		assert.Equal(t, serveLine{Done: context.Canceled.Error()}, l)
	case <-time.After(pcsctest.Timeout):
		t.Fatalf("pcsc.Serve did not return within %v of cancel", pcsctest.Timeout)
	}
	select {
	case err := <-c.exited:
		assert.NoError(t, err, "the pcsc.Serve subprocess failed")
		c.exited <- err // for the cleanup
	case <-time.After(pcsctest.Timeout):
		t.Fatalf("the pcsc.Serve subprocess did not exit within %v", pcsctest.Timeout)
	}
	if s := c.output.String(); strings.Contains(s, "panic") {
		t.Errorf("the subprocess panicked:\n%s", s)
	}
}

// lockedWriter serializes whole writes (one line each) to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
