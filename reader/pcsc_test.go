//go:build cgo || windows

package reader_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ebfe/scard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/vpcd"
)

var ok9000 = []byte{0x90, 0x00}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestListReadersAndWaitForCard(t *testing.T) {
	t.Parallel()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)

	names, err := rc.ListReaders(ctx)
	require.NoError(t, err)
	assert.Contains(t, names, slot.ReaderName)

	states, err := rc.Readers(ctx)
	require.NoError(t, err)
	i := slices.IndexFunc(states, func(s reader.ReaderState) bool { return s.Name == slot.ReaderName })
	require.GreaterOrEqual(t, i, 0)
	assert.True(t, states[i].Empty(), "the slot starts empty: %v", states[i].State)

	card := newTestCard([]byte("hello"))
	type result struct {
		st  reader.ReaderState
		err error
	}
	got := make(chan result, 1)
	go func() {
		st, err := rc.WaitForCard(ctx, slot.ReaderName)
		got <- result{st, err}
	}()
	conn := slot.Attach(t, card)
	r := <-got
	require.NoError(t, r.err)
	assert.True(t, r.st.Present())
	assert.Equal(t, card.ATR(), r.st.ATR)

	// WaitForChange from a zero state reports the current state at once;
	// from that state it waits for the next event.
	now, err := rc.WaitForChange(ctx, slot.ReaderName, reader.ReaderState{})
	require.NoError(t, err)
	assert.True(t, now.Present())
	changed := make(chan result, 1)
	go func() {
		st, err := rc.WaitForChange(ctx, slot.ReaderName, now)
		changed <- result{st, err}
	}()
	require.NoError(t, conn.Close())
	r = <-changed
	require.NoError(t, r.err)
	assert.False(t, r.st.Present(), "the change is the removal: %v", r.st.State)
}

func TestConnectTransmitTransaction(t *testing.T) {
	t.Parallel()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	tc := newTestCard([]byte("0123456789abcdef"))
	slot.Attach(t, tc)

	card, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	defer card.Close()
	assert.Equal(t, tc.ATR(), card.ATR())
	assert.Equal(t, slot.ReaderName, card.Reader())

	rsp, err := card.Transmit(ctx, readAPDU(4))
	require.NoError(t, err)
	assert.Equal(t, []byte{0x69, 0x86}, rsp, "nothing selected yet")

	err = apdu.WithTransaction(ctx, card, func(ctx context.Context) error {
		rsp, err := card.Transmit(ctx, selectAPDU())
		if err != nil {
			return err
		}
		if !slices.Equal(rsp, ok9000) {
			return fmt.Errorf("select: %X", rsp)
		}
		rsp, err = card.Transmit(ctx, readAPDU(16))
		if err != nil {
			return err
		}
		assert.Equal(t, append([]byte("0123456789abcdef"), 0x90, 0x00), rsp)
		return nil
	})
	require.NoError(t, err)

	sentinel := errors.New("operation failed")
	assert.ErrorIs(t, card.WithTransaction(ctx, func(context.Context) error { return sentinel }), sentinel,
		"fn's error comes back, and the transaction still ends")
	// The transaction ended: another connection can run one.
	other, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	defer other.Close()
	require.NoError(t, other.WithTransaction(ctx, func(ctx context.Context) error {
		_, err := other.Transmit(ctx, readAPDU(1))
		return err
	}))

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = card.Transmit(cancelled, readAPDU(1))
	assert.ErrorIs(t, err, context.Canceled)
}

// A command that is no APDU (empty, shorter than the header, longer than
// the longest extended APDU) is refused with apdu.ErrInvalidCommand, never
// handed to PC/SC (an empty one used to panic in the binding), and the
// connection stays usable.
func TestTransmitRefusesMalformedCommands(t *testing.T) {
	t.Parallel()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	tc := newTestCard(nil)
	slot.Attach(t, tc)
	card, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	defer card.Close()

	for _, cmd := range [][]byte{nil, {}, {0x00, 0xB0, 0x00}, make([]byte, reader.MaxCommandLen+1)} {
		assert.NotPanics(t, func() {
			_, err := card.Transmit(ctx, cmd)
			assert.ErrorIs(t, err, apdu.ErrInvalidCommand, "%d bytes", len(cmd))
		})
	}
	assert.Zero(t, tc.apdus.Load(), "nothing reached the card")
	rsp, err := card.Transmit(ctx, readAPDU(1))
	require.NoError(t, err)
	assert.Equal(t, []byte{0x69, 0x86}, rsp)
}

// recordingCard is a testCard that records the Le byte of every command,
// in the order the card receives them.
type recordingCard struct {
	*testCard
	mu  sync.Mutex
	les []byte
}

func (c *recordingCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) == 5 {
		c.mu.Lock()
		c.les = append(c.les, cmd[4])
		c.mu.Unlock()
	}
	return c.testCard.Transmit(ctx, cmd)
}

func (c *recordingCard) order() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.les)
}

// connectRecording connects to a test card that records the APDUs it
// receives, in a slot of the test pcscd; everything is released when the
// test ends.
func connectRecording(t *testing.T) (*reader.Card, *recordingCard, context.Context) {
	t.Helper()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	rec := &recordingCard{testCard: newTestCard(nil)}
	slot.Attach(t, rec)
	card, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = card.Close() })
	return card, rec, ctx
}

// A transaction keeps out the other goroutines that use the same Card, not
// only other connections (which PC/SC keeps out): their APDUs wait until it
// ends. A WithTransaction nested in fn, called with fn's context, runs in
// the transaction already held instead of waiting for it.
func TestTransactionExcludesOtherGoroutinesOfTheCard(t *testing.T) {
	t.Parallel()
	card, rec, outer := connectRecording(t)

	otherDone := make(chan error, 1)
	err := card.WithTransaction(outer, func(ctx context.Context) error {
		if _, err := card.Transmit(ctx, readAPDU(1)); err != nil {
			return err
		}
		go func() {
			_, err := card.Transmit(outer, readAPDU(3))
			otherDone <- err
		}()
		// A Transmit with a context that is not the transaction's waits
		// for the transaction, as long as its context allows.
		short, cancel := context.WithTimeout(outer, 50*time.Millisecond)
		defer cancel()
		_, err := card.Transmit(short, readAPDU(9))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		// Give the other goroutine every chance to cut in.
		time.Sleep(200 * time.Millisecond)
		return card.WithTransaction(ctx, func(ctx context.Context) error {
			_, err := card.Transmit(ctx, readAPDU(2))
			return err
		})
	})
	require.NoError(t, err)
	require.NoError(t, <-otherDone)
	assert.Equal(t, []byte{1, 2, 3}, rec.order(), "the other goroutine's APDU came after the transaction")
}

// A context kept from an ended transaction's fn (by a goroutine fn
// started, say) is an ordinary context again: its Transmit waits for
// another goroutine's transaction like any other.
func TestTransactionContextEndsWithTheTransaction(t *testing.T) {
	t.Parallel()
	card, rec, outer := connectRecording(t)

	var stale context.Context
	require.NoError(t, card.WithTransaction(outer, func(ctx context.Context) error {
		stale = ctx
		return nil
	}))

	holding := make(chan struct{})
	release := make(chan struct{})
	otherDone := make(chan error, 1)
	go func() {
		otherDone <- card.WithTransaction(outer, func(ctx context.Context) error {
			close(holding)
			<-release
			_, err := card.Transmit(ctx, readAPDU(2))
			return err
		})
	}()
	<-holding
	short, cancel := context.WithTimeout(stale, 50*time.Millisecond)
	defer cancel()
	_, err := card.Transmit(short, readAPDU(1))
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the stale context waits for the other transaction")
	close(release)
	require.NoError(t, <-otherDone)
	assert.Equal(t, []byte{2}, rec.order())
}

// A panic inside fn ends the transaction on its way out: the card is not
// held for the rest of the connection's life.
func TestTransactionEndsWhenFnPanics(t *testing.T) {
	t.Parallel()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	slot.Attach(t, newTestCard(nil))
	card, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	defer card.Close()
	other, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	defer other.Close()

	assert.PanicsWithValue(t, "boom", func() {
		_ = card.WithTransaction(ctx, func(context.Context) error { panic("boom") })
	})
	// SCardBeginTransaction of another handle blocks while the transaction
	// is held; the guard only keeps a regression from hanging the run.
	done := make(chan error, 1)
	go func() { done <- other.WithTransaction(ctx, func(context.Context) error { return nil }) }()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		// Disconnecting ends the transaction and frees the waiting
		// goroutine (Close of other would wait for it).
		_ = card.Close()
		<-done
		t.Fatal("the transaction is still held after the panic")
	}
}

// settledGoroutines waits (bounded) for goroutines that are on their way
// out to end, and returns how many are left.
func settledGoroutines(limit int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > limit; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// Waits ended by their context, connections and transactions leave no
// goroutine behind.
func TestNoGoroutineLeaks(t *testing.T) {
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	slot.Attach(t, newTestCard([]byte("x")))
	ctx := testCtx(t)
	// Warm up: the first calls start the runtime's own helpers.
	_, err := rc.WaitForCard(ctx, slot.ReaderName)
	require.NoError(t, err)
	before := runtime.NumGoroutine()
	for range 10 {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err := rc.WaitForRemoval(short, slot.ReaderName) // the card stays: ends by ctx
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		card, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
		require.NoError(t, err)
		require.NoError(t, card.WithTransaction(ctx, func(ctx context.Context) error {
			_, err := card.Transmit(ctx, selectAPDU())
			return err
		}))
		require.NoError(t, card.Close())
	}
	assert.LessOrEqual(t, settledGoroutines(before), before)
}

func TestExclusive(t *testing.T) {
	t.Parallel()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	slot.Attach(t, newTestCard(nil))

	excl, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{Exclusive: true})
	require.NoError(t, err)
	_, err = rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	assert.ErrorIs(t, err, reader.ErrSharingViolation)
	require.NoError(t, excl.Close())
	shared, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	require.NoError(t, shared.Close())
	require.NoError(t, shared.Close(), "Close is idempotent")
	_, err = shared.Transmit(ctx, readAPDU(1))
	assert.ErrorIs(t, err, reader.ErrClosed)
}

func TestRemovalAndReinsertion(t *testing.T) {
	t.Parallel()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	tc := newTestCard([]byte("first"))
	conn, err := vpcd.Attach(ctx, slot.Addr, tc, vpcd.Config{})
	require.NoError(t, err)
	pcsctest.WaitPresent(t, slot)

	card, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	defer card.Close()
	rsp, err := card.Transmit(ctx, selectAPDU())
	require.NoError(t, err)
	require.Equal(t, ok9000, rsp)

	// Pull the card out mid-operation: pcscd may not have polled the slot
	// yet (SCARD_E_NOT_TRANSACTED) or already has (SCARD_W_REMOVED_CARD);
	// both are a removal.
	var inside error
	err = card.WithTransaction(ctx, func(ctx context.Context) error {
		if _, err := card.Transmit(ctx, readAPDU(2)); err != nil {
			return err
		}
		require.NoError(t, conn.Close())
		_, inside = card.Transmit(ctx, readAPDU(5))
		return inside
	})
	require.Error(t, inside)
	assert.ErrorIs(t, inside, apdu.ErrCardRemoved)
	var pe *reader.PCSCError
	assert.ErrorAs(t, inside, &pe)
	assert.ErrorIs(t, err, apdu.ErrCardRemoved, "WithTransaction returns fn's error; ending the transaction on a removed card adds nothing")

	_, err = rc.WaitForRemoval(ctx, slot.ReaderName)
	require.NoError(t, err)
	_, err = card.Transmit(ctx, readAPDU(5))
	assert.ErrorIs(t, err, apdu.ErrCardRemoved, "after pcscd's poll the removal is SCARD_W_REMOVED_CARD")
	_, err = rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	assert.ErrorIs(t, err, apdu.ErrCardRemoved, "no card: SCARD_E_NO_SMARTCARD")

	// Reinsert (pcscd has seen the slot empty) and reconnect the old handle.
	second := newTestCard([]byte("second"))
	slot.Attach(t, second)
	require.NoError(t, card.Reconnect(ctx))
	assert.Equal(t, second.ATR(), card.ATR())
	rsp, err = card.Transmit(ctx, selectAPDU())
	require.NoError(t, err)
	require.Equal(t, ok9000, rsp)
	rsp, err = card.Transmit(ctx, readAPDU(6))
	require.NoError(t, err)
	assert.Equal(t, append([]byte("second"), 0x90, 0x00), rsp)

	// A new connection works as well.
	fresh, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	defer fresh.Close()
	_, err = fresh.Transmit(ctx, readAPDU(1))
	require.NoError(t, err)
}

func TestReconnectWaitsForCardAndHonoursContext(t *testing.T) {
	t.Parallel()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	conn, err := vpcd.Attach(ctx, slot.Addr, newTestCard(nil), vpcd.Config{})
	require.NoError(t, err)
	pcsctest.WaitPresent(t, slot)
	card, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	defer card.Close()
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, card.Reconnect(short), context.DeadlineExceeded, "no card: Reconnect waits until ctx is done")
}

func TestCardReset(t *testing.T) {
	t.Parallel()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	tc := newTestCard([]byte("data"))
	slot.Attach(t, tc)
	card, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	defer card.Close()
	_, err = card.Transmit(ctx, selectAPDU())
	require.NoError(t, err)

	// Another application resets the card.
	sc, err := scard.EstablishContext()
	require.NoError(t, err)
	defer sc.Release()
	h, err := sc.Connect(slot.ReaderName, scard.ShareShared, scard.ProtocolAny)
	require.NoError(t, err)
	require.NoError(t, h.Disconnect(scard.ResetCard))

	_, err = card.Transmit(ctx, readAPDU(4))
	assert.ErrorIs(t, err, reader.ErrCardReset)
	assert.ErrorIs(t, err, apdu.ErrCardReset)
	require.NoError(t, card.Reconnect(ctx))
	rsp, err := card.Transmit(ctx, readAPDU(4))
	require.NoError(t, err)
	assert.Equal(t, []byte{0x69, 0x86}, rsp, "the reset deselected the application")
}

func TestTwoReadersInParallel(t *testing.T) {
	t.Parallel()
	slots := []pcsctest.Slot{pcsctest.Acquire(t), pcsctest.Acquire(t)}
	require.NotEqual(t, slots[0].ReaderName, slots[1].ReaderName)
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	for i, s := range slots {
		s.Attach(t, newTestCard(fmt.Appendf(nil, "card number %d", i)))
	}
	const rounds = 100
	var wg sync.WaitGroup
	errs := make([]error, len(slots))
	for i, s := range slots {
		wg.Go(func() {
			errs[i] = func() error {
				card, err := rc.Connect(ctx, s.ReaderName, reader.ConnectOptions{})
				if err != nil {
					return err
				}
				defer card.Close()
				want := fmt.Appendf(nil, "card number %d\x90\x00", i)
				return card.WithTransaction(ctx, func(ctx context.Context) error {
					if _, err := card.Transmit(ctx, selectAPDU()); err != nil {
						return err
					}
					for range rounds {
						rsp, err := card.Transmit(ctx, readAPDU(13))
						if err != nil {
							return err
						}
						if !slices.Equal(rsp, want) {
							return fmt.Errorf("reader %d: got %q", i, rsp)
						}
					}
					return nil
				})
			}()
		})
	}
	// A wait on a third reader's state does not hold up the two.
	waitCtx, cancelWait := context.WithCancel(ctx)
	waited := make(chan error, 1)
	go func() {
		_, err := rc.WaitForChange(waitCtx, slots[0].ReaderName, pcsctest.WaitPresent(t, slots[0]))
		waited <- err
	}()
	wg.Wait()
	cancelWait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	err := <-waited
	if err != nil {
		assert.ErrorIs(t, err, context.Canceled)
	}
}

func TestWaitCancelledByContext(t *testing.T) {
	t.Parallel()
	slot := pcsctest.Acquire(t)
	rc := pcsctest.NewContext(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	errc := make(chan error, 1)
	go func() {
		_, err := rc.WaitForCard(ctx, slot.ReaderName)
		errc <- err
	}()
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)

	short, cancel2 := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel2()
	_, err := rc.WaitForCard(short, slot.ReaderName)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestUnknownReader(t *testing.T) {
	t.Parallel()
	pcsctest.Acquire(t) // needs the stack
	rc := pcsctest.NewContext(t)
	ctx := testCtx(t)
	_, err := rc.WaitForCard(ctx, "No Such Reader 00 00")
	assert.ErrorIs(t, err, reader.ErrNoReader)
	_, err = rc.Connect(ctx, "No Such Reader 00 00", reader.ConnectOptions{})
	assert.ErrorIs(t, err, reader.ErrNoReader)
}

func TestClosedContext(t *testing.T) {
	t.Parallel()
	pcsctest.Acquire(t)
	rc, err := reader.EstablishContext(t.Context())
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.NoError(t, rc.Close())
	_, err = rc.ListReaders(t.Context())
	assert.ErrorIs(t, err, reader.ErrClosed)
}

// childEnv marks the subprocess of TestNoService.
const childEnv = "FREESPACE_TEST_NO_SERVICE_CHILD"

// TestNoService runs the test binary again with PCSCLITE_CSOCK_NAME (read
// once per process by libpcsclite) pointing at a socket that does not
// exist, as if pcscd were not running. It needs no pcscd.
func TestNoService(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		_, err := reader.EstablishContext(context.Background())
		if !errors.Is(err, reader.ErrNoService) {
			t.Fatalf("got %v, want ErrNoService", err)
		}
		fmt.Println("child error:", err)
		return
	}
	cmd := exec.CommandContext(testCtx(t), os.Args[0], "-test.run=^TestNoService$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1", "PCSCLITE_CSOCK_NAME="+filepath.Join(t.TempDir(), "no-pcscd.comm"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "SCARD_E_NO_SERVICE")
	assert.NotContains(t, string(out), "start pcscd", "a fact, not a remedy: see Remedy")
}

func TestWaitForReaderListChange(t *testing.T) {
	t.Parallel()
	pcsctest.Acquire(t) // needs the stack
	rc := pcsctest.NewContext(t)
	// The reader list of the private pcscd does not change during the tests.
	assert.NoError(t, rc.WaitForReaderListChange(testCtx(t), 300*time.Millisecond))
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	assert.ErrorIs(t, rc.WaitForReaderListChange(ctx, -1), context.Canceled)
	ctx2, cancel2 := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel2()
	assert.ErrorIs(t, rc.WaitForReaderListChange(ctx2, -1), context.DeadlineExceeded)
}
