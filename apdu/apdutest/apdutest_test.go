package apdutest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
)

// recT records what a Card reports to its test instead of failing ours.
type recT struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (r *recT) Helper() {}
func (r *recT) Errorf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(f, a...))
}
func (r *recT) Fatalf(f string, a ...any) { r.Errorf(f, a...); runtime.Goexit() }
func (r *recT) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recT) finish() {
	for _, f := range r.cleanups {
		f()
	}
}

func TestCardPlaysScript(t *testing.T) {
	ctx := context.Background()
	card := NewCard(t,
		Step{Command: "00A4 040C 05 D392100031", Response: "9000"},
		Step{Command: "0084000008", Response: "0102030405060708 9000"},
		Step{Command: "00820001 XX XX *", Response: "6300"},
		Step{Command: "*", Err: apdu.ErrCardRemoved},
	)
	got, err := card.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x0C, 0x05, 0xD3, 0x92, 0x10, 0x00, 0x31})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x90, 0x00}, got)
	got, err = card.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08})
	require.NoError(t, err)
	assert.Len(t, got, 10)
	got, err = card.Transmit(ctx, []byte{0x00, 0x82, 0x00, 0x01, 0x10, 0xAA, 0xBB, 0xCC})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x63, 0x00}, got)
	_, err = card.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x01})
	require.ErrorIs(t, err, apdu.ErrCardRemoved)
	assert.Zero(t, card.Remaining())
	assert.Len(t, card.Sent(), 4)
}

// TestCardFailsTheTest: an unexpected command, a command after the last
// step and a step never played each fail the test that owns the card.
func TestCardFailsTheTest(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(c *Card) error
		want string
	}{
		{"wrong command", func(c *Card) error {
			_, err := c.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x02})
			return err
		}, "step 1"},
		{"wrong length", func(c *Card) error {
			_, err := c.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x01, 0x00})
			return err
		}, "step 1"},
		{"after the last step", func(c *Card) error {
			if _, err := c.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x01}); err != nil {
				return err
			}
			_, err := c.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x01})
			return err
		}, "after the last step"},
		{"never played", func(*Card) error { return ErrUnexpectedCommand }, "1 of 1 steps not played"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := &recT{TB: t}
			c := NewCard(rt, Step{Command: "00B0000001", Response: "AA 9000"})
			err := tc.run(c)
			require.ErrorIs(t, err, ErrUnexpectedCommand)
			rt.finish()
			require.NotEmpty(t, rt.errs)
			assert.Contains(t, strings.Join(rt.errs, "\n"), tc.want)
		})
	}
}

func TestCardBadStepFailsAtOnce(t *testing.T) {
	for _, s := range []Step{{Command: "00B"}, {Command: "00B0000001", Response: "90"}, {Command: "ZZ", Response: "9000"}} {
		rt := &recT{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); NewCard(rt, s) }()
		<-done
		assert.Len(t, rt.errs, 1, "%+v", s)
	}
}

func TestCardMalformedResponse(t *testing.T) {
	card := NewCard(t, Step{Command: "*", Response: "90", Malformed: true}, Step{Command: "*", Malformed: true})
	got, err := card.Transmit(context.Background(), []byte{0, 0xB0, 0, 0})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x90}, got)
	got, err = card.Transmit(context.Background(), []byte{0, 0xB0, 0, 0})
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestCardCanceledContextPlaysNothing(t *testing.T) {
	card := NewCard(t, Step{Command: "*", Response: "9000"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := card.Transmit(ctx, []byte{0, 0xB0, 0, 0})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, card.Remaining())
	_, err = card.Transmit(context.Background(), []byte{0, 0xB0, 0, 0})
	require.NoError(t, err)
}

func TestScript(t *testing.T) {
	steps := Script(t, `
		# select, then a pulled card
		00A4040C 05 D392100031 => 9000
		00B0000001 => !removed
	`)
	require.Equal(t, []Step{
		{Command: "00A4040C 05 D392100031", Response: "9000"},
		{Command: "00B0000001", Err: apdu.ErrCardRemoved},
	}, steps)
	rt := &recT{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); Script(rt, "00B0 9000") }()
	<-done
	assert.Len(t, rt.errs, 1)
}

func TestInterceptor(t *testing.T) {
	ctx := context.Background()
	card := NewCard(t, Script(t, `
		00A4020C 02 0001 => 9000
		00B0000004 => 01020304 9000
		00B0000004 => 01020304 9000
	`)...)
	ic := &Interceptor{Next: card, Rewrite: ReplaceSW(apdu.InsReadBinary, 0x6282)}
	got, err := ic.Transmit(ctx, []byte{0, 0xA4, 2, 0x0C, 2, 0, 1})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x90, 0x00}, got, "other instructions pass")
	got, err = ic.Transmit(ctx, []byte{0, 0xB0, 0, 0, 4})
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3, 4, 0x62, 0x82}, got)
	assert.Same(t, apdu.Transport(card), ic.Unwrap())

	ic.Rewrite = RemoveAt(2)
	_, err = ic.Transmit(ctx, []byte{0, 0xB0, 0, 0, 4})
	require.ErrorIs(t, err, apdu.ErrCardRemoved)

	var pass Interceptor
	pass.Next = NewCard(t, Step{Command: "*", Response: "9000"})
	got, err = pass.Transmit(ctx, []byte{0, 0, 0, 0})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x90, 0x00}, got, "nil Rewrite passes through")
}

func TestInterceptorRewriteCommand(t *testing.T) {
	card := NewCard(t, Step{Command: "00B0000010", Response: "6C04"})
	ic := &Interceptor{Next: card, RewriteCommand: func(n int, cmd []byte) []byte {
		out := append([]byte(nil), cmd...)
		out[len(out)-1] = 0x10
		return out
	}}
	sent := []byte{0, 0xB0, 0, 0, 4}
	got, err := ic.Transmit(context.Background(), sent)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x6C, 0x04}, got)
	assert.Equal(t, []byte{0, 0xB0, 0, 0, 4}, sent, "the caller's command is not modified")
}
