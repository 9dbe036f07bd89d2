package pcsctest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mynacard/freespace/reader"
)

// The vpcd reader driver installed by Debian's vsmartcard-vpcd package.
const vpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"

// PrivateName is the friendly name prefix of the readers of a Daemon.
const PrivateName = "Private vpcd"

// Daemon is a pcscd of one test, apart from the one that scripts/test.sh
// shares between all packages: tests that stop, restart or reconfigure
// pcscd use it so that the shared one is never disturbed.
//
// pcscd 1.9 always puts its socket in /run/pcscd, so the daemon runs in a
// mount namespace of its own (unshare) where /run/pcscd is a directory of
// the test, as scripts/test.sh does. libpcsclite reads PCSCLITE_CSOCK_NAME
// once per process: the code under test talks to a Daemon from a
// subprocess whose environment points at Socket.
//
// Each vpcd device (two slots, two readers) loads its own copy of the
// driver: vpcd keeps its sockets in static variables, so devices loaded
// from one library file would share them.
type Daemon struct {
	t       testing.TB
	dir     string
	pcscd   string
	wrapper []string // unshare and its flags
	ports   []int    // base port of each reserved device

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	devices int
}

// StartPrivate is NewPrivate followed by Start(devices).
func StartPrivate(t testing.TB, devices int) *Daemon {
	t.Helper()
	d := NewPrivate(t, devices)
	d.Start(devices)
	return d
}

// NewPrivate prepares a private pcscd with up to devices vpcd devices
// (1..8; two readers each, see Slots) on free ports, without starting it
// (see Start); it is stopped when the test ends. It skips the test like
// Acquire when FREESPACE_PCSC is not set, and also when the system cannot
// run a private pcscd (no Linux, no pcscd, vpcd or unshare, no cgo),
// unless FREESPACE_REQUIRE_PCSC=1 or CI is set: then it fails.
func NewPrivate(t testing.TB, devices int) *Daemon {
	t.Helper()
	if os.Getenv(EnvEnable) != "1" {
		unavailable(t, EnvEnable+" is not set")
	}
	if devices < 1 || devices > 8 {
		t.Fatalf("pcsctest: StartPrivate with %d devices, want 1..8", devices)
	}
	if runtime.GOOS != "linux" {
		unavailable(t, "a private pcscd needs Linux mount namespaces")
	}
	if rc, err := reader.EstablishContext(context.Background()); errors.Is(err, reader.ErrNoCgo) {
		unavailable(t, err.Error())
	} else if err == nil {
		_ = rc.Close()
	}
	d := &Daemon{t: t, dir: t.TempDir()}
	var err error
	if d.pcscd, err = exec.LookPath("pcscd"); err != nil {
		d.pcscd = "/usr/sbin/pcscd"
		if _, err := os.Stat(d.pcscd); err != nil {
			unavailable(t, "pcscd not found")
		}
	}
	if _, err := os.Stat(vpcdDriver); err != nil {
		unavailable(t, vpcdDriver+" not found")
	}
	if d.wrapper = namespaceWrapper(); d.wrapper == nil {
		unavailable(t, "cannot create a mount namespace with unshare (run as root or allow user namespaces)")
	}
	for _, sub := range []string{"conf", "drivers", "run"} {
		if err := os.Mkdir(filepath.Join(d.dir, sub), 0o755); err != nil {
			t.Fatalf("pcsctest: %v", err)
		}
	}
	d.reservePorts(devices)
	for _, p := range d.ports {
		if err := copyFile(vpcdDriver, d.driverPath(p)); err != nil {
			t.Fatalf("pcsctest: copying the vpcd driver: %v", err)
		}
	}
	t.Cleanup(d.Stop)
	return d
}

// namespaceWrapper returns the unshare command line that gives pcscd a
// private mount namespace, or nil when none works.
func namespaceWrapper() []string {
	if _, err := exec.LookPath("unshare"); err != nil {
		return nil
	}
	for _, w := range [][]string{
		{"unshare", "--mount", "--propagation", "private"},
		{"unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"},
	} {
		if exec.Command(w[0], append(w[1:], "true")...).Run() == nil {
			return w
		}
	}
	return nil
}

// reservePorts picks devices pairs of free TCP ports below the ephemeral
// range, each held with a lock file for the test's lifetime so that two
// private daemons never share one.
func (d *Daemon) reservePorts(devices int) {
	d.t.Helper()
	dir := filepath.Join(os.TempDir(), "freespace-private-vpcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		d.t.Fatalf("pcsctest: %v", err)
	}
	for tries := 0; len(d.ports) < devices; tries++ {
		if tries > 200 {
			d.t.Fatalf("pcsctest: no free pair of TCP ports for vpcd")
		}
		base := 20000 + 2*rand.IntN(6000)
		if !portFree(base) || !portFree(base+1) {
			continue
		}
		unlock, ok, err := tryLock(filepath.Join(dir, fmt.Sprintf("port-%d.lock", base)), false)
		if err != nil {
			d.t.Fatalf("pcsctest: %v", err)
		}
		if !ok {
			continue
		}
		d.t.Cleanup(unlock)
		d.ports = append(d.ports, base)
	}
}

// portFree reports whether port can be bound on all interfaces (vpcd binds
// all of them).
func portFree(port int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

func (d *Daemon) driverPath(port int) string {
	return filepath.Join(d.dir, "drivers", fmt.Sprintf("libifdvpcd-%d.so", port))
}

// Socket is the path of the daemon's socket, for PCSCLITE_CSOCK_NAME.
func (d *Daemon) Socket() string { return filepath.Join(d.dir, "run", "pcscd.comm") }

// Env returns the environment entry that points libpcsclite at the daemon.
func (d *Daemon) Env() string { return "PCSCLITE_CSOCK_NAME=" + d.Socket() }

// Slots lists the two slots of every reserved device (also of devices the
// running configuration leaves out), in order: device i has slots 2i and
// 2i+1.
func (d *Daemon) Slots() []Slot {
	var out []Slot
	for _, base := range d.ports {
		for i := range 2 {
			out = append(out, Slot{
				Addr:       fmt.Sprintf("127.0.0.1:%d", base+i),
				ReaderName: fmt.Sprintf("%s %d 00 %02d", PrivateName, base, i),
				Port:       base + i,
			})
		}
	}
	return out
}

// ReaderNames lists the readers of the running configuration.
func (d *Daemon) ReaderNames() []string {
	d.mu.Lock()
	n := d.devices
	d.mu.Unlock()
	var out []string
	for _, s := range d.Slots()[:2*n] {
		out = append(out, s.ReaderName)
	}
	return out
}

// writeConfig writes a reader.conf.d with the first devices devices.
func (d *Daemon) writeConfig(devices int) error {
	var b strings.Builder
	for _, p := range d.ports[:devices] {
		fmt.Fprintf(&b, "FRIENDLYNAME \"%s %d\"\nDEVICENAME   /dev/null:%d\nLIBPATH      %s\nCHANNELID    %d\n\n",
			PrivateName, p, p, d.driverPath(p), p)
	}
	return os.WriteFile(filepath.Join(d.dir, "conf", "vpcd"), []byte(b.String()), 0o644)
}

// Start starts pcscd (stopped by Stop) with the first devices of the
// reserved devices (1..len(Slots())/2) and returns once its socket exists
// and every vpcd slot listens. It fails the test when pcscd does not come
// up within Timeout.
func (d *Daemon) Start(devices int) {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		d.t.Fatalf("pcsctest: Start while pcscd is running")
	}
	if devices < 1 || devices > len(d.ports) {
		d.t.Fatalf("pcsctest: Start with %d devices, have %d", devices, len(d.ports))
	}
	if err := d.writeConfig(devices); err != nil {
		d.t.Fatalf("pcsctest: %v", err)
	}
	logf, err := os.OpenFile(filepath.Join(d.dir, "pcscd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		d.t.Fatalf("pcsctest: %v", err)
	}
	defer logf.Close()
	// As in scripts/test.sh: in the new namespace, a fresh /run with our
	// directory bound on /run/pcscd; then pcscd replaces the shell.
	const inner = `mount -t tmpfs -o mode=755 none /run && mkdir /run/pcscd && mount --bind "$0" /run/pcscd && exec "$1" --foreground -c "$2"`
	args := slices.Concat(d.wrapper[1:], []string{"sh", "-c", inner, filepath.Join(d.dir, "run"), d.pcscd, filepath.Join(d.dir, "conf")})
	cmd := exec.Command(d.wrapper[0], args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("pcsctest: starting pcscd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	d.cmd, d.exited, d.devices = cmd, exited, devices

	deadline := time.Now().Add(Timeout)
	last := d.ports[devices-1] + 1
	for {
		_, sockErr := os.Stat(d.Socket())
		if sockErr == nil && listening(last) {
			return
		}
		select {
		case <-exited:
			d.cmd = nil
			d.t.Fatalf("pcsctest: pcscd exited at start: %s", d.logTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("pcsctest: pcscd did not come up within %v (socket: %v): %s", Timeout, sockErr, d.logTail())
		}
	}
}

// Stop stops pcscd with SIGTERM and waits for it to exit (it then removes
// its socket and closes the vpcd ports, so attached cards are dropped). It
// does nothing when pcscd is not running.
func (d *Daemon) Stop() {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	cmd, exited := d.cmd, d.exited
	d.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(Timeout):
		_ = cmd.Process.Kill()
		<-exited
		d.t.Errorf("pcsctest: pcscd did not stop on SIGTERM within %v: %s", Timeout, d.logTail())
	}
	if d.t.Failed() {
		d.t.Logf("pcsctest: private pcscd log: %s", d.logTail())
	}
}

// logTail returns the last lines of the daemon's log.
func (d *Daemon) logTail() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "pcscd.log"))
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return "\n" + string(bytes.Join(lines, []byte("\n")))
}

// listening reports whether a TCP socket of the machine listens on port,
// read from /proc rather than by connecting: a connection to a vpcd port
// would look like a card to pcscd.
func listening(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st ...; st 0A is LISTEN.
			if len(fields) > 3 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" {
				_ = f.Close()
				return true
			}
		}
		_ = f.Close()
	}
	return false
}
