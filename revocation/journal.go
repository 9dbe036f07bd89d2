package revocation

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/mynacard/freespace/securefile"
)

// AuditRecord is one line of the local-stop journal: a stop or an unstop,
// who made it, when and why. The journal is append-only; it is both the
// persistent state of local stops and their audit log.
type AuditRecord struct {
	// Op is "stop" or "unstop".
	Op string `json:"op"`
	// Key is the card (or certificate) stopped or unstopped.
	Key Key `json:"key"`
	// At is when the operation was recorded, by the store's clock (UTC).
	At time.Time `json:"at"`
	// By names the operator who made it.
	By string `json:"by"`
	// Why is the operator's free text.
	Why string `json:"why"`
	// Reason is the stop's reason (an unstop repeats the stop's).
	Reason Reason `json:"reason"`
}

// entry is the active local stop a stop record makes.
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

// readJournalFrom reads the complete journal lines after pos and advances
// pos past them. reset is true when the journal was replaced or shrank
// (the records are then the whole journal, to be replayed from scratch).
// An unterminated last line is left for later: it is either a write in
// progress in another process or a line torn by a crash, which the next
// append terminates (it then fails its checksum and is skipped). atOpen
// logs it.
func (s *Store) readJournalFrom(pos *journalPos, atOpen bool) (recs []AuditRecord, reset bool, err error) {
	f, err := openStoreFile(filepath.Join(s.dir, journalName))
	if errors.Is(err, os.ErrNotExist) {
		reset = pos.off > 0
		*pos = journalPos{}
		return nil, reset, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("revocation: journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("revocation: journal: %w", err)
	}
	if id := fileIdentity(st); id != pos.id || st.Size() < pos.off {
		reset = pos.off > 0 || pos.id != 0
		*pos = journalPos{id: id}
	}
	if _, err := f.Seek(pos.off, io.SeekStart); err != nil {
		return nil, false, fmt.Errorf("revocation: journal: %w", err)
	}
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 && atOpen {
				s.log.Warn("revocation: ignoring torn last line of the local-stop journal (or a write in progress)", "line", pos.line+1)
			}
			return recs, reset, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("revocation: journal: %w", err)
		}
		pos.off += int64(len(line))
		pos.line++
		r, perr := parseJournalLine(bytes.TrimSuffix(line, []byte("\n")))
		if perr != nil {
			s.log.Warn("revocation: skipping corrupt line of the local-stop journal", "line", pos.line, "err", perr)
			continue
		}
		recs = append(recs, r)
	}
}

// replay applies journal records in order to the active stops.
func replay(stops map[Key]Entry, recs []AuditRecord) {
	for _, r := range recs {
		if r.Op == "stop" {
			stops[r.Key] = r.entry()
		} else {
			delete(stops, r.Key)
		}
	}
}
