// Package keys holds the key material of freespace: a Key type that never
// prints its bytes, references to named and versioned keys (KeyRef), the
// Provider interface through which keys come from a file, the environment
// or later an HSM, and the per-card diversification of master keys.
//
// Diversification (docs/PROTOCOL.md chapter 5) is the key-based KDF in
// counter mode of NIST SP 800-108 §5.1 with a CMAC PRF: AES-CMAC for AES
// master keys, TDEA-CMAC (NIST SP 800-38B, 64-bit block) for two-key 3DES
// master keys, whose output gets DES odd parity. The fixed input data is
//
//	Label || 00 || Context || [L]_32,  Label = "freespace card key",
//	Context = CUID (16 bytes) || AID (5..16 bytes)
//
// and L is the card key's length in bits. The CMAC and the KDF come from
// package secure (keys imports secure; secure never imports keys).
//
// The Label names the purpose of the derived key (DiversifyLabel): card
// keys of every key set use "freespace card key" (Diversify), Type D data
// keys of envelope format 02 use DataKeyLabel, "freespace data key", so a
// data key never equals a card key even under equal master bytes.
//
// Card-key sets (docs/PROTOCOL.md §5.3): the card keys of an AP form one
// set whose version n is the version of its master keys, all of them:
// the host takes every card key of a card at the version the card
// announces, never each key at its own latest version. VersionLister
// (Store, Env) lists the versions a provider holds; CheckSet and
// NewestCompleteSet tell which sets it holds whole.
// DiversifyFor derives under a label through any Provider (a
// LabelDiversifier derives inside, for an HSM).
//
// Key files (LoadFile) are opened as secrets with package securefile and
// parsed in place; every buffer that held a key's hex or bytes is wiped
// (see LoadFile for what Go cannot promise).
//
// The operator keeps one master key per purpose (for example "typea-enc"
// and "typea-mac"); the mock card stores only the diversified keys.
package keys
