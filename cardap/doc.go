// Package cardap is the client integrators import: configure the card APs
// to accept (types, AIDs, keys, password policy), a revocation checker with
// its freshness policy, a clock and expiry rules, then Identify a card to get
// its holder's Identity or a typed reason to refuse it (revoked, expired,
// not personalized, unknown card, authentication failed, card removed,
// password required, wrong or blocked).
//
// Serve runs the loop every terminal needs over one or many card slots:
// wait for a card, identify it, let the integrator's handler decide, wait
// for the card to leave. Client.ServePCSC runs it over the PC/SC readers of
// the machine, surviving readers that come and go and pcscd restarts;
// TapSlot presents simulated cards (for example mockcard cards) for demos
// and tests.
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
// PCSCOptions.WarnInterval (default one minute) and count the repeats,
// which are reported with the next warning and when the reader recovers.
//
// The card side of everything here is specified in docs/PROTOCOL.md.
package cardap
