// Package pcsctest is test support for tests that go through a real PC/SC
// stack: a card written in Go is attached with package vpcd to a slot of the
// vpcd reader driver of a private pcscd, and the code under test reaches it
// through package reader.
//
// scripts/test.sh starts one private pcscd for the whole `go test ./...`
// run, with several vpcd devices (two slots each), and describes them in
// the environment:
//
//	FREESPACE_PCSC=1                      the stack is up
//	FREESPACE_VPCD_PORTS=35963,35965,...  the base port of each vpcd device
//	FREESPACE_VPCD_NAME=Freespace vpcd    friendly name prefix of the devices
//	FREESPACE_PCSC_LOCKDIR=/tmp/...       where slot lock files live
//	PCSCLITE_CSOCK_NAME=/tmp/.../pcscd.comm  the private pcscd's socket
//
// Tests that stop, restart or reconfigure pcscd must not touch that shared
// daemon: StartPrivate (or NewPrivate) gives such a test a pcscd of its
// own, in its own mount namespace, with vpcd devices on free ports (see
// Daemon).
//
// go test runs packages in parallel processes, so Acquire gives each test a
// slot of its own, locked with flock(2) until the test ends. Without
// FREESPACE_PCSC the tests are skipped, unless FREESPACE_REQUIRE_PCSC=1 or
// CI is set, in which case they fail.
package pcsctest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/vpcd"
)

// Environment variables set by scripts/test.sh.
const (
	EnvEnable  = "FREESPACE_PCSC"
	EnvRequire = "FREESPACE_REQUIRE_PCSC"
	EnvPorts   = "FREESPACE_VPCD_PORTS"
	EnvName    = "FREESPACE_VPCD_NAME"
	EnvLockDir = "FREESPACE_PCSC_LOCKDIR"
)

// DefaultName is the friendly name prefix used when FREESPACE_VPCD_NAME is
// not set.
const DefaultName = "Freespace vpcd"

// Timeout bounds every wait of this package on pcscd (reader appearing,
// card noticed, slot empty). pcscd polls vpcd slots every 400 ms.
const Timeout = 15 * time.Second

// howToRun is the hint given when the stack is missing.
const howToRun = "PC/SC tests need a private pcscd with vpcd slots: run scripts/test.sh (it installs pcscd, libpcsclite-dev and vsmartcard-vpcd when missing)"

// Slot is one vpcd slot reserved for a test.
type Slot struct {
	Addr       string // 127.0.0.1:port, where the card connects (vpcd.Attach)
	ReaderName string // the PC/SC reader name of the slot
	Port       int    // the TCP port of the slot on 127.0.0.1
}

// String returns the reader name and address.
func (s Slot) String() string { return fmt.Sprintf("%q at %s", s.ReaderName, s.Addr) }

// required reports whether a missing stack is a failure rather than a skip.
func required() bool {
	return os.Getenv(EnvRequire) == "1" || os.Getenv("CI") != ""
}

// unavailable skips or fails the test.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if required() {
		t.Fatalf("pcsctest: %s (%s=1 or CI set: the PC/SC stack is required). %s", why, EnvRequire, howToRun)
	}
	t.Skipf("pcsctest: %s. %s", why, howToRun)
}

// slots lists the configured slots.
func slots() ([]Slot, error) {
	name := os.Getenv(EnvName)
	if name == "" {
		name = DefaultName
	}
	var out []Slot
	for f := range strings.SplitSeq(os.Getenv(EnvPorts), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		base, err := strconv.Atoi(f)
		if err != nil || base <= 0 || base >= 65535 {
			return nil, fmt.Errorf("%s: bad port %q", EnvPorts, f)
		}
		for i := range 2 {
			out = append(out, Slot{
				Addr:       fmt.Sprintf("127.0.0.1:%d", base+i),
				ReaderName: fmt.Sprintf("%s %d 00 %02d", name, base, i),
				Port:       base + i,
			})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is empty", EnvPorts)
	}
	return out, nil
}

// Acquire reserves a free slot for the test until it ends, and returns it
// once pcscd lists its reader and reports it empty. Skips or fails the
// test when the stack is not set up (see the package comment).
func Acquire(t testing.TB) Slot {
	t.Helper()
	if os.Getenv(EnvEnable) != "1" {
		unavailable(t, EnvEnable+" is not set")
	}
	all, err := slots()
	if err != nil {
		t.Fatalf("pcsctest: %v", err)
	}
	dir := os.Getenv(EnvLockDir)
	if dir == "" {
		t.Fatalf("pcsctest: %s is not set", EnvLockDir)
	}
	slot, unlock, err := lockSlot(dir, all, t.Name())
	if err != nil {
		t.Fatalf("pcsctest: reserving a slot: %v", err)
	}
	t.Cleanup(unlock)

	rc := NewContext(t)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := waitReader(ctx, rc, slot.ReaderName); err != nil {
		t.Fatalf("pcsctest: reader %s: %v", slot, err)
	}
	if _, err := rc.WaitForRemoval(ctx, slot.ReaderName); err != nil {
		t.Fatalf("pcsctest: slot %s did not become empty: %v", slot, err)
	}
	return slot
}

// NewContext establishes a reader.Context, closed when the test ends.
// It skips or fails the test when PC/SC is unavailable.
func NewContext(t testing.TB) *reader.Context {
	t.Helper()
	rc := establish(t)
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

// establish establishes a reader.Context that the caller closes.
func establish(t testing.TB) *reader.Context {
	t.Helper()
	rc, err := reader.EstablishContext(context.Background())
	if err != nil {
		if errors.Is(err, reader.ErrNoCgo) {
			unavailable(t, err.Error())
		}
		t.Fatalf("pcsctest: %v", err)
	}
	return rc
}

// waitReader waits until pcscd lists the reader.
func waitReader(ctx context.Context, rc *reader.Context, name string) error {
	for {
		names, err := rc.ListReaders(ctx)
		if err != nil {
			return err
		}
		if slices.Contains(names, name) {
			return nil
		}
		if err := rc.WaitForReaderListChange(ctx, time.Second); err != nil {
			return fmt.Errorf("not listed (have %q): %w", names, err)
		}
	}
}

// lockSlot takes the first free slot, starting at an offset derived from
// the test name and process so that parallel processes spread out. When all
// are busy it blocks on one of them.
func lockSlot(dir string, all []Slot, name string) (Slot, func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Slot{}, nil, err
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%s", os.Getpid(), name)
	start := int(h.Sum32() % uint32(len(all)))
	path := func(s Slot) string { return filepath.Join(dir, fmt.Sprintf("slot-%d.lock", s.Port)) }
	for i := range all {
		s := all[(start+i)%len(all)]
		unlock, ok, err := tryLock(path(s), false)
		if err != nil {
			return Slot{}, nil, err
		}
		if ok {
			return s, unlock, nil
		}
	}
	s := all[start]
	unlock, _, err := tryLock(path(s), true)
	if err != nil {
		return Slot{}, nil, err
	}
	return s, unlock, nil
}

// Attach puts card into the slot and waits until pcscd reports it present.
// When the test ends the card is pulled out and the slot seen empty again.
func (s Slot) Attach(t testing.TB, card vpcd.Card) *vpcd.Conn {
	t.Helper()
	conn, err := vpcd.Attach(context.Background(), s.Addr, card, vpcd.Config{})
	if err != nil {
		t.Fatalf("pcsctest: attaching to %s: %v", s, err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		WaitAbsent(t, s)
	})
	WaitPresent(t, s)
	return conn
}

// WaitPresent waits (with SCardGetStatusChange) until pcscd reports a card
// in the slot, and returns the reader state.
func WaitPresent(t testing.TB, s Slot) reader.ReaderState {
	t.Helper()
	rc := establish(t)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	st, err := rc.WaitForCard(ctx, s.ReaderName)
	if err != nil {
		t.Fatalf("pcsctest: no card seen in %s: %v", s, err)
	}
	return st
}

// WaitAbsent waits until pcscd reports the slot empty. Insert a card again
// only after this: pcscd needs to have seen the removal.
func WaitAbsent(t testing.TB, s Slot) {
	t.Helper()
	rc := establish(t)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if _, err := rc.WaitForRemoval(ctx, s.ReaderName); err != nil {
		t.Errorf("pcsctest: slot %s not seen empty: %v", s, err)
	}
}
