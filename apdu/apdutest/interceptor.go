package apdutest

import (
	"context"
	"sync"

	"github.com/mynacard/freespace/apdu"
)

// Exchange is one exchange seen by an Interceptor.
type Exchange struct {
	// N counts the exchanges through the Interceptor from 0.
	N int
	// Command is the command APDU as sent.
	Command []byte
	// Response is the card's answer (data then SW1 SW2); nil when Err is
	// set.
	Response []byte
	// Err is the error of the card's Transmit, or nil.
	Err error
}

// Ins returns the exchange's instruction byte, 0 for a command shorter
// than the header.
func (e Exchange) Ins() apdu.Ins {
	if len(e.Command) < 2 {
		return 0
	}
	return apdu.Ins(e.Command[1])
}

// Interceptor is an apdu.Transport that passes each command to Next and
// lets Rewrite replace the answer: a card that lies about a file's size,
// answers with a wrong status word, or is pulled at the n-th command. It is
// safe for concurrent use when Next is; it unwraps to Next, so
// apdu.WithTransaction reaches Next's transactions.
type Interceptor struct {
	// Next is the card whose answers are rewritten.
	Next apdu.Transport
	// Rewrite returns the answer to give for e instead of e.Response and
	// e.Err; returning them unchanged passes the exchange through. A nil
	// Rewrite passes everything through.
	Rewrite func(e Exchange) ([]byte, error)
	// RewriteCommand, when set, returns the command to send to Next in
	// place of cmd (n counts from 0, as Exchange.N): a host that sends a
	// wrong Le or a tampered cryptogram. It must not modify cmd in place.
	RewriteCommand func(n int, cmd []byte) []byte

	mu sync.Mutex
	n  int
}

// Transmit sends cmd (or what RewriteCommand makes of it) to Next and
// returns what Rewrite makes of the answer.
func (i *Interceptor) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	i.mu.Lock()
	n := i.n
	i.n++
	i.mu.Unlock()
	if i.RewriteCommand != nil {
		cmd = i.RewriteCommand(n, cmd)
	}
	resp, err := i.Next.Transmit(ctx, cmd)
	if i.Rewrite == nil {
		return resp, err
	}
	return i.Rewrite(Exchange{N: n, Command: cmd, Response: resp, Err: err})
}

// Unwrap returns Next.
func (i *Interceptor) Unwrap() apdu.Transport { return i.Next }

// RemoveAt returns a Rewrite that answers exchange n (from 0) and every
// later one with apdu.ErrCardRemoved: a card pulled out after it received
// the command and before its answer arrived (Next has seen the command).
func RemoveAt(n int) func(Exchange) ([]byte, error) {
	return func(e Exchange) ([]byte, error) {
		if e.N >= n {
			return nil, apdu.ErrCardRemoved
		}
		return e.Response, e.Err
	}
}

// ReplaceSW returns a Rewrite that answers every command with instruction
// ins by its own data and the status word sw instead of the card's.
func ReplaceSW(ins apdu.Ins, sw apdu.StatusWord) func(Exchange) ([]byte, error) {
	return func(e Exchange) ([]byte, error) {
		if e.Err != nil || e.Ins() != ins || len(e.Response) < 2 {
			return e.Response, e.Err
		}
		out := append([]byte(nil), e.Response[:len(e.Response)-2]...)
		return append(out, byte(sw>>8), byte(sw)), nil
	}
}
