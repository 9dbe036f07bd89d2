//go:build linux

package main

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mynacard/freespace/revocation"
)

// openPTY opens a pseudo-terminal of the given width and returns its
// terminal side (what a user's stderr is) and the controller side.
func openPTY(t *testing.T, cols uint16) (tty, ptmx *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: cols}); err != nil {
		t.Fatal(err)
	}
	return tty, ptmx
}

// TestProgressMeterOnATerminal: stderr on a terminal turns the meter on
// without --progress, and lines fit the terminal's width.
func TestProgressMeterOnATerminal(t *testing.T) {
	tty, ptmx := openPTY(t, 70)
	m := newProgressMeter(tty, false)
	if !m.enabled {
		t.Fatal("meter off on a terminal")
	}
	if w := m.width(); w != 70 {
		t.Fatalf("width %d, want the terminal's 70", w)
	}
	m.report(revocation.PhaseDownload, "list-00000000000000000001.csv", 10, 10)
	m.done()
	buf := make([]byte, 4096)
	n, err := ptmx.Read(buf)
	if err != nil || n == 0 {
		t.Fatalf("nothing on the terminal: %v", err)
	}
}
