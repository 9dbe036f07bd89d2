package vpcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"time"

	"github.com/mynacard/freespace/apdu"
)

// DefaultAddr is vpcd's default address for the first slot.
const DefaultAddr = "127.0.0.1:35963"

// Card is a card that can be put into a vpcd slot.
type Card interface {
	// ATR returns the answer to reset.
	ATR() []byte
	// Reset is called when the reader powers the card off or on or resets
	// it: volatile state (selected application, security status) is lost.
	Reset()
	// Transport answers command APDUs. An error that wraps
	// apdu.ErrCardRemoved takes the card out of the reader (the
	// connection is closed); any other error, or a response without a
	// status word, is answered with SW 6F00 and logged (see Config.Logger).
	apdu.Transport
}

// ErrNilCard is returned by Attach and Serve for a nil Card, including a
// nil pointer of a type that implements Card (which would otherwise panic
// in the serving goroutine, taking the process down).
var ErrNilCard = errors.New("vpcd: nil Card")

// isNil reports whether card is nil or holds a nil pointer, map, slice,
// channel or function.
func isNil(card Card) bool {
	if card == nil {
		return true
	}
	switch v := reflect.ValueOf(card); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// swNoPreciseDiagnosis returns the answer to a command the card failed
// with an error other than a removal (ISO/IEC 7816-4 §5.6: 6F00 no precise
// diagnosis), in a fresh slice.
func swNoPreciseDiagnosis() []byte { return []byte{0x6F, 0x00} }

type config struct {
	maxMessage int
	logger     *slog.Logger
	dialer     net.Dialer
}

// Config configures Attach and Serve. The zero value is the default.
type Config struct {
	// MaxMessageSize bounds the size of a message from vpcd: 0 means
	// MaxMessageSize, the maximum; a value outside 1..MaxMessageSize is
	// taken as MaxMessageSize too. Larger messages end the connection
	// with ErrMessageTooLarge.
	MaxMessageSize int
	// Logger receives connection events (attach, detach, errors) at
	// debug and warn level, and every card failure answered 6F00 at warn
	// level; nil discards. APDUs are not logged here: wrap the Card in an
	// apdu.Trace for an APDU log.
	Logger *slog.Logger
}

func newConfig(c Config) config {
	cfg := config{maxMessage: MaxMessageSize, logger: c.Logger}
	if c.MaxMessageSize > 0 && c.MaxMessageSize <= MaxMessageSize {
		cfg.maxMessage = c.MaxMessageSize
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Conn is a card inserted into a vpcd slot. Close pulls the card out.
type Conn struct {
	nc     net.Conn
	card   Card
	cfg    config
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu     sync.Mutex
	err    error
	closed bool
}

// Attach connects card to the vpcd slot listening at addr (host:port, for
// example DefaultAddr) and serves it in a goroutine until Close is called,
// the card removes itself, or vpcd closes the connection. ctx bounds the
// dial only; the card's Transmit gets a context that carries ctx's values
// and is cancelled by Close.
func Attach(ctx context.Context, addr string, card Card, cfg Config) (*Conn, error) {
	if isNil(card) {
		return nil, fmt.Errorf("%w in Attach", ErrNilCard)
	}
	conf := newConfig(cfg)
	nc, err := conf.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("vpcd: connecting to %s: %w", addr, err)
	}
	onHdr := func() {}
	if tc, ok := nc.(*net.TCPConn); ok {
		if err := tc.SetNoDelay(true); err != nil {
			// Only latency suffers (Nagle delays small writes): go on.
			conf.logger.Warn("vpcd: TCP_NODELAY not set", "err", err)
		}
		onHdr = quickAck(tc)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &Conn{nc: nc, card: card, cfg: conf, cancel: cancel, done: make(chan struct{})}
	conf.logger.Debug("vpcd: card attached", "addr", addr)
	go c.serve(sctx, onHdr)
	return c, nil
}

// serve answers vpcd's messages until the connection ends.
func (c *Conn) serve(ctx context.Context, onHdr func()) {
	defer close(c.done)
	err := c.loop(ctx, onHdr)
	c.mu.Lock()
	if c.closed {
		err = nil
	}
	c.err = err
	c.mu.Unlock()
	c.cancel()
	_ = c.nc.Close()
	if err != nil {
		c.cfg.logger.Warn("vpcd: card detached", "err", err)
	} else {
		c.cfg.logger.Debug("vpcd: card detached")
	}
}

func (c *Conn) loop(ctx context.Context, onHdr func()) error {
	fr := &frameReader{r: c.nc, max: c.cfg.maxMessage, onHdr: onHdr}
	var out []byte
	for {
		msg, err := fr.next()
		if err != nil {
			return err
		}
		reply, err := c.handle(ctx, msg)
		if err != nil {
			return err
		}
		if reply == nil {
			continue
		}
		out, err = appendFrame(out[:0], reply)
		if err != nil {
			return err
		}
		if _, err := c.nc.Write(out); err != nil {
			return fmt.Errorf("vpcd: writing response: %w", err)
		}
	}
}

// handle processes one message and returns the reply payload, or nil when
// the message gets no reply.
func (c *Conn) handle(ctx context.Context, msg []byte) ([]byte, error) {
	return handleMessage(ctx, c.card, msg, c.cfg.logger)
}

// handleMessage answers one message of vpcd. A card failure that is not a
// removal is answered 6F00 and logged at warn level on log, so that it is
// not lost.
func handleMessage(ctx context.Context, card Card, msg []byte, log *slog.Logger) ([]byte, error) {
	if len(msg) == 1 {
		switch msg[0] {
		case ctrlPowerOff, ctrlPowerOn, ctrlReset:
			card.Reset()
			return nil, nil
		case ctrlGetATR:
			atr := card.ATR()
			if len(atr) == 0 {
				return nil, &FrameError{Length: 1, Reason: "the card has no ATR", Err: ErrMalformedFrame}
			}
			return atr, nil
		default:
			return nil, &FrameError{Length: 1, Reason: fmt.Sprintf("unknown control command 0x%02X", msg[0]), Err: ErrMalformedFrame}
		}
	}
	rsp, err := card.Transmit(ctx, msg)
	if err != nil {
		if errors.Is(err, apdu.ErrCardRemoved) {
			// The card's own error already matches apdu.ErrCardRemoved,
			// the one removal sentinel: wrap it, add the fact.
			return nil, fmt.Errorf("vpcd: card removed itself: %w", err)
		}
		log.LogAttrs(ctx, slog.LevelWarn, "vpcd: card failed, answered 6F00", slog.String("err", err.Error()))
		return swNoPreciseDiagnosis(), nil
	}
	if len(rsp) < 2 {
		log.LogAttrs(ctx, slog.LevelWarn, "vpcd: card answered without a status word, answered 6F00", slog.Int("bytes", len(rsp)))
		return swNoPreciseDiagnosis(), nil
	}
	return rsp, nil
}

// Close pulls the card out of the reader: it closes the connection and
// waits for the serving goroutine to end. It is safe to call more than once.
func (c *Conn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.cancel()
		_ = c.nc.Close()
	})
	<-c.done
	return nil
}

// Done is closed when the card is out of the reader.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, once Done is closed: nil after
// Close; ErrReaderClosed when vpcd closed it; an error matching
// apdu.ErrCardRemoved when the card removed itself; a *FrameError for a
// malformed message. Before Done is closed it returns nil.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Serve keeps card in the vpcd slot at addr until ctx is done: it attaches
// the card, and when vpcd goes away (pcscd restarted) or cannot be reached,
// tries again with a growing delay (up to 2 s). It returns nil when ctx is
// done, and the error when the card removes itself (an error matching
// apdu.ErrCardRemoved) or vpcd sends a malformed message. An address that
// cannot work (no port, unknown host or port) or a nil card fails at once
// instead of being retried for ever.
func Serve(ctx context.Context, addr string, card Card, cfg Config) error {
	if isNil(card) {
		return fmt.Errorf("%w in Serve", ErrNilCard)
	}
	conf := newConfig(cfg)
	const minDelay, maxDelay = 100 * time.Millisecond, 2 * time.Second
	delay := minDelay
	for {
		conn, err := Attach(ctx, addr, card, cfg)
		if err == nil {
			select {
			case <-ctx.Done():
				_ = conn.Close()
				return nil
			case <-conn.Done():
			}
			err = conn.Err()
			if errors.Is(err, apdu.ErrCardRemoved) || errors.Is(err, ErrMalformedFrame) || errors.Is(err, ErrMessageTooLarge) {
				return err
			}
			delay = minDelay
		}
		if ctx.Err() != nil {
			return nil
		}
		if !retryable(err) {
			return err
		}
		conf.logger.Info("vpcd: reader not reachable, retrying", "addr", addr, "err", err, "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		delay = min(2*delay, maxDelay)
	}
}

// retryable reports whether a failure to reach vpcd may go away by itself
// (vpcd not listening yet, pcscd restarting) rather than being a mistake
// in the address.
func retryable(err error) bool {
	var addrErr *net.AddrError
	var parseErr *net.ParseError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &addrErr), errors.As(err, &parseErr):
		return false
	case errors.As(err, &dnsErr):
		return !dnsErr.IsNotFound
	}
	return true
}
