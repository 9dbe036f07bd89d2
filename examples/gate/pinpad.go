package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/profile"
)

// CmdPINPad is the gate's PIN pad behind a command (--pin-cmd): its
// driver runs once per JPKI tap, after the card's certificate was checked,
// and writes the PIN the holder typed on the first line of its stdout.
// The command gets GATE_PIN_AP=JPKI in its environment; its stdout is read
// up to 64 bytes; a timeout or a failure refuses the tap.
type CmdPINPad struct {
	Argv    []string
	Timeout time.Duration
}

// errPINPad wraps every failure of the PIN pad.
var errPINPad = errors.New("gate: PIN pad")

// PIN runs the PIN pad's command and returns the PIN it read.
func (p *CmdPINPad) PIN(ctx context.Context) (profile.Password, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Argv[0], p.Argv[1:]...)
	cmd.Env = append(cmd.Environ(), "GATE_PIN_AP=JPKI")
	var out bytes.Buffer
	cmd.Stdout = &limitWriter{w: &out, n: 64}
	if err := cmd.Run(); err != nil {
		clear(out.Bytes())
		return nil, fmt.Errorf("%w: %w", errPINPad, err)
	}
	line, _ := bufio.NewReader(&out).ReadSlice('\n')
	pin := profile.Password(bytes.Clone(bytes.TrimRight(line, "\r\n")))
	clear(out.Bytes())
	if len(pin) == 0 {
		return nil, fmt.Errorf("%w: no PIN entered", errPINPad)
	}
	return pin, nil
}

// limitWriter keeps the first n bytes written and discards the rest.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	k := min(len(p), l.n)
	if k > 0 {
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		l.n -= k
	}
	return len(p), nil
}

// pinFunc is the JPKI AP's cardap.PasswordFunc: the PIN pad, or the
// password of --password-env.
func (g *gate) pinFunc(ctx context.Context, _ cardap.PasswordRequest) (profile.Password, error) {
	if g.pinPad != nil {
		return g.pinPad.PIN(ctx)
	}
	return g.passwordFunc(ctx, cardap.PasswordRequest{})
}
