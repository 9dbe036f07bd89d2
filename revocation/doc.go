// Package revocation keeps the list of revoked cards that every gate, PC and
// terminal must refuse, offline too: the daily list delivered by the operator's
// business system, urgent local stops made at once, and lookups fast enough to
// check every tap against a national-scale list.
//
// Entries are keyed by the card-unique identifier (CUID, 16 bytes, see
// docs/PROTOCOL.md chapter 1) or, for integrations built on X.509
// certificates, by certificate serial number (up to 20 bytes). The two key
// spaces are separate; CUIDs take a compact fast path.
//
// The pieces:
//
//   - [Store]: one local directory holding the current list, the deltas
//     applied since, and the journal of local stops. Crash-safe and
//     checksummed; readers never block on a sync. [Store.Check] answers
//     whether a key is revoked and how old the list is ([Policy]); a
//     revoked key's [Entry] says why ([Reason]: lost, stolen, ...), from
//     where ([Origin]: the delivered list or a local stop) and since when.
//     [Store.Stop] and [Store.Unstop] make and lift urgent local stops
//     ([StopOptions], [UnstopOptions]), recorded in an audit journal.
//     Several processes may share one directory: writers take a lock file,
//     checkers open it with [Options].ReadOnly, and every open store
//     picks up the others' changes within about a second ([Store.Refresh]).
//     The directory must be owned by root or the running user and not
//     writable by others, and every file in it is opened without
//     following symbolic links and must be a regular file of root or that
//     user (refusals wrap *securefile.Error). A read-only open never
//     creates a store ([ErrNoStore]), and a store that never held a list
//     refuses every check whatever the policy ([ErrNeverSynced]).
//   - [Parser]: turns delivered data into an [Update] (a full list or a
//     delta) that [Store.Apply] takes. Built in: the CSV/TSV form of
//     docs/PROTOCOL.md chapter 9.1 ([TextParser], [WriteText], and record
//     by record [TextDecoder], [TextWriter]).
//   - Lists of any size in bounded memory: a [TextParser] with SpoolDir
//     sorts a full list into temporary files (an external merge sort,
//     10 MiB of records at a time) instead of holding it;
//     [Update.Records] reads it back in key order and [Store.Apply]
//     streams it into the store file. Long steps report progress
//     ([ProgressFunc], [Phase], [Options].Progress).
//
// Fetching, verifying and publishing signed feeds, and importing X.509
// CRLs, live in package revocation/feed, so a program that only checks
// (a gate, a PAM module) links neither an HTTP client nor crypto/x509.
//
// The on-disk and on-the-wire formats are specified in docs/PROTOCOL.md
// chapter 9.
package revocation
