package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mynacard/freespace/revocation"
)

// fakeMeter is a forced meter on a buffer, with a clock the test moves
// and a terminal of the given width.
func fakeMeter(width int) (*progressMeter, *bytes.Buffer, *time.Time) {
	var buf bytes.Buffer
	m := newProgressMeter(&buf, true)
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	m.width = func() int { return width }
	return m, &buf, &now
}

// lastLine is the text after the last carriage return of the meter's
// current line.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexAny(s, "\r\n"); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimRight(s, " ")
}

// TestProgressMeterShowsRateAndETA: each phase gets a line with the
// whole file name, the percentage, the amount, the rate and the time
// left, in bytes or in records as the phase counts; a new phase starts a
// new line.
func TestProgressMeterShowsRateAndETA(t *testing.T) {
	m, buf, now := fakeMeter(120)
	name := "list-00000000000000000043.csv"
	m.report(revocation.PhaseDownload, name, 0, 100<<20)
	*now = now.Add(2 * time.Second)
	m.report(revocation.PhaseDownload, name, 25<<20, 100<<20)
	l := lastLine(buf.String())
	for _, want := range []string{"download", name, " 25%", "25.0 MiB/100.0 MiB", "12.5 MiB/s", "ETA 6s", "[======="} {
		if !strings.Contains(l, want) {
			t.Errorf("line %q lacks %q", l, want)
		}
	}
	*now = now.Add(time.Second)
	m.report(revocation.PhaseApply, "list-00000000000000000043.rvb", 0, 2_000_000)
	*now = now.Add(4 * time.Second)
	m.report(revocation.PhaseApply, "list-00000000000000000043.rvb", 500_000, 2_000_000)
	m.done()
	out := buf.String()
	if got := strings.Count(out, "\n"); got != 2 {
		t.Fatalf("%d lines, want one per phase:\n%q", got, out)
	}
	l = lastLine(out)
	for _, want := range []string{"apply", "500k/2.0M", "125k records/s", "ETA 12s", " 25%"} {
		if !strings.Contains(l, want) {
			t.Errorf("line %q lacks %q", l, want)
		}
	}
}

// TestProgressMeterKeepsNameEnd: on a narrow terminal the bar goes
// first, then the file name loses its middle, never its end, and the line
// fits the terminal.
func TestProgressMeterKeepsNameEnd(t *testing.T) {
	name := "delta-00000000000000000043.csv"
	for _, width := range []int{200, 80, 60, 50} {
		m, buf, now := fakeMeter(width)
		m.report(revocation.PhaseSign, name, 0, 10<<20)
		*now = now.Add(time.Second)
		m.report(revocation.PhaseSign, name, 5<<20, 10<<20)
		l := lastLine(buf.String())
		if n := utf8.RuneCountInString(l); n >= width {
			t.Errorf("width %d: line of %d characters: %q", width, n, l)
		}
		if !strings.Contains(l, name) && !strings.Contains(l, "…") {
			t.Errorf("width %d: name cut without an ellipsis: %q", width, l)
		}
		if !strings.Contains(l, "00043.csv") {
			t.Errorf("width %d: the distinguishing end of the name is gone: %q", width, l)
		}
		if !strings.Contains(l, "ETA") {
			t.Errorf("width %d: no time left: %q", width, l)
		}
	}
	if got := middleEllipsis("list-00000000000000000043.csv", 16); got != "list-…000043.csv" || utf8.RuneCountInString(got) != 16 {
		t.Errorf("middleEllipsis = %q", got)
	}
}

// TestProgressMeterQuietWhenNotATerminal: without --progress, output that
// is not a terminal (a file, a pipe, a CI log) gets nothing.
func TestProgressMeterQuietWhenNotATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := newProgressMeter(f, false)
	m.report(revocation.PhaseDownload, "feed.json", 10, 100)
	m.report(revocation.PhaseDownload, "feed.json", 100, 100)
	m.done()
	var buf bytes.Buffer
	m = newProgressMeter(&buf, false)
	m.report(revocation.PhaseBuild, "list.csv", 100, 100)
	m.done()
	if st, _ := f.Stat(); st.Size() != 0 || buf.Len() != 0 {
		t.Fatalf("wrote %d bytes to a file and %d to a buffer", st.Size(), buf.Len())
	}
}
