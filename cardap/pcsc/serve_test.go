package pcsc_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/cardap/pcsc"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/internal/testsupport/syncbuf"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestServe runs the serve loop through a real pcscd: two cards are
// presented one after the other in a vpcd reader, and each is identified
// once, while the card is in the reader.
func TestServe(t *testing.T) {
	slot := pcsctest.Acquire(t)
	c := newClient(t, func(c *cardap.Config) { c.NoRevocation = true })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	taps := make(chan cardap.Tap, 4)
	done := make(chan error, 1)
	go func() {
		done <- pcsc.Serve(ctx, c, func(_ context.Context, tap cardap.Tap, _ cardap.Card) { taps <- tap },
			pcsc.Options{Readers: []string{slot.ReaderName}})
	}()
	for _, user := range []string{"U-PCSC-1", "U-PCSC-2"} {
		card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: user}))
		conn := slot.Attach(t, card)
		select {
		case tap := <-taps:
			require.NoError(t, tap.Err)
			assert.Equal(t, user, tap.Identity.UserID)
			assert.Equal(t, slot.ReaderName, tap.Slot)
		case <-ctx.Done():
			t.Fatalf("no tap for %s", user)
		}
		require.NoError(t, conn.Close())
		pcsctest.WaitAbsent(t, slot)
	}
	select {
	case tap := <-taps:
		t.Fatalf("unexpected extra tap %+v", tap)
	default:
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

// unreadableCard is a card whose answer to reset allows no protocol, as a
// broken or non-ISO 7816 card gives: pcscd sees a card but cannot connect.
type unreadableCard struct{ *mockcard.Card }

func (unreadableCard) ATR() []byte { return []byte{0xFF, 0xFF} }

// TestServeSurvivesUnreadableCard puts a card that pcscd cannot
// connect to in the reader: the serve loop neither stops nor calls the
// handler nor retries the card in a loop; it says once that the card does
// not answer, waits for it to be taken out, and then reads the next card.
func TestServeSurvivesUnreadableCard(t *testing.T) {
	slot := pcsctest.Acquire(t)
	var logs syncbuf.Buffer
	c := newClient(t, func(c *cardap.Config) {
		c.NoRevocation = true
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	taps := make(chan cardap.Tap, 4)
	done := make(chan error, 1)
	go func() {
		done <- pcsc.Serve(ctx, c, func(_ context.Context, tap cardap.Tap, _ cardap.Card) { taps <- tap },
			pcsc.Options{Readers: []string{slot.ReaderName}})
	}()

	bad := slot.Attach(t, unreadableCard{mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-BROKEN"}))})
	select {
	case tap := <-taps:
		t.Fatalf("the unreadable card gave a tap: %+v", tap)
	case err := <-done:
		t.Fatalf("the serve loop stopped at an unreadable card: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	require.NoError(t, bad.Close())
	pcsctest.WaitAbsent(t, slot)
	assert.Equal(t, 1, strings.Count(logs.String(), "waiting for it to be taken out"), logs.String())
	assert.NotContains(t, logs.String(), "slot failed", "an unreadable card is not a failing slot to retry")

	good := slot.Attach(t, mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-NEXT"})))
	select {
	case tap := <-taps:
		require.NoError(t, tap.Err)
		assert.Equal(t, "U-NEXT", tap.Identity.UserID)
	case err := <-done:
		t.Fatalf("the serve loop stopped: %v", err)
	case <-ctx.Done():
		t.Fatal("no tap for the card after the unreadable one")
	}
	require.NoError(t, good.Close())
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}
