// Package servekit holds what the serve loops of cardap and cardap/pcsc
// share: a rate limiter for their warnings, an exponential backoff, and
// the one-line rendering of an error for a log attribute.
package servekit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Warner rate-limits the serve loops' warnings: a pcscd outage makes
// every reader's loop fail again and again with the same error, which
// logged each time buried the log (about 50 warnings per outage across 8
// readers). One warning per message and slot is logged per interval; the
// ones held back are counted, and their number is reported with the next
// warning of the same kind ("suppressed") and when the slot recovers.
type Warner struct {
	log   *slog.Logger
	every time.Duration
	mu    sync.Mutex
	seen  map[warnKey]*warnCount
}

// warnKey is one kind of warning about one slot ("" for the PC/SC service
// as a whole).
type warnKey struct{ msg, slot string }

// warnCount is when a kind of warning was last logged and how many were
// held back since.
type warnCount struct {
	last       time.Time
	suppressed int
}

// NewWarner returns a Warner logging to log at most once per every for
// one kind of warning about one slot.
func NewWarner(log *slog.Logger, every time.Duration) *Warner {
	return &Warner{log: log, every: every, seen: map[warnKey]*warnCount{}}
}

// Warn logs msg about slot with err, unless the same warning about the
// same slot was logged less than the interval ago: then it is counted.
func (w *Warner) Warn(ctx context.Context, msg, slot string, err error) {
	now := time.Now()
	w.mu.Lock()
	k := warnKey{msg, slot}
	wc := w.seen[k]
	if wc != nil && now.Sub(wc.last) < w.every {
		wc.suppressed++
		w.mu.Unlock()
		return
	}
	if wc == nil {
		wc = &warnCount{}
		w.seen[k] = wc
	}
	suppressed := wc.suppressed
	wc.suppressed, wc.last = 0, now
	w.mu.Unlock()
	attrs := make([]slog.Attr, 0, 3)
	if slot != "" {
		attrs = append(attrs, slog.String("slot", slot))
	}
	attrs = append(attrs, slog.String("err", LogText(err)))
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	w.log.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
}

// Recovered ends the failures of slot: warnings held back are reported
// (one record per kind, at info level), and the next failure warns at once.
func (w *Warner) Recovered(ctx context.Context, slot string) {
	w.mu.Lock()
	type heldBack struct {
		msg string
		n   int
	}
	var held []heldBack
	for k, wc := range w.seen {
		if k.slot != slot {
			continue
		}
		if wc.suppressed > 0 {
			held = append(held, heldBack{k.msg, wc.suppressed})
		}
		delete(w.seen, k)
	}
	w.mu.Unlock()
	for _, hb := range held {
		attrs := make([]slog.Attr, 0, 3)
		if slot != "" {
			attrs = append(attrs, slog.String("slot", slot))
		}
		attrs = append(attrs, slog.String("warning", hb.msg), slog.Int("suppressed", hb.n))
		w.log.LogAttrs(ctx, slog.LevelInfo, "cardap: recovered; repeated warnings were suppressed", attrs...)
	}
}

// Backoff is an exponential backoff from 100 ms to 5 s. The zero value
// starts at 100 ms.
type Backoff struct{ d time.Duration }

const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
)

// Reset starts the backoff over at 100 ms.
func (b *Backoff) Reset() { b.d = backoffMin }

// Wait sleeps for the current delay and doubles it; false when ctx is done.
func (b *Backoff) Wait(ctx context.Context) bool {
	if b.d == 0 {
		b.d = backoffMin
	}
	t := time.NewTimer(b.d)
	defer t.Stop()
	b.d = min(2*b.d, backoffMax)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// maxLogText bounds an error's text in a log attribute: a hostile card's
// data may end up in an error message, and must not flood the log.
const maxLogText = 1024

// LogText renders err for one log attribute: on one line (a newline in an
// attribute would split the record for line-oriented collectors, or let
// card data forge a record), control characters escaped, at most
// 1 KiB. Errors of the SDK carry no secrets (passwords and keys
// redact themselves), so the text is the error's own message.
func LogText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= maxLogText {
			b.WriteString("...")
			break
		}
		switch {
		case r == '\n' || r == '\r':
			b.WriteString("; ")
		case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || r == utf8.RuneError:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
