package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Door opens the gate's door for an accepted card. The gate calls Open
// only for open decisions, after the decision is in the audit log; an error
// is reported with the decision (the holder is told to try again or call
// someone). Implementations talk to a relay, a turnstile controller, a
// building system, ...
type Door interface {
	Open(ctx context.Context, d Decision) error
}

// DoorFunc adapts a function to a Door.
type DoorFunc func(ctx context.Context, d Decision) error

// Open implements Door.
func (f DoorFunc) Open(ctx context.Context, d Decision) error { return f(ctx, d) }

// CmdDoor opens the door by running a command, without a shell: Argv[0]
// is looked up in PATH, the decision is written as one JSON object (the
// audit format) to its stdin, and the environment carries GATE_DECISION,
// GATE_SLOT, GATE_USER_ID, GATE_CUID, GATE_AP, GATE_TIME (RFC 3339) on top
// of the gate's own. The command must exit 0 within Timeout, else it is
// killed and Open fails.
type CmdDoor struct {
	Argv    []string
	Timeout time.Duration // default 5 s
	Output  io.Writer     // the command's stdout and stderr; nil discards
}

// ErrDoor is wrapped by every CmdDoor failure.
var ErrDoor = errors.New("door command failed")

// Open implements Door.
func (c *CmdDoor) Open(ctx context.Context, d Decision) error {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return fmt.Errorf("%w: no command", ErrDoor)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDoor, err)
	}
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Stdin = bytes.NewReader(append(in, '\n'))
	out := c.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	// A child that leaves a grandchild holding its pipes does not keep the
	// gate waiting past the timeout.
	cmd.WaitDelay = time.Second
	cmd.Env = append(os.Environ(),
		"GATE_DECISION="+string(d.Outcome),
		"GATE_SLOT="+d.Slot,
		"GATE_USER_ID="+d.UserID,
		"GATE_CUID="+d.CUID,
		"GATE_AP="+d.AP,
		"GATE_TIME="+d.Time.Format(time.RFC3339Nano),
	)
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("%w: %s: no exit within %s", ErrDoor, c.Argv[0], timeout)
		}
		return fmt.Errorf("%w: %s: %w", ErrDoor, c.Argv[0], err)
	}
	return nil
}

// isSpace reports the ASCII white space that separates words.
func isSpace(ch byte) bool {
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r'
}

// ErrArgs is returned by splitArgs for an unterminated quote.
var ErrArgs = errors.New("bad command line")

// splitArgs splits a command line into words, without a shell: words are
// separated by ASCII white space; '...' and "..." group words (no escapes inside
// single quotes; \" and \\ inside double quotes); a backslash outside
// quotes escapes the next character. No variables, globs or pipes.
func splitArgs(s string) ([]string, error) {
	var (
		args  []string
		cur   strings.Builder
		inArg bool
	)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case isSpace(ch):
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case ch == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated ' at byte %d", ErrArgs, i)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inArg = true
		case ch == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					j++
				}
				cur.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("%w: unterminated \" at byte %d", ErrArgs, i)
			}
			i = j
			inArg = true
		case ch == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("%w: trailing backslash", ErrArgs)
			}
			i++
			cur.WriteByte(s[i])
			inArg = true
		default:
			cur.WriteByte(ch)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrArgs)
	}
	return args, nil
}
