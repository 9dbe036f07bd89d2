// Package apdutest provides test doubles for code that talks to a card
// through an apdu.Transport, in the spirit of net/http/httptest: a Card
// that plays a script of expected commands and canned answers and fails the
// test on any other command, and an Interceptor that sits in front of a
// real or mock card and rewrites its answers (a card that lies, truncates
// or vanishes at the worst moment).
//
// A script is written in hex, one exchange per step:
//
//	card := apdutest.NewCard(t,
//		apdutest.Step{Command: "00A4040C 0A D3921000310001010408", Response: "9000"},
//		apdutest.Step{Command: "00B08100 10", Response: "000102030405060708090A0B0C0D0E0F 9000"},
//		apdutest.Step{Command: "0084000008", Err: apdu.ErrCardRemoved},
//	)
//
// or as text, one "command => response" line per step (Script). In a
// command, XX matches any byte and a trailing * any remaining bytes, for
// nonces and cryptograms the test does not fix.
//
// For behaviour rather than transcripts (files, passwords, mutual
// authentication), package mockcard is the strict stateful card; Interceptor
// combines with it.
package apdutest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mynacard/freespace/apdu"
)

// ErrUnexpectedCommand is returned by Card.Transmit for a command the
// script did not expect (the test has already been marked failed).
var ErrUnexpectedCommand = errors.New("apdutest: unexpected command")

// Step is one exchange of a script.
type Step struct {
	// Command is the expected command APDU in hex; spaces are ignored,
	// XX matches any byte, a trailing * matches any remaining bytes, and
	// "*" alone matches any command.
	Command string
	// Response is the answer in hex, data then SW1 SW2 (spaces ignored).
	// It is ignored when Err is set.
	Response string
	// Malformed allows a Response shorter than a status word (even
	// empty), for a hostile or broken card; otherwise such a Response is
	// taken for a mistake in the script.
	Malformed bool
	// Err, when set, is returned by Transmit instead of a response: for
	// example apdu.ErrCardRemoved for a card pulled at this step.
	Err error
}

// Card is an apdu.Transport that plays a script. It is safe for concurrent
// use; steps are consumed in order.
type Card struct {
	t     testing.TB
	steps []parsedStep

	mu   sync.Mutex
	next int
	sent [][]byte
}

// parsedStep is a Step decoded once, at NewCard.
type parsedStep struct {
	src  Step
	cmd  []byte
	mask []bool // true where the byte must match
	any  bool   // a trailing *: any remaining bytes
	resp []byte
}

// NewCard returns a Card that expects the steps in order. Malformed hex in
// a step fails the test at once. When the test ends, steps not yet played
// fail it: a script states everything the code under test must send.
func NewCard(t testing.TB, steps ...Step) *Card {
	t.Helper()
	c := &Card{t: t}
	for i, s := range steps {
		p, err := parseStep(s)
		if err != nil {
			t.Fatalf("apdutest: step %d: %v", i+1, err)
		}
		c.steps = append(c.steps, p)
	}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.next < len(c.steps) {
			t.Errorf("apdutest: %d of %d steps not played; next expected command %s", len(c.steps)-c.next, len(c.steps), c.steps[c.next].src.Command)
		}
	})
	return c
}

// Script parses text into steps: one "command => response" per line
// ("command => !removed" for a card removed at that step), blank lines and
// lines starting with # ignored. Malformed lines fail the test at once.
func Script(t testing.TB, text string) []Step {
	t.Helper()
	var steps []Step
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cmd, resp, ok := strings.Cut(line, "=>")
		if !ok {
			t.Fatalf("apdutest: script line %d: no \"=>\" in %q", n+1, line)
		}
		s := Step{Command: strings.TrimSpace(cmd), Response: strings.TrimSpace(resp)}
		if s.Response == "!removed" {
			s.Response, s.Err = "", apdu.ErrCardRemoved
		}
		steps = append(steps, s)
	}
	return steps
}

func parseStep(s Step) (parsedStep, error) {
	p := parsedStep{src: s}
	c := strings.ToUpper(strings.Join(strings.Fields(s.Command), ""))
	if strings.HasSuffix(c, "*") {
		p.any = true
		c = strings.TrimSuffix(c, "*")
	}
	if len(c)%2 != 0 {
		return p, fmt.Errorf("command %q: odd number of hex digits", s.Command)
	}
	for i := 0; i < len(c); i += 2 {
		if c[i:i+2] == "XX" {
			p.cmd = append(p.cmd, 0)
			p.mask = append(p.mask, false)
			continue
		}
		b, err := hex.DecodeString(c[i : i+2])
		if err != nil {
			return p, fmt.Errorf("command %q: %v", s.Command, err)
		}
		p.cmd = append(p.cmd, b[0])
		p.mask = append(p.mask, true)
	}
	if s.Err != nil {
		return p, nil
	}
	r, err := hex.DecodeString(strings.Join(strings.Fields(s.Response), ""))
	if err != nil {
		return p, fmt.Errorf("response %q: %v", s.Response, err)
	}
	if len(r) < 2 && !s.Malformed {
		return p, fmt.Errorf("response %q: no status word", s.Response)
	}
	p.resp = r
	return p, nil
}

// matches reports whether cmd is what the step expects.
func (p parsedStep) matches(cmd []byte) bool {
	if len(cmd) < len(p.cmd) || (!p.any && len(cmd) != len(p.cmd)) {
		return false
	}
	for i, b := range p.cmd {
		if p.mask[i] && cmd[i] != b {
			return false
		}
	}
	return true
}

// Transmit plays the next step: the command must match it, else the test
// is marked failed and Transmit returns ErrUnexpectedCommand. A done
// context returns its error and plays no step.
func (c *Card) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, bytes.Clone(cmd))
	if c.next >= len(c.steps) {
		c.t.Errorf("apdutest: command %d after the last step: %X", len(c.sent), cmd)
		return nil, fmt.Errorf("%w: %X after the last step", ErrUnexpectedCommand, cmd)
	}
	st := c.steps[c.next]
	if !st.matches(cmd) {
		c.t.Errorf("apdutest: step %d:\n got %X\nwant %s", c.next+1, cmd, st.src.Command)
		return nil, fmt.Errorf("%w: step %d: %X", ErrUnexpectedCommand, c.next+1, cmd)
	}
	c.next++
	if st.src.Err != nil {
		return nil, st.src.Err
	}
	return bytes.Clone(st.resp), nil
}

// Sent returns copies of the commands received so far, matched or not.
func (c *Card) Sent() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]byte, len(c.sent))
	for i, b := range c.sent {
		out[i] = bytes.Clone(b)
	}
	return out
}

// Remaining returns the number of steps not yet played.
func (c *Card) Remaining() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.steps) - c.next
}
