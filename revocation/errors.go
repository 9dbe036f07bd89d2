package revocation

import "errors"

// Errors of package revocation. Each condition has one sentinel, matched
// with errors.Is through any wrapping; the text carries the package
// prefix once.
var (
	// ErrMalformed is matched by every error reporting malformed input:
	// a list, delta, store file or feed index that cannot be parsed (see
	// ParseError).
	ErrMalformed = errors.New("revocation: malformed input")
	// ErrMalformedKey: a key that does not parse ("cuid:<32 hex>" or
	// "serial:<hex>"), or a serial number empty or longer than
	// MaxSerialLen bytes. (keys.ErrInvalidKey is another thing: a card
	// key.)
	ErrMalformedKey = errors.New("revocation: malformed key")
	// ErrInvalidReason: an unknown reason name or code.
	ErrInvalidReason = errors.New("revocation: invalid reason")
	// ErrInvalidStop: a stop or unstop without an operator name (By),
	// with over-long text, or with control characters in its text.
	ErrInvalidStop = errors.New("revocation: invalid local stop")

	// ErrReplay: an update older than (or as old as) the current list.
	ErrReplay = errors.New("revocation: update is not newer than the current list")
	// ErrOutOfSequence: a delta that does not follow the current list.
	ErrOutOfSequence = errors.New("revocation: delta does not follow the current list")
	// ErrStale: the list is older than the policy allows, so a key that is
	// not in it cannot be declared valid (fail closed).
	ErrStale = errors.New("revocation: list too old to decide")
	// ErrNeverSynced: the store holds no list at all. A check then fails
	// with an error matching both ErrStale and ErrNeverSynced, whatever
	// the policy: Policy.AllowStale admits cards on an old list, never on
	// none.
	ErrNeverSynced = errors.New("revocation: no list synced yet")
	// ErrAlreadyStopped: a local stop of a key already stopped locally.
	ErrAlreadyStopped = errors.New("revocation: already stopped locally")
	// ErrNotStopped: an unstop of a key that has no local stop.
	ErrNotStopped = errors.New("revocation: no local stop for this key")
	// ErrFeedRevocation: an attempt to undo a delivered revocation locally.
	ErrFeedRevocation = errors.New("revocation: a delivered revocation cannot be undone locally")

	// ErrNoStore: a read-only open of a directory that does not exist. A
	// checker never creates a store: a mistyped path is an error, not an
	// empty store. The error also matches os.ErrNotExist.
	ErrNoStore = errors.New("revocation: no store at this path")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("revocation: store closed")
	// ErrReadOnly: a write (Apply, Stop, Unstop, Compact) on a store
	// opened read-only (docs/PROTOCOL.md chapter 9.3).
	ErrReadOnly = errors.New("revocation: store opened read-only")
	// ErrLocked: another writer (in this or another process) held the
	// store's writer lock until the caller's context ended. The error
	// also matches the context's error (context.DeadlineExceeded or
	// context.Canceled).
	ErrLocked = errors.New("revocation: store locked by another writer")
)
