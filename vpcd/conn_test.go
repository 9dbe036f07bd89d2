package vpcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/testsupport/syncbuf"
)

// echoCard answers every APDU with its INS byte and 9000, fails with
// apdu.ErrCardRemoved on INS 0xEE and with another error on INS 0xEF.
type echoCard struct {
	resets atomic.Int32
}

func (c *echoCard) ATR() []byte { return []byte{0x3B, 0x80, 0x80, 0x01, 0x01} }
func (c *echoCard) Reset()      { c.resets.Add(1) }
func (c *echoCard) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) < 4 {
		return []byte{0x67, 0x00}, nil
	}
	switch cmd[1] {
	case 0xEE:
		return nil, apdu.ErrCardRemoved
	case 0xEF:
		return nil, errors.New("internal failure")
	}
	return []byte{cmd[1], 0x90, 0x00}, nil
}

// fakeVPCD plays the reader side of the protocol over a real TCP socket.
type fakeVPCD struct {
	ln    net.Listener
	conns chan net.Conn
}

func newFakeVPCD(t *testing.T) *fakeVPCD {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeVPCD{ln: ln, conns: make(chan net.Conn, 4)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(f.conns)
				return
			}
			f.conns <- c
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return f
}

func (f *fakeVPCD) accept(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-f.conns:
		t.Cleanup(func() { _ = c.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("card did not connect")
		return nil
	}
}

func send(t *testing.T, c net.Conn, payload []byte) {
	t.Helper()
	var b []byte
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	_, err := c.Write(append(b, payload...))
	require.NoError(t, err)
}

func recv(t *testing.T, c net.Conn) []byte {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	var hdr [2]byte
	_, err := io.ReadFull(c, hdr[:])
	require.NoError(t, err)
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	_, err = io.ReadFull(c, b)
	require.NoError(t, err)
	return b
}

func waitDone(t *testing.T, c *Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection did not end")
	}
}

func TestAttachProtocol(t *testing.T) {
	f := newFakeVPCD(t)
	card := &echoCard{}
	conn, err := Attach(t.Context(), f.ln.Addr().String(), card, Config{})
	require.NoError(t, err)
	defer conn.Close()
	s := f.accept(t)

	send(t, s, []byte{ctrlPowerOn})
	send(t, s, []byte{ctrlGetATR})
	assert.Equal(t, card.ATR(), recv(t, s), "only GET ATR is answered, so the first reply is the ATR")
	send(t, s, []byte{0x00, 0xA4, 0x04, 0x00})
	assert.Equal(t, []byte{0xA4, 0x90, 0x00}, recv(t, s))
	send(t, s, []byte{0x00, 0xEF, 0x00, 0x00})
	assert.Equal(t, []byte{0x6F, 0x00}, recv(t, s), "a card failure is 6F00")
	send(t, s, []byte{ctrlReset})
	send(t, s, []byte{ctrlPowerOff})
	send(t, s, []byte{ctrlGetATR})
	assert.Equal(t, card.ATR(), recv(t, s))
	assert.Equal(t, int32(3), card.resets.Load(), "power on, reset and power off each reset the card")

	require.NoError(t, conn.Close())
	require.NoError(t, conn.Close(), "Close is idempotent")
	assert.NoError(t, conn.Err())
	_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = s.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "Close pulls the card: the reader sees the socket close")
}

// A card failure answered 6F00 is logged, not swallowed: the reader only
// sees 6F00, the log tells why.
func TestCardFailureIsLogged(t *testing.T) {
	f := newFakeVPCD(t)
	var logs syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	conn, err := Attach(t.Context(), f.ln.Addr().String(), &echoCard{}, Config{Logger: logger})
	require.NoError(t, err)
	defer conn.Close()
	s := f.accept(t)

	send(t, s, []byte{0x00, 0xA4, 0x04, 0x00})
	assert.Equal(t, []byte{0xA4, 0x90, 0x00}, recv(t, s))
	assert.Empty(t, logs.String(), "a normal exchange logs nothing at warn level")

	send(t, s, []byte{0x00, 0xEF, 0x00, 0x00})
	assert.Equal(t, []byte{0x6F, 0x00}, recv(t, s))
	out := logs.String()
	assert.Contains(t, out, "level=WARN")
	assert.Contains(t, out, "internal failure", "the card's error reaches the log")
}

func TestConnEnds(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte // nil: the reader closes the socket
		raw     []byte // sent as is instead of a frame
		want    error
	}{
		{name: "card removes itself", payload: []byte{0x00, 0xEE, 0x00, 0x00}, want: apdu.ErrCardRemoved},
		{name: "reader closes", want: ErrReaderClosed},
		{name: "empty message", raw: []byte{0x00, 0x00}, want: ErrMalformedFrame},
		{name: "unknown control", payload: []byte{0x03}, want: ErrMalformedFrame},
		{name: "truncated message", raw: []byte{0x00, 0x05, 0x00, 0xA4}, want: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVPCD(t)
			conn, err := Attach(t.Context(), f.ln.Addr().String(), &echoCard{}, Config{})
			require.NoError(t, err)
			defer conn.Close()
			s := f.accept(t)
			switch {
			case tt.raw != nil:
				_, err := s.Write(tt.raw)
				require.NoError(t, err)
				if tt.want == io.ErrUnexpectedEOF {
					require.NoError(t, s.Close())
				}
			case tt.payload != nil:
				send(t, s, tt.payload)
			default:
				require.NoError(t, s.Close())
			}
			waitDone(t, conn)
			assert.ErrorIs(t, conn.Err(), tt.want)
		})
	}
}

func TestMessageBound(t *testing.T) {
	f := newFakeVPCD(t)
	conn, err := Attach(t.Context(), f.ln.Addr().String(), &echoCard{}, Config{MaxMessageSize: 16})
	require.NoError(t, err)
	defer conn.Close()
	s := f.accept(t)
	send(t, s, bytes.Repeat([]byte{0x00}, 17))
	waitDone(t, conn)
	var fe *FrameError
	require.ErrorAs(t, conn.Err(), &fe)
	assert.Equal(t, 17, fe.Length)
	assert.ErrorIs(t, conn.Err(), ErrMessageTooLarge)
}

func TestAttachErrors(t *testing.T) {
	_, err := Attach(t.Context(), "127.0.0.1:1", nil, Config{})
	assert.ErrorIs(t, err, ErrNilCard)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = Attach(t.Context(), addr, &echoCard{}, Config{})
	assert.Error(t, err, "nothing listens")
}

func TestServeReconnects(t *testing.T) {
	f := newFakeVPCD(t)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var serveErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveErr = Serve(ctx, f.ln.Addr().String(), &echoCard{}, Config{})
	}()
	s1 := f.accept(t)
	send(t, s1, []byte{0x00, 0xB0, 0x00, 0x00})
	assert.Equal(t, []byte{0xB0, 0x90, 0x00}, recv(t, s1))
	require.NoError(t, s1.Close()) // pcscd went away

	s2 := f.accept(t) // Serve comes back
	send(t, s2, []byte{0x00, 0xB0, 0x00, 0x00})
	assert.Equal(t, []byte{0xB0, 0x90, 0x00}, recv(t, s2))
	cancel()
	wg.Wait()
	assert.NoError(t, serveErr)
}

func TestServeStopsWhenCardRemoved(t *testing.T) {
	f := newFakeVPCD(t)
	errc := make(chan error, 1)
	go func() { errc <- Serve(t.Context(), f.ln.Addr().String(), &echoCard{}, Config{}) }()
	s := f.accept(t)
	send(t, s, []byte{0x00, 0xEE, 0x00, 0x00})
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, apdu.ErrCardRemoved)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// Mistakes in the arguments fail at once; only an unreachable vpcd is
// retried.
func TestServeFailsFastOnBadArguments(t *testing.T) {
	// A retried mistake would run until the deadline and return nil.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for _, addr := range []string{"127.0.0.1", "127.0.0.1:notaport", "[::1"} {
		err := Serve(ctx, addr, &echoCard{}, Config{})
		assert.Error(t, err, addr)
	}
	assert.ErrorIs(t, Serve(ctx, DefaultAddr, nil, Config{}), ErrNilCard)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	assert.True(t, retryable(func() error { _, err := Attach(t.Context(), addr, &echoCard{}, Config{}); return err }()),
		"connection refused is retried")
}

// A nil pointer of a Card type is refused like a nil Card: served, it
// would panic in the serving goroutine and take the process down.
func TestNilPointerCardIsRefused(t *testing.T) {
	f := newFakeVPCD(t)
	var card *echoCard
	_, err := Attach(t.Context(), f.ln.Addr().String(), card, Config{})
	assert.ErrorIs(t, err, ErrNilCard)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	assert.ErrorIs(t, Serve(ctx, f.ln.Addr().String(), card, Config{}), ErrNilCard)
}

// Attach and Close leave no goroutine behind.
func TestAttachCloseLeavesNoGoroutine(t *testing.T) {
	f := newFakeVPCD(t)
	attach := func() {
		conn, err := Attach(t.Context(), f.ln.Addr().String(), &echoCard{}, Config{})
		require.NoError(t, err)
		s := f.accept(t)
		send(t, s, []byte{0x00, 0xB0, 0x00, 0x00})
		assert.Equal(t, []byte{0xB0, 0x90, 0x00}, recv(t, s))
		require.NoError(t, conn.Close())
		require.NoError(t, s.Close())
	}
	attach() // warm up
	before := runtime.NumGoroutine()
	for range 20 {
		attach()
	}
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > before; i++ { // goroutines on their way out
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	assert.LessOrEqual(t, n, before)
}
