//go:build cgo || windows

package reader

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebfe/scard"

	"github.com/mynacard/freespace/apdu"
)

// waitSlice bounds one SCardGetStatusChange call. Cancellation does not
// depend on it (a done context cancels the wait with SCardCancel); it only
// limits how long a wait can outlive a cancellation that raced with the
// start of the call.
const waitSlice = time.Second

// cancelRetry is how often a cancelled wait repeats SCardCancel until the
// waiting call has returned (SCardCancel only affects a call in progress).
const cancelRetry = 50 * time.Millisecond

// pnpReader is the pseudo reader whose state changes when readers come and go.
const pnpReader = `\\?PnP?\Notification`

// Context is a PC/SC resource manager context. It is safe for concurrent
// use. Waits and Cards use PC/SC contexts of their own, so a long wait on one
// reader never blocks calls on another.
type Context struct {
	mu sync.Mutex
	sc *scard.Context
}

// EstablishContext connects to the PC/SC service (SCardEstablishContext).
// When pcscd is not running the error matches ErrNoService.
func EstablishContext(ctx context.Context) (*Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sc, err := establish()
	if err != nil {
		return nil, err
	}
	return &Context{sc: sc}, nil
}

func establish() (*scard.Context, error) {
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, mapErr(opEstablishContext, "", err)
	}
	return sc, nil
}

// mapErr turns an error of the binding into a *PCSCError.
func mapErr(op, readerName string, err error) error {
	var code scard.Error
	if errors.As(err, &code) {
		return newError(op, readerName, uint32(code))
	}
	return fmt.Errorf("reader: %s %q: %w", op, readerName, err)
}

func isCode(err error, code scard.Error) bool {
	var c scard.Error
	return errors.As(err, &c) && c == code
}

// Close releases the context (SCardReleaseContext). Cards connected through
// it stay usable until they are closed.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sc == nil {
		return nil
	}
	err := c.sc.Release()
	c.sc = nil
	if err != nil {
		return mapErr(opReleaseContext, "", err)
	}
	return nil
}

// ListReaders returns the names of the readers PC/SC knows. No readers is
// an empty list, not an error.
func (c *Context) ListReaders(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sc == nil {
		return nil, ErrClosed
	}
	names, err := c.sc.ListReaders()
	if err != nil {
		if isCode(err, scard.ErrNoReadersAvailable) {
			return []string{}, nil
		}
		return nil, mapErr(opListReaders, "", err)
	}
	return names, nil
}

// Readers returns the current state of every reader: card presence, ATR,
// in use.
func (c *Context) Readers(ctx context.Context) ([]ReaderState, error) {
	names, err := c.ListReaders(ctx)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	rs := make([]scard.ReaderState, len(names))
	for i, n := range names {
		rs[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sc == nil {
		return nil, ErrClosed
	}
	if err := c.sc.GetStatusChange(rs, 0); err != nil && !isCode(err, scard.ErrTimeout) {
		return nil, mapErr(opGetStatusChange, "", err)
	}
	out := make([]ReaderState, len(rs))
	for i := range rs {
		out[i] = stateOf(&rs[i])
	}
	return out, nil
}

func stateOf(r *scard.ReaderState) ReaderState {
	st := ReaderState{Name: r.Reader, State: State(uint32(r.EventState) & 0xFFFF), raw: uint32(r.EventState)}
	if st.Present() && len(r.Atr) > 0 {
		st.ATR = append([]byte(nil), r.Atr...)
	}
	return st
}

// WaitForCard blocks until a card is in the reader and returns the reader's
// state (with the ATR). It returns at once when a card is already there.
// It fails with ErrNoReader when the reader does not exist or goes away, and
// with ctx.Err() when ctx is done.
func (c *Context) WaitForCard(ctx context.Context, readerName string) (ReaderState, error) {
	return c.wait(ctx, readerName, 0, func(s ReaderState) bool { return s.Present() })
}

// WaitForRemoval blocks until the reader holds no card. It returns at once
// when the reader is already empty.
func (c *Context) WaitForRemoval(ctx context.Context, readerName string) (ReaderState, error) {
	return c.wait(ctx, readerName, 0, func(s ReaderState) bool { return !s.Present() })
}

// WaitForChange blocks until the reader's state differs from last (a value
// returned by an earlier call or by Readers; pcsc-lite also counts card
// events, so a removal and reinsertion between two calls is a change). With
// a zero last it returns the current state at once.
func (c *Context) WaitForChange(ctx context.Context, readerName string, last ReaderState) (ReaderState, error) {
	return c.wait(ctx, readerName, last.raw, func(ReaderState) bool { return true })
}

// WaitForReaderListChange blocks until a reader is added or removed, or
// until timeout has passed (a negative timeout waits without limit), or ctx
// is done. It returns nil in the first two cases.
func (c *Context) WaitForReaderListChange(ctx context.Context, timeout time.Duration) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	var known scard.StateFlag
	first := true
	return withWaitContext(ctx, func(sc *scard.Context) error {
		rs := []scard.ReaderState{{Reader: pnpReader}}
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			slice := waitSlice
			if first {
				slice = 0
			} else if !deadline.IsZero() {
				left := time.Until(deadline)
				if left <= 0 {
					return nil
				}
				slice = min(slice, left)
			}
			rs[0].CurrentState = known
			err := sc.GetStatusChange(rs, slice)
			switch {
			case err == nil:
				if !first {
					return nil
				}
				known = rs[0].EventState &^ scard.StateChanged
			case isCode(err, scard.ErrTimeout):
				known = rs[0].CurrentState
			case isCode(err, scard.ErrCancelled):
				if ctx.Err() != nil {
					return ctx.Err()
				}
			default:
				return mapErr(opGetStatusChange, pnpReader, err)
			}
			first = false
		}
	})
}

func (c *Context) checkOpen() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sc == nil {
		return ErrClosed
	}
	return nil
}

// wait runs SCardGetStatusChange on a private PC/SC context until cond
// holds for the reader's state.
func (c *Context) wait(ctx context.Context, readerName string, current uint32, cond func(ReaderState) bool) (ReaderState, error) {
	if err := c.checkOpen(); err != nil {
		return ReaderState{}, err
	}
	return waitState(ctx, readerName, current, cond)
}

func waitState(ctx context.Context, readerName string, current uint32, cond func(ReaderState) bool) (ReaderState, error) {
	var result ReaderState
	err := withWaitContext(ctx, func(sc *scard.Context) error {
		rs := []scard.ReaderState{{Reader: readerName, CurrentState: scard.StateFlag(current)}}
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := sc.GetStatusChange(rs, waitSlice)
			switch {
			case err == nil:
			case isCode(err, scard.ErrTimeout):
				continue
			case isCode(err, scard.ErrCancelled):
				if ctx.Err() != nil {
					return ctx.Err()
				}
				continue
			default:
				return mapErr(opGetStatusChange, readerName, err)
			}
			st := stateOf(&rs[0])
			if st.Gone() {
				return newError(opGetStatusChange, readerName, codeUnknownReader)
			}
			if cond(st) {
				result = st
				return nil
			}
			rs[0].CurrentState = rs[0].EventState &^ scard.StateChanged
		}
	})
	return result, err
}

// joinErrs joins errors like errors.Join, but returns a lone error as it
// is, so that the usual case keeps its type and identity (ctx.Err() stays
// == context.Canceled), and its message joins the parts with "; " on one
// line: errors end up in log attributes, where a newline would split a
// record.
func joinErrs(errs ...error) error {
	var kept []error
	for _, e := range errs {
		if e != nil {
			kept = append(kept, e)
		}
	}
	switch len(kept) {
	case 0:
		return nil
	case 1:
		return kept[0]
	}
	return joined(kept)
}

// joined is several errors at once, in one line.
type joined []error

// Error joins the messages with "; ", saying "reader:" once.
func (j joined) Error() string {
	parts := make([]string, len(j))
	for i, e := range j {
		parts[i] = e.Error()
		if i > 0 {
			parts[i] = strings.TrimPrefix(parts[i], "reader: ")
		}
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (j joined) Unwrap() []error { return j }

// release releases a PC/SC context, returning a mapped error or nil.
func release(sc *scard.Context) error {
	if err := sc.Release(); err != nil {
		return mapErr(opReleaseContext, "", err)
	}
	return nil
}

// releaseAfter releases a PC/SC context after the failure err. When err
// says the PC/SC service is gone or refuses this client, releasing fails
// for the same reason and adds nothing but noise, so that failure is
// dropped.
func releaseAfter(err error, sc *scard.Context) error {
	relErr := release(sc)
	if relErr != nil && serviceDown(err) {
		return nil
	}
	return relErr
}

// serviceDown reports whether err says the PC/SC service is gone (stopped,
// restarted) or refuses this client.
func serviceDown(err error) bool {
	return errors.Is(err, ErrNoService) || errors.Is(err, ErrAccessDenied)
}

// withWaitContext runs fn with a fresh PC/SC context that is cancelled
// (SCardCancel) when ctx is done and released when fn returns.
func withWaitContext(ctx context.Context, fn func(sc *scard.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sc, err := establish()
	if err != nil {
		return err
	}
	exited := make(chan struct{})
	watcherDone := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(watcherDone)
		t := time.NewTicker(cancelRetry)
		defer t.Stop()
		for {
			_ = sc.Cancel()
			select {
			case <-exited:
				return
			case <-t.C:
			}
		}
	})
	err = fn(sc)
	close(exited)
	if !stop() {
		<-watcherDone
	}
	return joinErrs(err, releaseAfter(err, sc))
}

// Connect opens a connection to the card in the named reader, in shared mode
// unless opts.Exclusive is set, with whichever protocol (T=0 or T=1) the card
// offers. It does not wait for a card: without one it fails with
// apdu.ErrCardRemoved (see WaitForCard).
func (c *Context) Connect(ctx context.Context, readerName string, opts ConnectOptions) (*Card, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mode := scard.ShareShared
	if opts.Exclusive {
		mode = scard.ShareExclusive
	}
	sc, err := establish()
	if err != nil {
		return nil, err
	}
	h, err := sc.Connect(readerName, mode, scard.ProtocolAny)
	if err != nil {
		err = mapErr(opConnect, readerName, err)
		return nil, joinErrs(err, releaseAfter(err, sc))
	}
	card := &Card{sc: sc, h: h, reader: readerName, mode: mode, turn: make(chan struct{}, 1)}
	if err := card.refreshATR(); err != nil {
		var discErr error
		if derr := h.Disconnect(scard.LeaveCard); derr != nil {
			// The card is gone or reset anyway: that is err's story.
			if mapped := mapErr(opDisconnect, readerName, derr); !errors.Is(mapped, errCardRemoved) && !errors.Is(mapped, ErrCardReset) {
				discErr = mapped
			}
		}
		return nil, joinErrs(err, discErr, releaseAfter(err, sc))
	}
	return card, nil
}

// Card is a connection to a card in one reader. It implements
// apdu.Transport and apdu.Transactor and is safe for concurrent use, though
// APDUs of one operation belong in one WithTransaction call: while a
// transaction runs, Transmit calls and transactions of other goroutines on
// the same Card wait for it to end (a PC/SC transaction only keeps other
// connections out, and they all share this Card's connection).
type Card struct {
	mu     sync.RWMutex // write-held by Reconnect and Close
	sc     *scard.Context
	h      *scard.Card
	reader string
	mode   scard.ShareMode
	atr    []byte
	// length is what is known of extended length on this connection
	// (apdu.LengthSupporter), started from the ATR and again on
	// Reconnect (the card may be another one).
	length apdu.LengthSupport
	proto  scard.Protocol // the active protocol, from SCardStatus
	// turn (capacity 1) is held by a WithTransaction call for the whole
	// of fn, and by a Transmit outside any transaction for one APDU.
	turn chan struct{}
}

// txKey marks the context that WithTransaction gives fn as belonging to the
// transaction of one Card: Transmit and nested WithTransaction calls with
// it (or a context derived from it) run inside that transaction while it
// lasts. Its value is a *txMark.
type txKey struct{ c *Card }

// txMark is the state of one transaction: open until WithTransaction
// returns, so that a context kept beyond fn (by a goroutine fn started)
// no longer lets its holder into later transactions of other goroutines.
type txMark struct{ open atomic.Bool }

// inTransaction reports whether ctx belongs to a transaction of c that is
// still running.
func (c *Card) inTransaction(ctx context.Context) bool {
	m, _ := ctx.Value(txKey{c}).(*txMark)
	return m != nil && m.open.Load()
}

// takeTurn waits until no other caller uses the Card (a transaction of
// another goroutine) or ctx is done. The caller gives the turn back with
// giveTurn.
func (c *Card) takeTurn(ctx context.Context) error {
	select {
	case c.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// giveTurn ends a turn taken with takeTurn.
func (c *Card) giveTurn() { <-c.turn }

var (
	_ apdu.Transport       = (*Card)(nil)
	_ apdu.Transactor      = (*Card)(nil)
	_ apdu.LengthSupporter = (*Card)(nil)
)

// refreshATR reads the ATR with SCardStatus. Callers hold mu for writing or
// own the Card exclusively.
func (c *Card) refreshATR() error {
	st, err := c.h.Status()
	if err != nil {
		return mapErr(opStatus, c.reader, err)
	}
	c.atr = append([]byte(nil), st.Atr...)
	c.proto = st.ActiveProtocol
	c.length.Store(extendedLengthHint(c.atr))
	return nil
}

// Protocol returns the active transmission protocol of the connection as
// read at Connect or the last Reconnect: "T=0", "T=1", or "" for any
// other (raw, undefined).
func (c *Card) Protocol() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	switch c.proto {
	case scard.ProtocolT0:
		return "T=0"
	case scard.ProtocolT1:
		return "T=1"
	}
	return ""
}

// LengthSupport returns what is known of extended-length APDUs on this
// connection (apdu.LengthSupporter): unsupported when the ATR's card
// capabilities say so, else unknown until a Channel with extended length
// allowed learns it from the first extended APDU.
func (c *Card) LengthSupport() *apdu.LengthSupport { return &c.length }

// Reader returns the name of the reader the card is in.
func (c *Card) Reader() string { return c.reader }

// ATR returns a copy of the card's answer to reset, as read at Connect or
// the last Reconnect.
func (c *Card) ATR() []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]byte(nil), c.atr...)
}

// Transmit sends one command APDU and returns the response APDU (data and
// SW1 SW2) in a fresh slice. ctx is checked before the APDU is sent; PC/SC
// cannot interrupt an exchange in progress. A removed card gives an error
// matching apdu.ErrCardRemoved.
//
// A command shorter than the 4 header bytes or longer than the longest
// extended APDU (MaxCommandLen) fails with apdu.ErrInvalidCommand before
// anything is sent.
//
// Called with the context of a WithTransaction's fn (or one derived from
// it), the APDU is part of that transaction. Called with any other context
// while another goroutine's transaction runs on this Card, it waits for
// the transaction to end or ctx to be done.
func (c *Card) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := checkCommandLen(cmd); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !c.inTransaction(ctx) {
		if err := c.takeTurn(ctx); err != nil {
			return nil, err
		}
		defer c.giveTurn()
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.h == nil {
		return nil, ErrClosed
	}
	rsp, err := c.h.Transmit(cmd)
	if err != nil {
		return nil, mapErr(opTransmit, c.reader, err)
	}
	if len(rsp) == 0 {
		// pcscd reports success with no bytes when the card vanished while
		// it waited for the answer (seen with vpcd). No card answers
		// without a status word, so this is a removal; Status may still
		// succeed until pcscd's next poll, and tells more when it fails.
		if _, serr := c.h.Status(); serr != nil {
			return nil, mapErr(opTransmit, c.reader, serr)
		}
		return nil, noResponse(c.reader)
	}
	if len(rsp) < 2 {
		return nil, fmt.Errorf("reader: %q returned %d bytes: %w", c.reader, len(rsp), apdu.ErrMalformedResponse)
	}
	// The binding returns a slice of a 64 KiB buffer; copy so the caller
	// does not keep the whole buffer alive.
	return append([]byte(nil), rsp...), nil
}

// WithTransaction runs fn inside a PC/SC transaction (SCardBeginTransaction
// ... SCardEndTransaction with SCARD_LEAVE_CARD), so no other application
// sends APDUs to the card in between, and no other goroutine using this
// Card either. The transaction lasts for fn only: it also ends when fn
// panics (the panic then continues). Inside fn, call Transmit on this Card
// with the context fn is given (or one derived from it): a call with an
// unrelated context waits for the transaction to end, which is fn's own
// end. A WithTransaction called with fn's context runs its function inside
// the transaction already held. fn's context belongs to the transaction
// only until WithTransaction returns; kept beyond, it is an ordinary one.
//
// ctx is checked before the transaction starts, and bounds the wait for
// another goroutine's transaction on this Card. SCardBeginTransaction
// itself cannot be interrupted: while another application holds a
// transaction on the card, the call waits for it to end.
func (c *Card) WithTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.inTransaction(ctx) {
		return fn(ctx)
	}
	if err := c.takeTurn(ctx); err != nil {
		return err
	}
	defer c.giveTurn()
	if err := c.begin(); err != nil {
		return err
	}
	mark := &txMark{}
	mark.open.Store(true)
	ended := false
	defer func() {
		if !ended {
			// fn panicked: release the card for other applications before
			// the panic goes on. Its error has nowhere to go; the panic is
			// the failure being reported.
			mark.open.Store(false)
			_ = c.end()
		}
	}()
	fnErr := fn(context.WithValue(ctx, txKey{c}, mark))
	// The mark closes before the transaction ends, so that no context kept
	// from fn gets an APDU past the turn from now on.
	mark.open.Store(false)
	ended = true
	endErr := c.end()
	if fnErr != nil {
		if endErr != nil && !errors.Is(endErr, errCardRemoved) && !errors.Is(endErr, ErrCardReset) {
			return joinErrs(fnErr, endErr)
		}
		return fnErr
	}
	return endErr
}

func (c *Card) begin() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.h == nil {
		return ErrClosed
	}
	if err := c.h.BeginTransaction(); err != nil {
		return mapErr(opBeginTransaction, c.reader, err)
	}
	return nil
}

func (c *Card) end() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.h == nil {
		return ErrClosed
	}
	if err := c.h.EndTransaction(scard.LeaveCard); err != nil {
		return mapErr(opEndTransaction, c.reader, err)
	}
	return nil
}

// Reconnect re-establishes the connection after the card was reset
// (ErrCardReset) or removed and inserted again (apdu.ErrCardRemoved). It first
// waits, until ctx is done, for a card to be in the reader, then calls
// SCardReconnect leaving the card as it is, and reads the ATR again.
func (c *Card) Reconnect(ctx context.Context) error {
	if _, err := waitState(ctx, c.reader, 0, func(s ReaderState) bool { return s.Present() }); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.h.Reconnect(c.mode, scard.ProtocolAny, scard.LeaveCard); err != nil {
		return mapErr(opReconnect, c.reader, err)
	}
	return c.refreshATR()
}

// Close disconnects from the card, leaving it as it is, and releases the
// card's PC/SC context. Closing a card that was removed is not an error.
func (c *Card) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return nil
	}
	err := c.h.Disconnect(scard.LeaveCard)
	relErr := c.sc.Release()
	c.h, c.sc = nil, nil
	if err != nil {
		if mapped := mapErr(opDisconnect, c.reader, err); !errors.Is(mapped, errCardRemoved) && !errors.Is(mapped, ErrCardReset) {
			return mapped
		}
	}
	if relErr != nil {
		return mapErr(opReleaseContext, "", relErr)
	}
	return nil
}
