package revocation

import (
	"fmt"
	"io"
	"iter"
	"slices"
	"time"
)

// ParseError reports malformed input with where it was found. Line is
// 1-based for text input (0 when not applicable); Offset is the byte offset
// for binary input (-1 when not known).
type ParseError struct {
	// Source is what was parsed, e.g. "text", "crl", "store file".
	Source string
	// Line is the 1-based line of text input, 0 when not applicable.
	Line int
	// Offset is the byte offset in binary input, -1 when not known.
	Offset int64
	// Msg says what is wrong.
	Msg string
	// Err is the underlying cause, or nil.
	Err error
}

// Error formats the error with its location.
func (e *ParseError) Error() string {
	loc := ""
	switch {
	case e.Line > 0:
		loc = fmt.Sprintf(" line %d:", e.Line)
	case e.Offset >= 0:
		loc = fmt.Sprintf(" offset %d:", e.Offset)
	}
	s := fmt.Sprintf("revocation: malformed %s:%s %s", e.Source, loc, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrMalformed and the underlying cause.
func (e *ParseError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrMalformed, e.Err}
	}
	return []error{ErrMalformed}
}

// Update is one delivery: either a full list (Full, only Add) or a delta
// from sequence Prev to Seq (Add and Remove).
type Update struct {
	// Full is true for a full list (it replaces the current one), false
	// for a delta.
	Full bool
	// Seq is the sequence number of the list after this update; it grows by
	// one per delivery.
	Seq uint64
	// Prev is, for a delta, the sequence number it applies to (Seq-1).
	Prev uint64
	// AsOf is when the list was current at the publisher.
	AsOf time.Time
	// Add holds the revocations (the whole list for a full update).
	Add []Record
	// Remove holds keys whose revocation the publisher withdrew (delta only).
	Remove []Key

	// spool, when set, holds a full list's records on disk instead of
	// Add (TextParser.SpoolDir).
	spool *spool
}

// Records yields the records added (for a full list: every record), in
// key order once the update is normalized (Store.Apply and the parsers
// normalize). For a list parsed with TextParser.SpoolDir they are read
// from its temporary files, and a key listed twice ends the sequence with
// a *ParseError in *errp, as does an I/O error.
func (u *Update) Records(errp *error) iter.Seq[Record] {
	if u.spool != nil {
		return u.spool.records(errp)
	}
	return slices.Values(u.Add)
}

// Len is the number of records added plus the number removed.
func (u *Update) Len() int {
	if u.spool != nil {
		return int(u.spool.n)
	}
	return len(u.Add) + len(u.Remove)
}

// countCUIDs is the number of CUID records added.
func (u *Update) countCUIDs() uint64 {
	if u.spool != nil {
		return u.spool.cuids
	}
	return countCUIDs(u.Add)
}

// Close releases the temporary files of a list parsed with
// TextParser.SpoolDir (its records can no longer be read); it does
// nothing for other updates (and for a nil *Update).
func (u *Update) Close() error {
	if u == nil || u.spool == nil {
		return nil
	}
	err := u.spool.close()
	u.spool = nil
	return err
}

// Parser turns delivered data into an Update. Implementations refuse
// malformed input with a *ParseError and return no partial Update.
type Parser interface {
	Parse(r io.Reader) (*Update, error)
}

// Normalize sorts Add and Remove by key (in place) and checks that the
// update is consistent (docs/PROTOCOL.md chapter 9.1): a sequence number,
// an as-of time, a full list without removals or a delta growing the
// sequence by one, known reasons, no duplicate keys and no key both added
// and removed. An inconsistent update is a *ParseError. Store.Apply and
// the built-in parsers normalize what they take; a Parser written outside
// this package should call it before returning.
func (u *Update) Normalize() error { return u.normalize("update") }

// Follows reports whether u may be applied to a list at sequence seq as
// of asOf (docs/PROTOCOL.md chapter 9.3): ErrReplay when u is not newer
// (by sequence or by date), ErrOutOfSequence when u is a delta from
// another sequence.
func (u *Update) Follows(seq uint64, asOf time.Time) error { return follows(seq, asOf, u) }

// normalize sorts Add and Remove and checks the update is consistent:
// sequence numbers, no duplicate keys, no key both added and removed.
func (u *Update) normalize(source string) error {
	bad := func(format string, a ...any) error {
		return &ParseError{Source: source, Offset: -1, Msg: fmt.Sprintf(format, a...)}
	}
	if u.Seq == 0 {
		return bad("sequence number 0")
	}
	if u.Full {
		if u.Prev != 0 || len(u.Remove) > 0 || (u.spool != nil && len(u.Add) > 0) {
			return bad("a full list has no previous sequence and no removals")
		}
	} else if u.Prev+1 != u.Seq {
		return bad("delta from %d to %d: sequence must grow by one", u.Prev, u.Seq)
	}
	if u.AsOf.IsZero() {
		return bad("missing as-of time")
	}
	for _, r := range u.Add {
		if !validKey(r.Key) {
			return bad("invalid key %s", r.Key)
		}
		if r.Reason >= numReasons {
			return bad("key %s: unknown reason code %d", r.Key, uint8(r.Reason))
		}
	}
	for _, k := range u.Remove {
		if !validKey(k) {
			return bad("invalid key %s", k)
		}
	}
	slices.SortFunc(u.Add, func(a, b Record) int { return compareKeys(a.Key, b.Key) })
	for i := 1; i < len(u.Add); i++ {
		if u.Add[i].Key == u.Add[i-1].Key {
			return bad("duplicate key %s", u.Add[i].Key)
		}
	}
	slices.SortFunc(u.Remove, compareKeys)
	for i := 1; i < len(u.Remove); i++ {
		if u.Remove[i] == u.Remove[i-1] {
			return bad("duplicate removal %s", u.Remove[i])
		}
	}
	i, j := 0, 0
	for i < len(u.Add) && j < len(u.Remove) {
		switch c := compareKeys(u.Add[i].Key, u.Remove[j]); {
		case c == 0:
			return bad("key %s both added and removed", u.Remove[j])
		case c < 0:
			i++
		default:
			j++
		}
	}
	return nil
}
