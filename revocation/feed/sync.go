package feed

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mynacard/freespace/revocation"
)

// Syncer brings a Store up to date from a signed feed. It fetches the
// signed index with a conditional request, verifies it with PublicKey,
// then downloads and verifies every file it needs (the deltas from the
// store's sequence, or the full list) before applying anything: an
// unsigned, forged, truncated, replayed or out-of-sequence feed is refused
// and the store left unchanged.
type Syncer struct {
	// Store is the store brought up to date; required.
	Store *revocation.Store
	// Source serves the feed (a *DirSource, an *HTTPSource or the
	// caller's own); required.
	Source Source
	// PublicKey verifies the feed's Ed25519 signatures.
	PublicKey ed25519.PublicKey
	// MaxFuture is how far a feed's as-of time may be ahead of the
	// store's clock (Options.Now) before the feed is refused with
	// ErrFutureFeed: 0 means DefaultMaxFuture, a negative value turns the
	// check off.
	MaxFuture time.Duration
	// Progress, when set, receives revocation.PhaseDownload reports as
	// each feed file is fetched and verified (bytes of its signed size).
	// The store reports the apply phase itself (revocation.Options.Progress).
	Progress revocation.ProgressFunc
	// SpoolRecords is how many records of a full list are sorted in
	// memory at a time while it is spooled to the store's directory
	// (revocation.TextParser.SpoolRecords); 0 means 262 144 (10 MiB).
	SpoolRecords int

	mu   sync.Mutex
	cond Validators // of the last index applied
}

// DefaultMaxFuture is the default Syncer.MaxFuture: a day, far more than
// any clock skew between a publisher and its terminals should be.
const DefaultMaxFuture = 24 * time.Hour

func (s *Syncer) maxFuture() time.Duration {
	if s.MaxFuture == 0 {
		return DefaultMaxFuture
	}
	return s.MaxFuture
}

// SyncResult says what a sync did.
type SyncResult struct {
	// From and To are the store's sequence before and after.
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	// Files lists the feed files applied (empty when up to date).
	Files []string `json:"files"`
	// NotModified is true when the index was unchanged since the last sync.
	NotModified bool `json:"not_modified"`
}

// Sync runs one sync. Concurrent calls are serialized. The store is first
// brought up to date with the directory (Store.Refresh), and an update
// that another process applied meanwhile is skipped, so several syncers
// (say a timer and an operator's `cardap revocation sync`) may share a
// store directory.
func (s *Syncer) Sync(ctx context.Context) (SyncResult, error) {
	switch {
	case s.Store == nil:
		return SyncResult{}, fmt.Errorf("%w: Syncer.Store is nil", ErrConfig)
	case s.Source == nil:
		return SyncResult{}, fmt.Errorf("%w: Syncer.Source is nil", ErrConfig)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Store.Refresh(ctx); err != nil {
		return SyncResult{}, err
	}
	cur := s.Store.Snapshot()
	res := SyncResult{From: cur.Seq(), To: cur.Seq()}
	head, validators, err := s.fetchIndex(ctx)
	if errors.Is(err, ErrNotModified) {
		res.NotModified = true
		return res, nil
	}
	if err != nil {
		return res, err
	}
	// §9.2 step 3: no feed from the future (a wrong clock), no replay.
	if limit := s.maxFuture(); limit >= 0 {
		if now := s.Store.Now(); head.AsOf.After(now.Add(limit)) {
			return res, fmt.Errorf("%w: feed at sequence %d is as of %s, the local clock says %s (at most %s ahead allowed)",
				ErrFutureFeed, head.Seq, head.AsOf.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), limit)
		}
	}
	switch {
	case head.Seq < cur.Seq() || head.AsOf.Before(cur.AsOf()):
		return res, fmt.Errorf("%w: feed at sequence %d (as of %s), store at %d", revocation.ErrReplay, head.Seq, head.AsOf, cur.Seq())
	case head.Seq == cur.Seq():
		s.cond = validators
		return res, nil
	}
	// §9.2 step 4: the deltas from the store's sequence when the index
	// lists them all, else the full list; each verified against its size
	// and hash as it is read.
	plan := deltaPlan(head, cur.Seq())
	if plan == nil {
		plan = []File{head.List}
	}
	updates := make([]*revocation.Update, 0, len(plan))
	defer func() {
		for _, u := range updates {
			u.Close()
		}
	}()
	for _, f := range plan {
		u, err := s.fetchUpdate(ctx, f)
		if err != nil {
			return res, err
		}
		updates = append(updates, u)
	}
	// Check the whole chain before applying any of it, so that a delta
	// refused halfway (say one dated before its predecessor) leaves the
	// store unchanged rather than partly advanced.
	seq, asOf := cur.Seq(), cur.AsOf()
	for i, u := range updates {
		if err := u.Follows(seq, asOf); err != nil {
			return res, fmt.Errorf("feed file %s: %w", plan[i].Name, err)
		}
		if u.AsOf.After(head.AsOf) {
			return res, fmt.Errorf("%w: %s is dated %s, after the index's %s", revocation.ErrOutOfSequence, plan[i].Name, u.AsOf.Format(time.RFC3339), head.AsOf.Format(time.RFC3339))
		}
		seq, asOf = u.Seq, u.AsOf
	}
	// §9.2 step 5: only now, everything verified, apply in order.
	for i, u := range updates {
		err := s.Store.Apply(ctx, u)
		if errors.Is(err, revocation.ErrReplay) && s.Store.Snapshot().Seq() >= u.Seq {
			continue // applied by another writer meanwhile
		}
		if err != nil {
			res.To = s.Store.Snapshot().Seq()
			return res, fmt.Errorf("apply feed file %s: %w", plan[i].Name, err)
		}
		res.Files = append(res.Files, plan[i].Name)
	}
	res.To = s.Store.Snapshot().Seq()
	s.cond = validators
	return res, nil
}

// fetchIndex fetches the index and its signature and verifies them
// (docs/PROTOCOL.md chapter 9.2 steps 1 and 2): the index conditionally
// (ErrNotModified when unchanged since the last sync), at most
// MaxIndexSize bytes; its signature exactly SignatureSize bytes and
// verified with PublicKey before anything in the index is used. It
// returns the index and its validators, for the next conditional fetch.
func (s *Syncer) fetchIndex(ctx context.Context) (*Index, Validators, error) {
	hf, err := s.Source.Fetch(ctx, IndexName, s.cond)
	if err != nil {
		return nil, Validators{}, err
	}
	index, err := readSmall(hf, IndexName, MaxIndexSize)
	if err != nil {
		return nil, Validators{}, err
	}
	sf, err := s.Source.Fetch(ctx, IndexName+SigSuffix, Validators{})
	if errors.Is(err, ErrNotFound) {
		return nil, Validators{}, fmt.Errorf("%w: %s has no signature file", ErrBadSignature, IndexName)
	}
	if err != nil {
		return nil, Validators{}, err
	}
	sig, err := readSmall(sf, IndexName+SigSuffix, SignatureSize)
	if errors.Is(err, ErrTooLarge) {
		return nil, Validators{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if err != nil {
		return nil, Validators{}, err
	}
	head, err := ParseIndex(index, sig, s.PublicKey)
	if err != nil {
		return nil, Validators{}, err
	}
	return head, hf.Validators, nil
}

// countingReader counts the bytes read through it and stops once ctx
// ends (a large list from a directory source is not read to its end after
// the caller gave up).
type countingReader struct {
	ctx    context.Context
	r      io.Reader
	n      int64
	report func(int64) // every MiB, when set
	last   int64
}

// Read reads and counts.
func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.report != nil && c.n-c.last >= 1<<20 {
		c.last = c.n
		c.report(c.n)
	}
	return n, err
}

// deltaPlan returns the deltas leading from seq to head.Seq, or nil when
// the index does not list all of them (or the store is empty).
func deltaPlan(head *Index, seq uint64) []File {
	if seq == 0 {
		return nil
	}
	var plan []File
	for next := seq + 1; next <= head.Seq; next++ {
		found := false
		for _, d := range head.Deltas {
			if d.Seq == next && d.Prev == next-1 {
				plan = append(plan, d)
				found = true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return plan
}

// Limits on what a Syncer reads from a feed before its signature is
// checked (see Source).
const (
	// MaxIndexSize bounds the signed index, feed.json.
	MaxIndexSize = maxHeadLen
	// SignatureSize is the size of every detached signature file.
	SignatureSize = ed25519.SignatureSize
)

// readSmall reads a whole small feed file, at most limit bytes, and
// closes it. A larger file (announced or read) is a *SizeError; reading
// stops at limit+1 bytes.
func readSmall(got *Fetched, name string, limit int64) ([]byte, error) {
	defer got.Body.Close()
	if got.Size > limit {
		return nil, &SizeError{Name: name, Limit: limit, Size: got.Size}
	}
	data, err := io.ReadAll(io.LimitReader(got.Body, limit+1))
	if errors.Is(err, ErrTooLarge) {
		return nil, err // the source's own limit
	}
	if err != nil {
		return nil, fmt.Errorf("feed: fetch %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, &SizeError{Name: name, Limit: limit, Size: int64(len(data))}
	}
	return data, nil
}

// fetchUpdate fetches the listed file f and parses it while streaming it
// into its hash: at most f.Size+1 bytes are read (a larger file is a
// *SizeError), none is kept beyond what the parser holds (a full list is
// spooled to temporary files in the store's directory, see
// revocation.TextParser.SpoolDir), and the parse is used only once size
// and hash match the signed index (a tampered file is ErrBadSignature,
// whatever the parser made of it).
func (s *Syncer) fetchUpdate(ctx context.Context, f File) (*revocation.Update, error) {
	return fetchParse(ctx, s.Source, f, revocation.TextParser{SpoolDir: s.Store.Dir(), SpoolRecords: s.SpoolRecords}, s.Progress, revocation.PhaseDownload)
}

// fetchParse fetches the listed file f from src and parses it with
// parser as fetchUpdate says. The caller closes the update.
func fetchParse(ctx context.Context, src Source, f File, parser revocation.TextParser, progress revocation.ProgressFunc, phase revocation.Phase) (_ *revocation.Update, err error) {
	got, err := src.Fetch(ctx, f.Name, Validators{})
	if err != nil {
		return nil, err
	}
	defer got.Body.Close()
	if got.Size > f.Size {
		return nil, &SizeError{Name: f.Name, Limit: f.Size, Size: got.Size}
	}
	h := sha256.New()
	cr := &countingReader{ctx: ctx, r: io.LimitReader(got.Body, f.Size+1)}
	if progress != nil {
		cr.report = func(n int64) { progress(phase, f.Name, n, f.Size) }
	}
	in := io.TeeReader(cr, h)
	u, perr := parser.Parse(in)
	defer func() {
		if err != nil && u != nil {
			u.Close()
		}
	}()
	// Hash what the parser left (it may stop at its end marker), still
	// within the limit.
	if _, err := io.Copy(io.Discard, in); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("feed: fetch %s: %w", f.Name, err)
	}
	if cr.n > f.Size {
		return nil, &SizeError{Name: f.Name, Limit: f.Size, Size: cr.n}
	}
	if cr.report != nil {
		cr.report(cr.n)
	}
	if err := f.verifySum(cr.n, h.Sum(nil)); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, fmt.Errorf("feed file %s: %w", f.Name, perr)
	}
	full := f.Prev == 0
	if u.Seq != f.Seq || u.Prev != f.Prev || u.Full != full {
		return nil, fmt.Errorf("%w: %s holds sequence %d->%d, index says %d->%d", revocation.ErrOutOfSequence, f.Name, u.Prev, u.Seq, f.Prev, f.Seq)
	}
	return u, nil
}
