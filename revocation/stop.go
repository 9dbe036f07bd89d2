package revocation

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"unicode"
	"unicode/utf8"
)

const maxStopText = 1024

// StopOptions describe one local stop: why the card is stopped and who
// stops it. By is required; every field is recorded in the store's
// journal, its audit log.
type StopOptions struct {
	// Reason is why the card is stopped (ReasonLost, ReasonStolen, ...);
	// the zero value is ReasonUnspecified.
	Reason Reason
	// By names the operator who makes the stop; required. At most 1024
	// bytes of UTF-8 without control characters.
	By string
	// Why is the operator's free text (a ticket number, a call). At most
	// 1024 bytes of UTF-8 without control characters.
	Why string
}

// UnstopOptions describe the lifting of a local stop: who lifts it and
// why. By is required; both are recorded in the journal.
type UnstopOptions struct {
	// By names the operator who lifts the stop; required, as
	// StopOptions.By.
	By string
	// Why is the operator's free text, as StopOptions.Why.
	Why string
}

// Stop records an urgent local stop of k (docs/PROTOCOL.md chapter 9.4),
// effective at once for every check in this process and persisted
// (fsynced) before Stop returns; other processes with the store open see
// it at their next refresh (about Options.RefreshInterval).
func (s *Store) Stop(ctx context.Context, k Key, opts StopOptions) error {
	// A new record is checked twice: validStop is also what a journal
	// line must pass to load, plainText only what new records must pass
	// (older journals may hold control characters; readers escape them).
	if err := validStop(k, opts.By, opts.Why); err != nil {
		return err
	}
	if err := plainText(opts.By, opts.Why); err != nil {
		return err
	}
	if opts.Reason >= numReasons {
		return fmt.Errorf("%w: %d", ErrInvalidReason, uint8(opts.Reason))
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
	rec := AuditRecord{Op: "stop", Key: k, At: s.now().UTC(), By: opts.By, Why: opts.Why, Reason: opts.Reason}
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
func (s *Store) Unstop(ctx context.Context, k Key, opts UnstopOptions) error {
	// A new record is checked twice: validStop is also what a journal
	// line must pass to load, plainText only what new records must pass
	// (older journals may hold control characters; readers escape them).
	if err := validStop(k, opts.By, opts.Why); err != nil {
		return err
	}
	if err := plainText(opts.By, opts.Why); err != nil {
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
	rec := AuditRecord{Op: "unstop", Key: k, At: s.now().UTC(), By: opts.By, Why: opts.Why, Reason: old.Reason}
	if err := s.appendJournal(rec); err != nil {
		return err
	}
	stops := maps.Clone(v.stops)
	delete(stops, k)
	s.cur.Store(&view{snap: v.snap, stops: stops})
	return nil
}

// validStop checks the key and the operator's text of a stop or unstop
// (docs/PROTOCOL.md chapter 9.4: by is required, both are bounded plain
// text).
func validStop(k Key, by, why string) error {
	switch {
	case !validKey(k):
		return fmt.Errorf("%w: %s", ErrMalformedKey, k)
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
