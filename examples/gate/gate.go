package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/internal/jsonlog"
	"github.com/mynacard/freespace/profile"
)

// gate holds what every tap needs. handle is called by cardap.Serve on one
// goroutine per reader, so the outputs are guarded by mu.
type gate struct {
	now       func() time.Time
	log       *slog.Logger // the gate's own messages
	clientLog *slog.Logger // cardap's (one record per decision at Info); nil discards
	door      Door         // nil: no door to open
	// allowTypeC (--allow-type-c): unproven Type C cards are accepted,
	// and every decision logs typeCWarning.
	allowTypeC bool
	// password is the Type A password of --password-env (nil: the AP is
	// read in no-password mode); wiped when run returns.
	password profile.Password
	// jpkiRoots (--jpki-roots) enables the JPKI AP; pinPad (--pin-cmd,
	// nil: the password of --password-env) asks the holder's PIN.
	jpkiRoots []*x509.Certificate
	pinPad    *CmdPINPad

	mu    sync.Mutex
	out   io.Writer    // stdout
	json  bool         // stdout gets JSON lines instead of human lines
	audit *jsonlog.Log // nil: no audit file
}

// setOutputs configures stdout, the audit file and the door from the flags.
func (g *gate) setOutputs(o *options, stdout, stderr io.Writer) error {
	g.out, g.json = stdout, o.json
	if o.doorCmd != "" {
		argv, err := splitArgs(o.doorCmd)
		if err != nil {
			return fmt.Errorf("--door-cmd: %w", err)
		}
		g.door = &CmdDoor{Argv: argv, Timeout: o.doorTimeout, Output: stderr}
	}
	if o.audit != "" {
		a, dropped, err := jsonlog.Open(o.audit, nil)
		if err != nil {
			return fmt.Errorf("opening the audit log: %w", err)
		}
		if dropped > 0 {
			g.log.Warn("gate: removed an unfinished last line of the audit log (an interrupted write; that door never opened)", "file", o.audit, "bytes", dropped)
		}
		g.audit = a
	}
	return nil
}

// closeOutputs closes the audit file; its error is a runtime failure.
func (g *gate) closeOutputs() error {
	if g.audit == nil {
		return nil
	}
	if err := g.audit.Close(); err != nil {
		return fmt.Errorf("closing the audit log: %w", err)
	}
	return nil
}

// handle is the cardap.Handler of the gate: decide, record, open the door.
// The audit record is made durable before the door opens, so that no one
// walks through a door the log does not know of; the door's result is then
// written with the decision to stdout.
func (g *gate) handle(ctx context.Context, tap cardap.Tap, _ cardap.Card) {
	d := g.decide(ctx, tap, "")
	if err := g.emit(d); err != nil {
		g.log.Error("gate: writing the decision", "err", err)
	}
}

// decide makes the decision of tap (label: the demo's name of the card),
// writes it to the audit log, and runs the door on an open decision.
func (g *gate) decide(ctx context.Context, tap cardap.Tap, label string) Decision {
	d := decide(tap)
	d.Tap = label
	if g.allowTypeC {
		// The gate runs weakened: say so with every decision, not only at
		// start, so that no log excerpt hides it.
		g.log.Warn(typeCWarning, "slot", d.Slot, "decision", d.Outcome, "proof", d.Proof)
		if d.Outcome == Open && d.Proof == cardap.ProofNone.String() {
			d.ProofWarning = "unproven card (Type C) accepted by --allow-type-c"
		}
	}
	if g.audit != nil {
		if err := g.audit.Append(d); err != nil {
			// No durable record: the door stays shut.
			g.log.Error("gate: audit log write failed; door kept shut", "err", err)
			d.Outcome, d.Reason, d.Detail = Deny, "audit-failed", "audit log unavailable, door kept shut"
			return d
		}
	}
	if d.Outcome == Open && g.door != nil {
		if err := g.door.Open(ctx, d); err != nil {
			d.Door, d.DoorError = "failed", err.Error()
			g.log.Error("gate: door failed", "slot", d.Slot, "err", err)
		} else {
			d.Door = "opened"
		}
	}
	return d
}

// emit writes one decision to stdout: a human line, or a JSON line.
func (g *gate) emit(d Decision) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.json {
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		_, err = g.out.Write(append(b, '\n'))
		return err
	}
	_, err := io.WriteString(g.out, humanLine(d))
	return err
}
