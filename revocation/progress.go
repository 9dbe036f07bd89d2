package revocation

import "iter"

// Phase names a long step of handling a list, for progress reports.
type Phase string

// The phases reported to a ProgressFunc. Download, read, verify and sign
// count bytes; apply and build count records.
const (
	// PhaseDownload is fetching a feed file, streamed into its hash and
	// parsed as it arrives (feed.Syncer), from a web host or a directory.
	PhaseDownload Phase = "download"
	// PhaseRead is reading a local list file (a publisher's master list,
	// an imported file).
	PhaseRead Phase = "read"
	// PhaseVerify is reading back and verifying a file already published
	// (the publisher's previous list, against its signed hash).
	PhaseVerify Phase = "verify"
	// PhaseApply is writing a list or delta into the store (Store.Apply,
	// Store.Compact).
	PhaseApply Phase = "apply"
	// PhaseBuild is writing a feed's list and delta files (feed.Publisher).
	PhaseBuild Phase = "build"
	// PhaseSign is signing a feed file (two passes over it).
	PhaseSign Phase = "sign"
)

// Bytes reports whether the phase counts bytes (else records).
func (p Phase) Bytes() bool { return p != PhaseApply && p != PhaseBuild }

// ProgressFunc receives progress reports: phase, the file worked on (a
// base name), and done of total units (bytes or records, see
// Phase.Bytes; total is -1 when unknown). It is called from the goroutine
// doing the work, every MiB or 64 Ki records and once at the end of each
// file (done == total then, when total is known); it must return quickly.
type ProgressFunc func(phase Phase, file string, done, total int64)

// progressRecords is how many records pass between two reports.
const progressRecords = 1 << 16

// countRecords wraps seq so that fn sees its progress (fn may be nil).
func countRecords[T any](seq iter.Seq[T], fn ProgressFunc, phase Phase, file string, total int64) iter.Seq[T] {
	if fn == nil {
		return seq
	}
	return func(yield func(T) bool) {
		var n int64
		for v := range seq {
			n++
			if n%progressRecords == 0 {
				fn(phase, file, n, total)
			}
			if !yield(v) {
				return
			}
		}
		fn(phase, file, n, total)
	}
}
