// Package conformance is the card-behaviour table of the freespace profile
// (docs/PROTOCOL.md Appendix A) as data, and a runner that checks any card
// against it over an apdu.Transport.
//
// Table returns the requirements: each names the section of
// docs/PROTOCOL.md, the AP types, lifecycle and password configuration it
// applies to, the state to set up (MF or AP selected, a session under a
// key, a password verified, a challenge), the command APDU, and the status
// word, data and state change the profile requires. The same table drives
// the mock card's tests (every row passes against mockcard), Appendix A
// (Markdown renders it; a test fails when the document differs), and Run.
//
// Run is what a card vendor, a personalization bureau or an operator with a
// new card batch runs (`cardap conformance`):
//
//	rep, err := conformance.Run(ctx, card, conformance.Options{Type: profile.TypeA, Keys: provider})
//	for _, r := range rep.Results {
//		fmt.Println(r.Requirement.ID, r.Outcome, r.Observed, r.Reason)
//	}
//
// It is read-only by default: it never writes and never spends a password
// or key try, skipping the requirements that would (Skip). With
// Options.Destructive it runs them too, but only on a card whose FCI
// carries the test-card marker A5 { C2 04 "TEST" } (docs/PROTOCOL.md §1.4)
// or when the operator confirmed the card (Options.NotTestCardConfirmed);
// tries a conforming card spends are restored with the keys (and the
// password, when given). Requirements needing a session are skipped without
// the operator's keys.
//
// The runner follows 61xx with GET RESPONSE as every host does, and fails a
// requirement when the card used 61xx for a response that fits one short
// APDU, or did not for one that does not (§1.4). A card that leaves the
// reader fails the requirement it left in; the rest are skipped.
package conformance
