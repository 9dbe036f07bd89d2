package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/cardap/pcsc"
	"github.com/mynacard/freespace/internal/jsonlog"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
)

// maxMembersFile bounds the member list read into memory.
const maxMembersFile = 64 << 20

// parseMembers reads "user_id,name" lines (a header line "user_id,name" is
// allowed). IDs must be valid profile user IDs and unique.
func parseMembers(r io.Reader) (map[string]string, error) {
	cr := csv.NewReader(io.LimitReader(r, maxMembersFile))
	cr.FieldsPerRecord = 2
	cr.ReuseRecord = true
	out := map[string]string{}
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("members: %w", err)
		}
		id, name := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if line == 1 && id == "user_id" {
			continue
		}
		if err := (profile.Identity{UserID: id}).Validate(); err != nil {
			return nil, fmt.Errorf("members: line %d: %w", line, err)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("members: line %d: user ID %q listed twice", line, id)
		}
		out[id] = name
	}
}

func demoMembers() map[string]string {
	return map[string]string{"LIB-0001": "Sato Hanako", "LIB-0002": "Suzuki Ichiro"}
}

// entry is one ledger line.
type entry struct {
	Time   time.Time `json:"time"`
	UserID string    `json:"user_id"`
	CUID   string    `json:"cuid"`
	Points int       `json:"points"`
}

// ledger is the points ledger: an append-only JSON-lines file of entries
// (jsonlog: every entry fsynced before add returns, so a visit is never
// lost once it is reported, and a failed write is cut off again), and the
// per-member totals read back from it.
type ledger struct {
	log *jsonlog.Log

	mu     sync.Mutex
	totals map[string]int
}

// openLedger opens (creating) the ledger at path and reads the totals back.
// An unfinished last line (no newline: a write cut by a crash or power
// loss, whose visit was never reported) is removed and its length returned
// in dropped; a complete line that does not decode is corruption and is
// refused.
func openLedger(path string) (l *ledger, dropped int64, err error) {
	l = newLedger()
	l.log, dropped, err = jsonlog.Open(path, l.replay)
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: %w", err)
	}
	return l, dropped, nil
}

// newLedger returns a ledger without its file, for openLedger (and tests)
// to open with l.replay.
func newLedger() *ledger {
	return &ledger{totals: map[string]int{}}
}

// replay adds one complete ledger line to the totals; a line that does not
// decode is corruption.
func (l *ledger) replay(line []byte) error {
	var e entry
	if err := json.Unmarshal(line, &e); err != nil {
		return fmt.Errorf("%w (entries before it are kept; repair the file)", err)
	}
	l.mu.Lock()
	l.totals[e.UserID] += e.Points
	l.mu.Unlock()
	return nil
}

// add appends e and syncs the file; it returns the member's new total. On
// an error the visit is not recorded: the partial entry is cut off.
func (l *ledger) add(e entry) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.log.Append(e); err != nil {
		return 0, err
	}
	l.totals[e.UserID] += e.Points
	return l.totals[e.UserID], nil
}

// Close closes the file; its error (a failed final write-back) is the
// caller's to report. add returns jsonlog.ErrClosed after it.
func (l *ledger) Close() error {
	return l.log.Close()
}

// desk is the counter terminal.
type desk struct {
	members map[string]string
	ledger  *ledger
	points  int
	out     io.Writer
}

func (d *desk) client() (*cardap.Client, error) {
	// The desk only needs to know who is at the counter: the Type C AP
	// identifies the member, it does not authenticate the card (anyone can
	// read a Type C ID and copy it), so the desk opts in to unproven cards
	// explicitly. A library card grants nothing dangerous: this service
	// also runs without a revocation list. A gate authenticates (Type A)
	// and configures one.
	return cardap.New(cardap.Config{
		APs:           []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})},
		AllowUnproven: true,
		NoRevocation:  true,
	})
}

func (d *desk) handle(_ context.Context, tap cardap.Tap, _ cardap.Card) {
	if tap.Err != nil {
		fmt.Fprintf(d.out, "%s: no visit recorded: %s\n", tap.Slot, tap.Reason())
		return
	}
	name, ok := d.members[tap.Identity.UserID]
	if !ok {
		fmt.Fprintf(d.out, "%s: card %s is not a member here\n", tap.Slot, tap.Identity.UserID)
		return
	}
	total, err := d.ledger.add(entry{Time: tap.Time.UTC(), UserID: tap.Identity.UserID, CUID: tap.Identity.CUID.String(), Points: d.points})
	if err != nil {
		fmt.Fprintf(d.out, "%s: ledger write failed, visit NOT recorded: %v\n", tap.Slot, err)
		return
	}
	fmt.Fprintf(d.out, "%s: welcome %s (+%d points, %d in total)\n", tap.Slot, name, d.points, total)
}

func (d *desk) serveReader(ctx context.Context, name string) error {
	// A binary built without cgo cannot reach PC/SC at all: say so at once
	// (pcsc.Serve would wait for the service forever).
	if rc, err := reader.EstablishContext(ctx); errors.Is(err, reader.ErrNoCgo) {
		return err
	} else if err == nil {
		_ = rc.Close()
	}
	c, err := d.client()
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "serving %q; Ctrl-C to stop\n", name)
	return pcsc.Serve(ctx, c, d.handle, pcsc.Options{Readers: []string{name}})
}

func (d *desk) simulate(ctx context.Context) error {
	c, err := d.client()
	if err != nil {
		return err
	}
	slot := cardap.NewTapSlot("counter")
	cards := []*mockcard.Card{
		mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "LIB-0001"})),
		mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "LIB-0002"})),
		mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "GYM-9999"})),
		mockcard.MustNew(), // a My Number Card without the library's AP
	}
	cards = append(cards, cards[0])
	errc := make(chan error, 1)
	go func() { errc <- c.Serve(ctx, d.handle, slot) }()
	var tapErr error
	for _, card := range cards {
		if tapErr = slot.Tap(ctx, card); tapErr != nil {
			break
		}
	}
	// Serve returns once the visit in progress is handled (recorded or
	// reported as not recorded), also after Ctrl-C.
	slot.Close()
	if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return tapErr
}
