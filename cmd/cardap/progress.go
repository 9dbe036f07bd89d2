package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/mynacard/freespace/revocation"
)

// progressMeter shows the long phases of a revocation command (download,
// read, verify, apply, build, sign) on one line of stderr each: the phase,
// the whole file name, a bar, the percentage, how much of how much, the
// rate and the time left. It draws only when stderr is a terminal or the
// user asked (--progress); otherwise every call does nothing. A file name
// is never cut at its end: on a narrow terminal the bar shrinks first,
// then the name loses characters in its middle ("list-000…00043.csv"),
// keeping the end that tells files apart. It is a
// revocation.ProgressFunc (report), safe for concurrent use.
type progressMeter struct {
	w       io.Writer
	enabled bool
	// width returns the terminal's columns (0: unknown, 80 assumed).
	width func() int
	now   func() time.Time

	mu    sync.Mutex
	phase revocation.Phase
	file  string
	start time.Time // of the current phase and file
	last  time.Time // last redraw
	drawn bool      // a line of the current phase is on screen
	shown int       // characters of the line on screen
}

// newProgressMeter returns a meter drawing on w when w is a terminal or
// force is set.
func newProgressMeter(w io.Writer, force bool) *progressMeter {
	m := &progressMeter{w: w, enabled: force, width: func() int { return 0 }, now: time.Now}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		m.enabled = true
		fd := int(f.Fd())
		m.width = func() int {
			if cols, _, err := term.GetSize(fd); err == nil {
				return cols
			}
			return 0
		}
	}
	return m
}

// report is the meter's revocation.ProgressFunc: done of total units of
// phase on file (total -1: unknown). A new phase or file ends the line of
// the one before.
func (m *progressMeter) report(phase revocation.Phase, file string, done, total int64) {
	if !m.enabled {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if phase != m.phase || file != m.file {
		m.endLine()
		m.phase, m.file, m.start, m.last = phase, file, now, time.Time{}
	}
	finished := total >= 0 && done >= total
	if !finished && now.Sub(m.last) < 100*time.Millisecond {
		return
	}
	m.last = now
	l := m.line(phase, file, done, total, now.Sub(m.start))
	n := utf8.RuneCountInString(l)
	// Spaces, not an escape sequence, clear what a longer line left: the
	// output may be a file (--progress).
	fmt.Fprintf(m.w, "\r%s%s", l, strings.Repeat(" ", max(0, m.shown-n)))
	m.drawn, m.shown = true, n
}

// bytesReport returns a function reporting done of total bytes of
// phase on file, for readers that count what they read.
func (m *progressMeter) bytesReport(phase revocation.Phase, file string, total int64) func(int64) {
	return func(n int64) { m.report(phase, file, n, total) }
}

// done ends the current line, if one was drawn.
func (m *progressMeter) done() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.endLine()
	m.phase, m.file = "", ""
}

func (m *progressMeter) endLine() {
	if m.drawn {
		fmt.Fprintln(m.w)
		m.drawn, m.shown = false, 0
	}
}

// line lays out one progress line within the terminal's width.
func (m *progressMeter) line(phase revocation.Phase, file string, done, total int64, elapsed time.Duration) string {
	cols := m.width()
	if cols <= 0 {
		cols = 80
	}
	cols-- // never write into the last column: some terminals wrap there
	unit := func(n int64) string {
		if phase.Bytes() {
			return sizeString(n)
		}
		return countString(n)
	}
	amount := unit(done)
	if total >= 0 {
		amount += "/" + unit(total)
	}
	speed := ""
	if s := elapsed.Seconds(); s >= 0.2 && done > 0 {
		rate := float64(done) / s
		if phase.Bytes() {
			speed = sizeString(int64(rate)) + "/s"
		} else {
			speed = countString(int64(rate)) + " records/s"
		}
		if total > done {
			speed += "  ETA " + etaString(time.Duration(float64(total-done)/rate*float64(time.Second)))
		}
	} else if total >= 0 && done >= total {
		speed = "done"
	}
	pct := ""
	if total > 0 {
		pct = fmt.Sprintf(" %3d%%", min(100, done*100/total))
	}
	head := fmt.Sprintf("%-8s ", phase)
	name := utf8.RuneCountInString(file)
	const minName = 16 // the name is never shortened below this
	// What gives way on a narrow terminal, in order: the bar (30 columns
	// down to 10, then none), the amount, then the middle of the name.
	fixed := utf8.RuneCountInString(head) + len(pct) + 2 + len(speed)
	withAmount := fixed + 2 + len(amount)
	bar := 0
	if total > 0 {
		bar = min(30, cols-withAmount-name-3)
		if bar < 10 {
			bar = 0
		}
	}
	stats := amount
	if speed != "" {
		stats += "  " + speed
	}
	if bar == 0 && cols-withAmount < min(name, minName+2) {
		stats = speed
	} else {
		fixed = withAmount
	}
	barText := ""
	if bar > 0 {
		fill := int(min(int64(bar), done*int64(bar)/total))
		barText = " [" + strings.Repeat("=", fill) + strings.Repeat(" ", bar-fill) + "]"
		fixed += bar + 3
	}
	return head + middleEllipsis(file, max(cols-fixed, minName)) + barText + pct + "  " + stats
}

// middleEllipsis shortens s to at most n characters by replacing its
// middle with "…", keeping two thirds of what remains from its end (where
// file names differ: sequence numbers, suffixes).
func middleEllipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n < 2 {
		return string(r[len(r)-n:])
	}
	tail := (n - 1) * 2 / 3
	headN := n - 1 - tail
	return string(r[:headN]) + "…" + string(r[len(r)-tail:])
}

// countString prints a record count: 950, 12.3k, 4.5M.
func countString(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	case n >= 1_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprintf("%d", n)
}

// etaString prints the time left: 45s, 3m20s, 1h05m.
func etaString(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s/60%60)
}

// progressReader counts the bytes read through it and reports them.
type progressReader struct {
	r      io.Reader
	n      int64
	report func(int64)
}

// Read reads and reports the running total.
func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if n > 0 || err == io.EOF {
		p.report(p.n)
	}
	return n, err
}
