package cardap

import (
	"bufio"
	"bytes"
	"container/list"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/securefile"
)

// GenerationMemory remembers, per card (CUID), the highest Type D
// generation this terminal has read (docs/PROTOCOL.md §7.4), so that a
// card that once showed generation N and later shows N-1 (an emulator or
// a restored EF image bringing back older rights) is refused with
// ReasonRollback and a *RollbackError. Set it in TypeDConfig.Generations.
//
// It lives in a state directory the operator configures, separate from
// the revocation store (which terminals open read-only), checked with
// package securefile (owned by root or the running user, not writable by
// others, no symbolic link); one process at a time may use a directory.
// It is bounded: at most MaxCards cards (when full, the card seen longest
// ago is forgotten) and a file of at most GenerationFileMax(MaxCards)
// bytes. A raised generation is on disk before the read is reported; a
// crash loses at most the record being written, and any other damage
// makes OpenGenerationMemory fail: the memory never silently forgets.
//
// The memory protects only the cards and generations this terminal saw;
// terminals that do not share state do not protect each other. It is safe
// for concurrent use.
type GenerationMemory struct {
	// The state is one file, GenerationFile: an 8-byte header (genMagic),
	// then an append-only log of fixed 24-byte records (CUID, generation,
	// CRC-32), fsynced before Observe reports a raised generation. A torn
	// last record (a crash mid-append) is ignored on load; any other bad
	// record fails the open. The log is compacted, beyond twice MaxCards
	// records, by writing a new file (created exclusively, 0600, fsynced)
	// and renaming it over the old one. GenerationLockFile is held (flock,
	// Unix) while the memory is open.
	mu      sync.Mutex
	dir     string
	path    string
	f       *os.File // the log, open for appending
	lock    io.Closer
	max     int
	seen    map[profile.CUID]*list.Element // of genEntry
	recency *list.List                     // most recently seen first
	records int                            // records in the log file
	closed  bool
}

type genEntry struct {
	cuid profile.CUID
	gen  uint32
}

// GenerationMemoryOptions tune OpenGenerationMemory.
type GenerationMemoryOptions struct {
	// MaxCards bounds the number of cards remembered (0:
	// DefaultGenerationMaxCards; at most 1<<20). When it is reached, the
	// card seen longest ago is forgotten.
	MaxCards int
}

// Names and bounds of the generation memory.
const (
	// GenerationFile is the log in the state directory.
	GenerationFile = "typed-generations.log"
	// GenerationLockFile is held while a memory is open (Unix).
	GenerationLockFile = "typed-generations.lock"
	// DefaultGenerationMaxCards is MaxCards when none is given: 2.4 MB of
	// records at most.
	DefaultGenerationMaxCards = 50000
	maxGenerationCards        = 1 << 20

	genRecordLen = 24
	genTmpSuffix = ".tmp"
)

var genMagic = [8]byte{'F', 'S', 'G', 'E', 'N', '0', '1', '\n'}

// GenerationFileMax is the largest the log grows for maxCards: the header
// and twice maxCards records (it is compacted beyond).
func GenerationFileMax(maxCards int) int64 {
	return int64(len(genMagic)) + 2*int64(maxCards)*genRecordLen
}

// ErrGenerationState is wrapped by OpenGenerationMemory and by Observe when
// the state file is damaged or cannot be written.
var ErrGenerationState = errors.New("cardap: generation memory")

// RollbackError is a card whose Type D data is an older generation than
// this terminal read from it before (ReasonRollback).
type RollbackError struct {
	CUID profile.CUID // the card
	Seen uint32       // the highest generation read from this card before
	Got  uint32       // the generation it presents now
}

// Error names the card and both generations.
func (e *RollbackError) Error() string {
	return fmt.Sprintf("cardap: card %s presents Type D generation %d, this terminal read generation %d from it before", e.CUID, e.Got, e.Seen)
}

// Is matches ErrRollback.
func (e *RollbackError) Is(target error) bool { return target == ErrRollback }

// OpenGenerationMemory opens (creating it when missing) the generation
// memory in dir, which must exist and pass securefile.CheckDir.
func OpenGenerationMemory(dir string, opts GenerationMemoryOptions) (*GenerationMemory, error) {
	if opts.MaxCards == 0 {
		opts.MaxCards = DefaultGenerationMaxCards
	}
	if opts.MaxCards < 1 || opts.MaxCards > maxGenerationCards {
		return nil, configErr("MaxCards", "%d, want 1 to %d", opts.MaxCards, maxGenerationCards)
	}
	if err := securefile.CheckDir(dir, securefile.Policy{}); err != nil {
		return nil, fmt.Errorf("%w: state directory: %w", ErrGenerationState, err)
	}
	lock, err := lockGenerations(filepath.Join(dir, GenerationLockFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGenerationState, err)
	}
	m := &GenerationMemory{dir: dir, path: filepath.Join(dir, GenerationFile), lock: lock, max: opts.MaxCards,
		seen: map[profile.CUID]*list.Element{}, recency: list.New()}
	if err := m.load(); err != nil {
		if m.f != nil {
			m.f.Close()
		}
		lock.Close()
		return nil, err
	}
	return m, nil
}

// load replays the log, then compacts it when it holds a torn record or
// more records than the bound allows.
func (m *GenerationMemory) load() error {
	f, err := securefile.OpenFile(m.path, securefile.Policy{}, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrGenerationState, err)
	}
	m.f = f
	// Replaying is linear in the file; no file this package writes is
	// larger than the largest bound.
	if fi, err := f.Stat(); err != nil {
		return fmt.Errorf("%w: %w", ErrGenerationState, err)
	} else if fi.Size() > GenerationFileMax(maxGenerationCards) {
		return fmt.Errorf("%w: %s holds %d bytes, more than any generation memory", ErrGenerationState, m.path, fi.Size())
	}
	r := bufio.NewReader(f)
	var head [len(genMagic)]byte
	n, err := io.ReadFull(r, head[:])
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		// A new file: write the header.
		return m.compact()
	case err != nil || head != genMagic:
		return fmt.Errorf("%w: %s is not a generation memory file", ErrGenerationState, m.path)
	}
	torn := false
	var rec [genRecordLen]byte
	for {
		_, err := io.ReadFull(r, rec[:])
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			torn = true // a record cut short by a crash
			break
		}
		if err != nil {
			return fmt.Errorf("%w: reading %s: %w", ErrGenerationState, m.path, err)
		}
		if crc32.ChecksumIEEE(rec[:20]) != binary.BigEndian.Uint32(rec[20:]) {
			// Only the last record may be damaged (a crash mid-append).
			if _, perr := r.Peek(1); perr == nil {
				return fmt.Errorf("%w: %s: damaged record %d", ErrGenerationState, m.path, m.records+1)
			}
			torn = true
			break
		}
		m.records++
		var c profile.CUID
		copy(c[:], rec[:16])
		m.remember(c, binary.BigEndian.Uint32(rec[16:20]))
	}
	if torn || m.records > 2*m.max {
		return m.compact()
	}
	return nil
}

// remember raises the generation of c in memory (never lowers it) and
// marks c most recently seen, forgetting the card seen longest ago when
// the bound is exceeded. It reports whether the stored generation rose.
func (m *GenerationMemory) remember(c profile.CUID, gen uint32) bool {
	if el, ok := m.seen[c]; ok {
		m.recency.MoveToFront(el)
		e := el.Value.(*genEntry)
		if gen <= e.gen {
			return false
		}
		e.gen = gen
		return true
	}
	m.seen[c] = m.recency.PushFront(&genEntry{cuid: c, gen: gen})
	if m.recency.Len() > m.max {
		oldest := m.recency.Back()
		m.recency.Remove(oldest)
		delete(m.seen, oldest.Value.(*genEntry).cuid)
	}
	return true
}

// Highest returns the highest generation remembered for cuid.
func (m *GenerationMemory) Highest(cuid profile.CUID) (uint32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.seen[cuid]
	if !ok {
		return 0, false
	}
	return el.Value.(*genEntry).gen, true
}

// Observe checks a generation read from a card: lower than the highest
// remembered for its CUID is a *RollbackError (nothing is recorded);
// higher is recorded durably (appended and fsynced) before Observe
// returns. An error writing the state is ErrGenerationState: the caller
// refuses the card (fail closed).
func (m *GenerationMemory) Observe(cuid profile.CUID, gen uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.f == nil {
		return fmt.Errorf("%w: %s is closed", ErrGenerationState, m.path)
	}
	if el, ok := m.seen[cuid]; ok && gen < el.Value.(*genEntry).gen {
		return &RollbackError{CUID: cuid, Seen: el.Value.(*genEntry).gen, Got: gen}
	}
	if !m.remember(cuid, gen) {
		return nil
	}
	if m.records+1 > 2*m.max {
		return m.compact()
	}
	if _, err := m.f.Write(genRecord(cuid, gen)); err != nil {
		return fmt.Errorf("%w: appending to %s: %w", ErrGenerationState, m.path, err)
	}
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("%w: syncing %s: %w", ErrGenerationState, m.path, err)
	}
	m.records++
	return nil
}

// compact writes the remembered generations to a new file (exclusive,
// 0600, fsynced), renames it over the log, syncs the directory and
// reopens the log for appending.
func (m *GenerationMemory) compact() error {
	tmp := m.path + genTmpSuffix
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrGenerationState, err)
	}
	// Oldest first, so that a replay rebuilds the same recency order.
	var buf bytes.Buffer
	buf.Write(genMagic[:])
	for el := m.recency.Back(); el != nil; el = el.Prev() {
		e := el.Value.(*genEntry)
		buf.Write(genRecord(e.cuid, e.gen))
	}
	if err := securefile.WriteSecret(tmp, buf.Bytes()); err != nil {
		return fmt.Errorf("%w: %w", ErrGenerationState, err)
	}
	if err := os.Rename(tmp, m.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: %w", ErrGenerationState, err)
	}
	if d, err := os.Open(m.dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("%w: syncing %s: %w", ErrGenerationState, m.dir, err)
		}
	}
	if m.f != nil {
		m.f.Close()
	}
	f, err := securefile.OpenFile(m.path, securefile.Policy{}, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		m.f = nil // every later Observe fails: fail closed
		return fmt.Errorf("%w: %w", ErrGenerationState, err)
	}
	m.f, m.records = f, m.recency.Len()
	return nil
}

// genRecord encodes one record: CUID (16), generation (4), CRC-32 (IEEE)
// of the 20 bytes before it (4).
func genRecord(c profile.CUID, gen uint32) []byte {
	rec := make([]byte, genRecordLen)
	copy(rec[:16], c[:])
	binary.BigEndian.PutUint32(rec[16:20], gen)
	binary.BigEndian.PutUint32(rec[20:], crc32.ChecksumIEEE(rec[:20]))
	return rec
}

// Close closes the log and releases the directory.
func (m *GenerationMemory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	var err error
	if m.f != nil {
		err = m.f.Close()
	}
	return errors.Join(err, m.lock.Close())
}
