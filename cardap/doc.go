// Package cardap is the client integrators import: configure the card APs
// to accept (types, AIDs, keys, password policy), a revocation checker with
// its freshness policy, a clock and expiry rules, then Identify a card to get
// its holder's Identity or a typed reason to refuse it (revoked, expired,
// not personalized, unknown card, unproven, authentication failed, card
// removed, password required, wrong or blocked, a password mode that does
// not match the card's; canceled when the context ended first).
//
// Configuration is checked once, by New: every misconfiguration is an
// error wrapping ErrConfig that names the field, before any card is seen.
//
// # Identification is not authentication
//
// Every Identity says how the card proved itself (Identity.Proof): which
// AP answered, by which method, and whether the holder's password was
// verified. The Type C AP identifies, it does not authenticate: its CUID
// and user ID are readable by anyone in a second, with no key, and
// copyable to a blank card or a phone, and the copy answers exactly as
// the original (ProofNone). The Type A and D APs read the identity only
// after ISO/IEC 11770-2 mutual authentication with keys diversified from
// the operator's master keys (ProofMutualAuth): a copy of what a card lets
// anyone read does not pass it.
//
// The JPKI option (JPKI, JPKIConfig) works on every My Number Card,
// without operator keys: the card's public JPKI AP signs a fresh random
// challenge with its user-authentication key after the holder's 4-digit
// PIN, and the client checks the signature, the certificate's chain to
// the J-LIS CA certificates the operator configures, its validity and its
// revocation (by certificate revocation key, in the same revocation list;
// KeyChecker) before the PIN is asked (ProofSignature; package jpki,
// docs/PROTOCOL.md chapter 10). Verifying JPKI signatures as a business
// requires the minister's approval (JPKI Act §17).
//
// So a Client accepts only proven cards by default. New refuses a
// configuration without APs (there is no default AP) and one whose every
// AP proves nothing; Identify refuses an unproven card with ReasonUnproven
// (ErrUnproven). Config.AllowUnproven accepts unproven cards, for
// terminals that only need to know who is there (a library desk, loyalty
// points), never for doors, logins or money.
//
// Mutual authentication proves the card holds keys diversified from the
// operator's masters, nothing more: a terminal that holds the read-role
// master keys (typea-auth-*, typed-auth-*) can compute the read keys of
// every card of the operator, so whoever extracts them from one terminal
// can make cards that pass at every terminal. Keep the masters out of
// reach of the terminal's ordinary users (a key file readable by the
// terminal's service account only); the mitigation is a hardware security
// module that diversifies without ever releasing the masters (the
// project's HSM issue).
//
// # Serving readers
//
// Serve runs the loop every terminal needs over one or many card slots:
// wait for a card, identify it, let the integrator's handler decide, wait
// for the card to leave. Package cardap/pcsc runs it over the PC/SC
// readers of the machine (pcsc.Serve), surviving readers that come and go
// and pcscd restarts; it is a package of its own so that a program that
// never touches PC/SC does not link the PC/SC library (cardap does not
// import package reader). TapSlot presents simulated cards (for example
// mockcard cards) for demos and tests.
//
// A card that leaves the reader (or is reset or swapped) during a read is
// refused with ReasonCardRemoved, whatever else the failure looks like: a
// removal wins over every other reason in every AP path, so a terminal
// asks for the card again instead of calling a valid card unreadable.
//
// Config.Logger receives one record per decision; a refusal's record has
// its reason, the CUID when it was read, and the underlying error as the
// "error" attribute, on one line (control characters escaped, at most
// 1 KiB), never a password, key or user ID. The serve loops log a
// repeated failure of one reader (or of the PC/SC service) once per
// ServeOptions.WarnInterval (pcsc.Options.WarnInterval; default one
// minute) and count the repeats, which are reported with the next warning
// and when the reader recovers.
//
// The card side of everything here is specified in docs/PROTOCOL.md.
package cardap
