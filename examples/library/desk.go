package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mynacard/freespace/cardap"
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

// ledgerFile is what the ledger needs of its file (an *os.File; tests
// inject failures).
type ledgerFile interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// ledger is an append-only JSON-lines file, fsynced after every entry so a
// visit is never lost once it is reported. A write that fails is cut off
// again, so the file never keeps half an entry that later entries would
// follow.
type ledger struct {
	mu     sync.Mutex
	f      ledgerFile
	size   int64 // length of the file up to the last complete entry
	totals map[string]int
}

// openLedger opens (creating) the ledger at path and reads the totals back.
// An unfinished last line (no newline: a write cut by a crash or power
// loss, whose visit was never reported) is removed and its length returned
// in dropped; a complete line that does not decode is corruption and is
// refused.
func openLedger(path string) (l *ledger, dropped int, err error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if created {
		// The new file's directory entry must be durable too.
		if err := syncDir(filepath.Dir(path)); err != nil {
			return nil, 0, fmt.Errorf("ledger %s: %w", path, err)
		}
	}
	l = &ledger{f: f, totals: map[string]int{}}
	br := bufio.NewReader(f)
	for lineNo := 1; ; lineNo++ {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return nil, 0, fmt.Errorf("ledger %s: %w", path, rerr)
		}
		if errors.Is(rerr, io.EOF) {
			if len(line) == 0 {
				return l, 0, nil
			}
			// An unfinished last entry: cut it off.
			if err := f.Truncate(l.size); err != nil {
				return nil, 0, fmt.Errorf("ledger %s: removing an unfinished last entry: %w", path, err)
			}
			if err := f.Sync(); err != nil {
				return nil, 0, fmt.Errorf("ledger %s: %w", path, err)
			}
			return l, len(line), nil
		}
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, 0, fmt.Errorf("ledger %s: line %d: %w (entries before it are kept; repair the file)", path, lineNo, err)
		}
		l.totals[e.UserID] += e.Points
		l.size += int64(len(line))
	}
}

// syncDir fsyncs a directory, making a file created in it durable. File
// systems that cannot sync a directory (EINVAL) are accepted.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	return errors.Join(err, d.Close())
}

// add appends e and syncs the file; it returns the member's new total. On
// an error the visit is not recorded: the partial entry is cut off.
func (l *ledger) add(e entry) (int, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, errLedgerClosed
	}
	_, err = l.f.Write(b)
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		if terr := l.f.Truncate(l.size); terr != nil {
			err = errors.Join(err, fmt.Errorf("cutting off the failed entry: %w", terr))
		}
		return 0, err
	}
	l.size += int64(len(b))
	l.totals[e.UserID] += e.Points
	return l.totals[e.UserID], nil
}

// errLedgerClosed is returned by add after Close.
var errLedgerClosed = errors.New("ledger closed")

// Close closes the file; its error (a failed final write-back) is the
// caller's to report.
func (l *ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

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
	// A binary built without cgo cannot reach PC/SC at all: say so at once
	// (ServePCSC would wait for the service forever).
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
