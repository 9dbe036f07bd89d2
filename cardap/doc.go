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
// The card side of everything here is specified in docs/PROTOCOL.md.
package cardap
