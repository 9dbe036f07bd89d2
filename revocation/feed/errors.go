package feed

import "errors"

// Errors of a feed and its sources. Each condition has one sentinel;
// errors.Is matches it through any wrapping.
var (
	// ErrBadSignature: a feed file is unsigned, its signature does not
	// verify with the configured public key, or its content does not
	// match its size and hash in the signed index (docs/PROTOCOL.md
	// chapter 9.2).
	ErrBadSignature = errors.New("feed: bad or missing signature")
	// ErrFutureFeed: a signed feed dated further ahead of the local clock
	// than Syncer.MaxFuture allows: a publisher's (or this terminal's)
	// clock is wrong. Taking it would make the list look fresh for that
	// long and refuse every correctly dated feed after it as a replay.
	ErrFutureFeed = errors.New("feed: dated in the future")
	// ErrNotModified: a conditional fetch found the file unchanged.
	ErrNotModified = errors.New("feed: file not modified")
	// ErrNotFound: the source has no such file.
	ErrNotFound = errors.New("feed: file not found")
	// ErrTooLarge: a feed file exceeds its size limit; the error is a
	// *SizeError saying which file and which limit.
	ErrTooLarge = errors.New("feed: file too large")
	// ErrBadRedirect: an HTTPSource was redirected to a scheme other than
	// http or https, or from https down to plain http. Not retried.
	ErrBadRedirect = errors.New("feed: redirected to a refused scheme")
	// ErrConfig: a Syncer, Publisher or source used without what it
	// needs (no store, no source, no key, no directory or URL); the
	// error names the field.
	ErrConfig = errors.New("feed: invalid configuration")
)
