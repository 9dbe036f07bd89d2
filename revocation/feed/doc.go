// Package feed moves revocation lists between an operator and its
// terminals: it publishes the operator's master list as a signed feed any
// static web host, object store or CDN can serve ([Publisher]), syncs a
// terminal's [revocation.Store] from it ([Syncer] with a [Source]:
// [DirSource] for a directory or a USB stick, [HTTPSource] for a web
// host), and imports DER X.509 certificate revocation lists
// ([CRLParser]).
//
// A feed host is not trusted before the signature is checked: a Syncer
// verifies the index's Ed25519 signature with the configured public key,
// and bounds what it reads before that: the index to [MaxIndexSize], its
// signature to [SignatureSize], each listed file to its signed size
// (streamed into its hash); larger files are a [SizeError]. Every file
// must match its size and SHA-256 in the signed index, and nothing is
// applied to the store until every file needed is verified.
//
// Publishing and syncing hold no list in memory, whatever its size: the
// Publisher ([Publisher.PublishList]) merges the new list with its
// previous one as sorted streams, hashes each file as it writes it and
// signs it in two passes over it (an Ed25519 signature equal to
// crypto/ed25519's); the Syncer sorts a full list into temporary files
// in the store's directory as it downloads and verifies it. Ten million
// entries publish in under 80 MiB and sync into a new store in under 256
// MiB of resident memory, most of it the store's own lookup structures
// (docs/PERFORMANCE.md; a full list replacing one the store holds keeps
// both until the swap). Both report their long phases ([Publisher].Progress,
// [Syncer].Progress).
//
// Configuration mistakes (a zero DirSource or HTTPSource, a Syncer
// without a store or source, a Publisher without a key or directory) are
// errors wrapping [ErrConfig] that name the field.
//
// The feed format is specified in docs/PROTOCOL.md chapter 9.2.
package feed
