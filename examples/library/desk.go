package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
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

// ledger is an append-only JSON-lines file, fsynced after every entry so a
// visit is never lost once it is reported.
type ledger struct {
	mu     sync.Mutex
	f      *os.File
	totals map[string]int
}

func openLedger(path string) (*ledger, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	l := &ledger{f: f, totals: map[string]int{}}
	dec := json.NewDecoder(f)
	for {
		var e entry
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			f.Close()
			return nil, fmt.Errorf("ledger %s: %w (entries before it are kept; repair the file)", path, err)
		}
		l.totals[e.UserID] += e.Points
	}
	return l, nil
}

func (l *ledger) add(e entry) (int, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return 0, err
	}
	if err := l.f.Sync(); err != nil {
		return 0, err
	}
	l.totals[e.UserID] += e.Points
	return l.totals[e.UserID], nil
}

func (l *ledger) Close() error { return l.f.Close() }

// desk is the counter terminal.
type desk struct {
	members map[string]string
	ledger  *ledger
	points  int
	out     io.Writer
}

func (d *desk) client() (*cardap.Client, error) {
	// A library card holds no secret and grants nothing dangerous: this
	// service runs without a revocation list. A gate would configure one.
	return cardap.New(cardap.Config{APs: []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})}, NoRevocation: true})
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
	c, err := d.client()
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "serving %q; Ctrl-C to stop\n", name)
	return c.ServePCSC(ctx, d.handle, cardap.PCSCOptions{Readers: []string{name}})
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
	for _, card := range cards {
		if err := slot.Tap(ctx, card); err != nil {
			return err
		}
	}
	slot.Close()
	if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
