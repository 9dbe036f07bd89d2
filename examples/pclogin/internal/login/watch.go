package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// Event is what a Watcher reports as it runs.
type Event int

// Events of a Watcher.
const (
	CardArrived Event = iota // a card was identified; the watcher is armed
	CardLeft                 // the armed card is gone (removed, replaced or unreadable); lock ran
	LockFailed               // the lock action returned an error
)

// String names the event.
func (e Event) String() string {
	switch e {
	case CardArrived:
		return "card arrived"
	case CardLeft:
		return "card left"
	case LockFailed:
		return "lock failed"
	}
	return fmt.Sprintf("event(%d)", int(e))
}

// Watcher locks the session when the card leaves the reader: once a card
// has been identified (armed), any poll that does not find that same card
// (same CUID) — no card, another card, a card that cannot be read — runs
// Lock once and disarms until a card is identified again.
type Watcher struct {
	Card     Identifier
	Interval time.Duration                   // between polls; default 500 ms
	Lock     func(ctx context.Context) error // the lock action
	// Accept, when set, decides whether an identified card arms the
	// watcher (for example: only cards mapped to the session's account).
	Accept  func(Card) bool
	OnEvent func(Event, Card) // optional, for logs and tests
	Log     *slog.Logger
}

// Run polls until ctx is done and returns ctx's error.
func (w *Watcher) Run(ctx context.Context) error {
	interval := w.Interval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	log := w.Log
	if log == nil {
		log = slog.Default()
	}
	emit := func(e Event, c Card) {
		if w.OnEvent != nil {
			w.OnEvent(e, c)
		}
	}
	var armed bool
	var cuid profile.CUID
	var held Card
	var ignored profile.CUID // a present card not accepted, logged once
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		c, err := w.Card.Identify(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		same := err == nil && c.CUID == cuid
		switch {
		case armed && !same:
			armed = false
			reason := "card removed"
			if err == nil {
				reason = "another card"
			} else if !errors.Is(err, ErrNoCard) && !errors.Is(err, apdu.ErrCardRemoved) {
				reason = "card unreadable"
			}
			log.InfoContext(ctx, "card left the reader; locking", "user", held.Identity.UserID, "why", reason)
			if lerr := w.Lock(ctx); lerr != nil {
				log.ErrorContext(ctx, "lock failed", "error", lerr)
				emit(LockFailed, held)
			}
			emit(CardLeft, held)
			continue // look at once whether a new card arms the watcher
		case !armed && err == nil && (w.Accept == nil || w.Accept(c)):
			armed, cuid, held, ignored = true, c.CUID, c, profile.CUID{}
			log.InfoContext(ctx, "card present; armed", "user", c.Identity.UserID)
			emit(CardArrived, c)
		case !armed && err == nil && c.CUID != ignored:
			ignored = c.CUID
			log.InfoContext(ctx, "card present but not accepted for this session", "user", c.Identity.UserID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// CommandLock returns a lock action that runs argv (no shell) with a
// timeout, for Watcher.Lock.
func CommandLock(argv []string, timeout time.Duration) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if len(argv) == 0 {
			return errors.New("login: no lock command configured")
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			if len(out) > 256 {
				out = out[:256]
			}
			return fmt.Errorf("login: lock command %s: %w (%q)", argv[0], err, out)
		}
		return nil
	}
}
