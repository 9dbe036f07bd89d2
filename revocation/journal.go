package revocation

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mynacard/freespace/securefile"
)

// AuditRecord is one line of the local-stop journal: a stop or an unstop,
// who made it, when and why. The journal is append-only; it is both the
// persistent state of local stops and their audit log.
type AuditRecord struct {
	Op     string    `json:"op"` // "stop" or "unstop"
	Key    Key       `json:"key"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Why    string    `json:"why"`
	Reason Reason    `json:"reason"`
}

// ErrInvalidStop is returned for a stop or unstop without an operator name,
// with over-long text, or with control characters in its text.
var ErrInvalidStop = errors.New("revocation: invalid local stop")

const maxStopText = 1024

// Stop records an urgent local stop of k, effective at once for every
// check in this process and persisted (fsynced) before Stop returns; other
// processes with the store open see it at their next refresh (about
// Options.RefreshInterval). by names the operator, why says why.
func (s *Store) Stop(ctx context.Context, k Key, reason Reason, by, why string) error {
	if err := validStop(k, by, why); err != nil {
		return err
	}
	if err := plainText(by, why); err != nil {
		return err
	}
	if reason >= numReasons {
		return fmt.Errorf("%w: %v", ErrInvalidReason, reason)
	}
	end, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer end()
	v := s.cur.Load()
	if _, ok := v.stops[k]; ok {
		return fmt.Errorf("%w: %s", ErrAlreadyStopped, k)
	}
	rec := AuditRecord{Op: "stop", Key: k, At: s.now().UTC(), By: by, Why: why, Reason: reason}
	if err := s.appendJournal(rec); err != nil {
		return err
	}
	stops := maps.Clone(v.stops)
	if stops == nil {
		stops = map[Key]Entry{}
	}
	stops[k] = rec.entry()
	s.cur.Store(&view{snap: v.snap, stops: stops})
	return nil
}

// Unstop lifts a local stop of k, recording who and why. A key revoked by
// the delivered list stays revoked: Unstop then fails with
// ErrFeedRevocation if k had no local stop.
func (s *Store) Unstop(ctx context.Context, k Key, by, why string) error {
	if err := validStop(k, by, why); err != nil {
		return err
	}
	if err := plainText(by, why); err != nil {
		return err
	}
	end, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer end()
	v := s.cur.Load()
	old, ok := v.stops[k]
	if !ok {
		if v.snap.Contains(k) {
			return fmt.Errorf("%w: %s", ErrFeedRevocation, k)
		}
		return fmt.Errorf("%w: %s", ErrNotStopped, k)
	}
	rec := AuditRecord{Op: "unstop", Key: k, At: s.now().UTC(), By: by, Why: why, Reason: old.Reason}
	if err := s.appendJournal(rec); err != nil {
		return err
	}
	stops := maps.Clone(v.stops)
	delete(stops, k)
	s.cur.Store(&view{snap: v.snap, stops: stops})
	return nil
}

func validStop(k Key, by, why string) error {
	switch {
	case !validKey(k):
		return fmt.Errorf("%w: %s", ErrInvalidKey, k)
	case strings.TrimSpace(by) == "":
		return fmt.Errorf("%w: who made it (by) is required", ErrInvalidStop)
	case len(by) > maxStopText || len(why) > maxStopText:
		return fmt.Errorf("%w: by and why are limited to %d bytes", ErrInvalidStop, maxStopText)
	case !utf8.ValidString(by) || !utf8.ValidString(why):
		return fmt.Errorf("%w: by and why must be UTF-8", ErrInvalidStop)
	}
	return nil
}

// plainText refuses control characters (newlines, escape sequences, C1
// controls) in the operator's text of a new stop or unstop, so that what
// is recorded prints as one plain line. Journals written before this
// check may hold such text: they still load, and readers escape it when
// they print it.
func plainText(by, why string) error {
	for _, s := range []string{by, why} {
		for _, r := range s {
			if unicode.IsControl(r) {
				return fmt.Errorf("%w: by and why may not hold control characters (%q)", ErrInvalidStop, s)
			}
		}
	}
	return nil
}

func (r AuditRecord) entry() Entry {
	return Entry{Key: r.Key, RevokedAt: r.At, Reason: r.Reason, Origin: OriginLocalStop, By: r.By, Why: r.Why}
}

// Journal line: 8 hex digits of the CRC-32C of the JSON, a space, the JSON
// object, a newline (docs/PROTOCOL.md chapter 9.3).
func marshalJournal(r AuditRecord) []byte {
	j, _ := json.Marshal(r) // cannot fail: plain fields
	line := make([]byte, 0, len(j)+10)
	line = fmt.Appendf(line, "%08x ", crc32.Checksum(j, castagnoli))
	line = append(line, j...)
	return append(line, '\n')
}

func parseJournalLine(line []byte) (AuditRecord, error) {
	var r AuditRecord
	if len(line) < 10 || line[8] != ' ' {
		return r, errors.New("no checksum")
	}
	var want [4]byte
	if _, err := hex.Decode(want[:], line[:8]); err != nil {
		return r, errors.New("bad checksum field")
	}
	j := line[9:]
	if crc32.Checksum(j, castagnoli) != uint32(want[0])<<24|uint32(want[1])<<16|uint32(want[2])<<8|uint32(want[3]) {
		return r, errors.New("checksum mismatch")
	}
	if err := json.Unmarshal(j, &r); err != nil {
		return r, err
	}
	if (r.Op != "stop" && r.Op != "unstop") || r.Reason >= numReasons || validStop(r.Key, r.By, r.Why) != nil {
		return r, errors.New("invalid record")
	}
	return r, nil
}

// appendJournal appends one record and fsyncs. A torn last line left by a
// crash is terminated first so the new record stays readable.
func (s *Store) appendJournal(r AuditRecord) error {
	path := filepath.Join(s.dir, journalName)
	// No symlink followed (root would append to a file of another user's
	// choosing), no FIFO or device, no file of another user.
	f, err := securefile.OpenFile(path, securefile.Policy{}, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("revocation: journal: %w", err)
	}
	defer f.Close()
	line := marshalJournal(r)
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], st.Size()-1); err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("revocation: journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("revocation: journal: %w", err)
	}
	if st, _ := f.Stat(); st != nil && st.Size() == int64(len(line)) {
		return syncDir(s.dir) // the journal was just created
	}
	return nil
}

// Audit returns every record of the local-stop journal in order, as it is
// on disk now (including records of other processes). Corrupt lines are
// skipped with a warning.
func (s *Store) Audit() ([]AuditRecord, error) {
	var pos journalPos
	recs, _, err := s.readJournalFrom(&pos, false)
	return recs, err
}

// closeWhenUnreachable closes f once b can no longer be reached, so that a
// reader holding an old snapshot can still read its metadata.
func closeWhenUnreachable(b *base, f *os.File) {
	runtime.AddCleanup(b, func(f *os.File) { f.Close() }, f)
}
