package conformance

import (
	"fmt"
	"strings"
)

// Lifecycle is the lifecycle state a requirement applies in
// (docs/PROTOCOL.md chapter 8).
type Lifecycle uint8

const (
	// AnyLifecycle: the requirement holds in both states.
	AnyLifecycle Lifecycle = iota
	// Sealed: the AP is operational (ACTIVATE FILE done).
	Sealed
	// Personalization: the AP is freshly loaded, not sealed yet.
	Personalization
)

// String returns "any", "sealed" or "personalization".
func (l Lifecycle) String() string {
	switch l {
	case Sealed:
		return "sealed"
	case Personalization:
		return "personalization"
	}
	return "any"
}

// PasswordCond is the password configuration a requirement applies to
// (docs/PROTOCOL.md §3.3, §6.4).
type PasswordCond uint8

const (
	// AnyPassword: with or without a password.
	AnyPassword PasswordCond = iota
	// NoPassword: the AP has no password 81.
	NoPassword
	// WithPassword: the AP has a password 81, whatever its mode.
	WithPassword
	// AfterAuthPassword: the AP has a password 81 that it takes under
	// secure messaging only (the default mode).
	AfterAuthPassword
)

// String returns "", "no password", "password" or "password after auth".
func (p PasswordCond) String() string {
	switch p {
	case NoPassword:
		return "no password"
	case WithPassword:
		return "password"
	case AfterAuthPassword:
		return "password after auth"
	}
	return ""
}

// State is what the runner sets up, from scratch, before a requirement's
// command: it selects the MF or the AP (which clears the security state,
// §1.4), then optionally an EF, a challenge, a mutual authentication, a
// protected VERIFY of the password and a second authentication.
type State struct {
	// MF selects the MF instead of the AP.
	MF bool
	// Key, when non-zero, is the key reference to authenticate with
	// (GET CHALLENGE, MUTUAL AUTHENTICATE): the runner needs the
	// operator's keys.
	Key byte
	// Verified verifies the password under secure messaging (the runner
	// needs it).
	Verified bool
	// Reauth authenticates once more with Key after Verified.
	Reauth bool
	// EF, when non-zero, is selected (P2 0C) after the rest, protected
	// when a session is open.
	EF uint16
	// Challenge asks a GET CHALLENGE last.
	Challenge bool
	// Plain sends the command in plain although a session is open.
	Plain bool
}

// String describes the state for the table, e.g. "AP, key 01, EF 0004".
func (s State) String() string {
	parts := []string{"AP"}
	if s.MF {
		parts = []string{"MF"}
	}
	if s.Key != 0 {
		parts = append(parts, fmt.Sprintf("session key %02X", s.Key))
	}
	if s.Verified {
		parts = append(parts, "password verified")
	}
	if s.Reauth {
		parts = append(parts, fmt.Sprintf("authenticated again key %02X", s.Key))
	}
	if s.EF != 0 {
		parts = append(parts, fmt.Sprintf("EF %04X", s.EF))
	}
	if s.Challenge {
		parts = append(parts, "challenge")
	}
	if s.Plain {
		parts = append(parts, "command plain")
	}
	return strings.Join(parts, ", ")
}

// Step is a command and the answer the profile requires.
type Step struct {
	// Command is the command APDU in hex, with the placeholders of
	// Expand: {LcAID} (Lc then the AP's AID), {MA} (Lc and a zero
	// cryptogram of the suite's length), and the actions {AUTH:kk}
	// (a complete mutual authentication with key kk) and {REPLAY:kk}
	// (a MUTUAL AUTHENTICATE with key kk whose M_IFD is right but whose S
	// carries another RND.ICC).
	Command string
	// Protected sends the command under the open session.
	Protected bool
	// SW is the status word, "63C?" for any x, alternatives with "|".
	SW string
	// Data is the pattern of the response data (Match): empty for none.
	Data string
	// Via61 requires the card's first answer to be 61xx (a response of
	// more than 256 bytes to a short APDU).
	Via61 bool
}

// Requirement is one row of the card-behaviour table (docs/PROTOCOL.md
// Appendix A).
type Requirement struct {
	// ID is stable: tools and reports refer to it.
	ID string
	// Section of docs/PROTOCOL.md.
	Section string
	// APs are the AP types it applies to: "A", "C", "D" or several.
	APs string
	// Lifecycle and Password restrict the APs it applies to.
	Lifecycle Lifecycle
	Password  PasswordCond
	// State is set up before the command.
	State State
	// Step is the command and the required answer.
	Step
	// Then, when set, is a second command checking the state change.
	Then *Step
	// Change is the state change the profile requires, in words.
	Change string
	// Destructive marks a requirement that writes, or that spends a try
	// on a card that does not conform: run only with --destructive.
	Destructive bool
}

// AppliesTo reports whether the requirement applies to AP type t ('A',
// 'C' or 'D').
func (r Requirement) AppliesTo(t byte) bool { return strings.IndexByte(r.APs, t) >= 0 }

// NeedsKeys reports whether the runner needs the operator's keys.
func (r Requirement) NeedsKeys() bool {
	action := func(s Step) bool {
		return strings.Contains(s.Command, "{AUTH:") || strings.Contains(s.Command, "{REPLAY:")
	}
	// A destructive cryptogram spends a key try that only a successful
	// authentication restores.
	return r.State.Key != 0 || action(r.Step) || (r.Then != nil && action(*r.Then)) ||
		(r.Destructive && strings.Contains(r.Command, "{MA}"))
}

// Table returns the card-behaviour table of docs/PROTOCOL.md (Appendix
// A): the one place it is kept. The mock card's tests run every row, a
// test checks that Appendix A shows exactly these rows, and the runner
// checks any card against them.
func Table() []Requirement {
	sel := State{}
	mf := State{MF: true}
	chal := State{Challenge: true}
	s1 := State{Key: 0x01}
	return []Requirement{
		// §1.4: SELECT.
		{ID: "SELECT-MF", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 A4 00 0C", SW: "9000"}, Change: "security state cleared"},
		{ID: "SELECT-MF-FCI", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 A4 00 00 00", SW: "9000", Data: "6F 04 83 02 3F 00"}},
		{ID: "SELECT-AP", Section: "1.4", APs: "ACD", State: mf, Step: Step{Command: "00 A4 04 0C {LcAID}", SW: "9000"}, Change: "AP selected, security state cleared"},
		{ID: "SELECT-AP-FCI", Section: "1.4", APs: "ACD", State: mf, Step: Step{Command: "00 A4 04 00 {LcAID} 00", SW: "9000", Data: "6F .. 84 {LAID} {AID} *"}},
		{ID: "SELECT-AP-FCI-CUID", Section: "6.1", APs: "AD", State: mf, Step: Step{Command: "00 A4 04 00 {LcAID} 00", SW: "9000", Data: "6F .. 84 {LAID} {AID} 85 10 {CUID} *"}},
		{ID: "SELECT-AP-FCP", Section: "1.4", APs: "ACD", State: mf, Step: Step{Command: "00 A4 04 04 {LcAID} 00", SW: "9000", Data: "62 .. 84 {LAID} {AID}"}},
		{ID: "SELECT-AP-FCI-SHORT-LE", Section: "1.4", APs: "ACD", State: mf, Step: Step{Command: "00 A4 04 00 {LcAID} 01", SW: "6C??"}, Change: "not executed"},
		{ID: "SELECT-AP-ABSENT", Section: "1.4", APs: "ACD", State: mf, Step: Step{Command: "00 A4 04 0C 0B F0 46 52 45 45 53 50 41 43 45 5A", SW: "6A82"}},
		{ID: "SELECT-EF-FCP", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 A4 02 04 02 00 01 00", SW: "9000", Data: "62 .. 80 * 82 01 01 83 02 00 01"}},
		{ID: "SELECT-EF-FCI", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 A4 02 00 02 00 01 00", SW: "9000", Data: "6F .. 80 * 82 01 01 83 02 00 01"}},
		{ID: "SELECT-EF-ABSENT", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 A4 02 0C 02 7F 7F", SW: "6A82"}},
		// §1.2, §1.4: READ BINARY and the length rules, on EF.CUID.
		{ID: "READ-CUID-SFI", Section: "1.2", APs: "ACD", State: sel, Step: Step{Command: "00 B0 81 00 10", SW: "9000", Data: "{CUID}"}, Change: "EF.CUID current"},
		{ID: "READ-CUID-WILDCARD", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 B0 81 00 00", SW: "9000", Data: "{CUID}"}},
		{ID: "READ-CUID-LONG-LE", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 B0 81 00 20", SW: "6282", Data: "{CUID}"}},
		{ID: "READ-AT-END", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 B0 81 10 00", SW: "6282"}},
		{ID: "READ-PAST-END", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 B0 81 11 01", SW: "6B00"}},
		{ID: "READ-NO-CURRENT-EF", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 B0 00 00 01", SW: "6986"}},
		{ID: "READ-CUID-FID", Section: "1.2", APs: "ACD", State: State{EF: 0x0001}, Step: Step{Command: "00 B0 00 00 10", SW: "9000", Data: "{CUID}"}},
		{ID: "UPDATE-CUID", Section: "2.1", APs: "ACD", State: sel, Step: Step{Command: "00 D6 81 00 01 00", SW: "6982"}, Destructive: true},
		// §1.4: classes, instructions, GET RESPONSE.
		{ID: "INS-UNKNOWN", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 CA 01 01 00", SW: "6D00"}},
		{ID: "CLA-PROPRIETARY", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "80 B0 81 00 10", SW: "6E00"}},
		{ID: "CLA-CHANNEL", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "01 B0 81 00 10", SW: "6881"}},
		{ID: "CLA-SM-INDICATION", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "08 B0 81 00 10", SW: "6882"}},
		{ID: "GET-RESPONSE-NOTHING", Section: "1.4", APs: "ACD", State: sel, Step: Step{Command: "00 C0 00 00 05", SW: "6985"}},
		// §2: Type C.
		{ID: "C-READ-IDENTITY", Section: "2.2", APs: "C", State: sel, Step: Step{Command: "00 B0 82 00 00", SW: "9000|6282", Data: "*"}},
		{ID: "C-NO-KEYS", Section: "2.1", APs: "C", State: sel, Step: Step{Command: "00 84 00 00 08", SW: "6985"}},
		// §3.1: GET CHALLENGE and the order of MUTUAL AUTHENTICATE's checks.
		{ID: "CHALLENGE", Section: "3.1", APs: "AD", State: sel, Step: Step{Command: "00 84 00 00 08", SW: "9000", Data: "any(8)"}, Change: "challenge outstanding"},
		{ID: "MA-P1", Section: "3.1", APs: "AD", State: chal, Step: Step{Command: "00 82 01 01 {MA} 00", SW: "6A86"}},
		{ID: "MA-KEY-00", Section: "3.1", APs: "AD", State: chal, Step: Step{Command: "00 82 00 00 {MA} 00", SW: "6A88"}, Change: "no alias: nothing spent"},
		{ID: "MA-KEY-UNKNOWN", Section: "3.1", APs: "AD", State: chal, Step: Step{Command: "00 82 00 09 {MA} 00", SW: "6A88"}},
		{ID: "MA-LENGTH", Section: "3.1", APs: "AD", State: chal, Step: Step{Command: "00 82 00 01 04 00 11 22 33 00", SW: "6700"},
			Then: &Step{Command: "{AUTH:01}", SW: "9000", Data: "*"}, Change: "not executed: the challenge stays, no try spent"},
		{ID: "MA-NO-LE", Section: "3.1", APs: "AD", State: chal, Step: Step{Command: "00 82 00 01 {MA}", SW: "6700"}},
		{ID: "MA-SHORT-LE", Section: "3.1", APs: "AD", State: chal, Step: Step{Command: "00 82 00 01 {MA} 10", SW: "6C28|6C38"}, Change: "not executed: the challenge stays"},
		{ID: "MA-NO-CHALLENGE", Section: "3.1", APs: "AD", State: sel, Step: Step{Command: "00 82 00 01 {MA} 00", SW: "6985"}, Destructive: true},
		{ID: "MA-WRONG-MAC", Section: "3.1", APs: "AD", State: chal, Step: Step{Command: "00 82 00 01 {MA} 00", SW: "63C?"},
			Then: &Step{Command: "00 82 00 01 {MA} 00", SW: "6985"}, Change: "one try spent, the challenge consumed", Destructive: true},
		{ID: "MA-REPLAYED-S", Section: "3.1", APs: "AD", State: sel, Step: Step{Command: "{REPLAY:01}", SW: "6300"}, Change: "no try spent, the challenge consumed", Destructive: true},
		{ID: "MA-OK", Section: "3.1", APs: "AD", State: sel, Step: Step{Command: "{AUTH:01}", SW: "9000", Data: "*"}, Change: "key 01 authenticated, session open"},
		// §4.4: sessions.
		{ID: "SM-NO-SESSION", Section: "4.4", APs: "ACD", State: sel, Step: Step{Command: "0C B0 81 00 0D 97 01 10 8E 08 00 00 00 00 00 00 00 00 00", SW: "6982"}},
		{ID: "SM-READ-CUID", Section: "4.4", APs: "AD", State: s1, Step: Step{Command: "00 B0 81 00 10", Protected: true, SW: "9000", Data: "{CUID}"}},
		{ID: "SM-PLAIN-COMMAND", Section: "4.4", APs: "AD", State: State{Key: 0x01, Plain: true}, Step: Step{Command: "00 B0 81 00 10", SW: "6987"},
			Then: &Step{Command: "00 B0 81 00 10", Protected: true, SW: "6982"}, Change: "session ended"},
		{ID: "SM-PLAIN-CHALLENGE", Section: "4.4", APs: "AD", State: State{Key: 0x01, Plain: true}, Step: Step{Command: "00 84 00 00 08", SW: "9000", Data: "any(8)"},
			Then: &Step{Command: "00 B0 81 00 10", Protected: true, SW: "9000", Data: "{CUID}"}, Change: "session kept"},
		{ID: "SM-FAILED-MA-KEEPS-SESSION", Section: "3.3", APs: "AD", State: State{Key: 0x01, Plain: true, Challenge: true}, Step: Step{Command: "00 82 00 01 {MA} 00", SW: "63C?"},
			Then: &Step{Command: "00 B0 81 00 10", Protected: true, SW: "9000", Data: "{CUID}"}, Change: "session kept, one try spent", Destructive: true},
		{ID: "SM-SELECT-AP-ENDS", Section: "1.4", APs: "AD", State: State{Key: 0x01, Plain: true}, Step: Step{Command: "00 A4 04 0C {LcAID}", SW: "9000"},
			Then: &Step{Command: "00 B0 81 00 10", Protected: true, SW: "6982"}, Change: "security state cleared: no session"},
		{ID: "SM-SELECT-MF-ENDS", Section: "1.4", APs: "AD", State: State{Key: 0x01, Plain: true}, Step: Step{Command: "00 A4 00 0C", SW: "9000"},
			Then: &Step{Command: "00 B0 81 00 10", Protected: true, SW: "6982"}, Change: "security state cleared: no session"},
		{ID: "SM-LONG-ANSWER-61XX", Section: "1.4", APs: "D", Lifecycle: Sealed, Password: NoPassword, State: s1,
			Step: Step{Command: "00 B0 84 00 00", Protected: true, SW: "9000", Data: "any(256)", Via61: true}},
		// §6, §7, §8.2: the data EFs and the lifecycle probe.
		{ID: "A-PROBE-SEALED", Section: "8.2", APs: "A", Lifecycle: Sealed, State: sel, Step: Step{Command: "00 B2 01 1C 00", SW: "6982"}},
		{ID: "A-PROBE-PERSONALIZATION", Section: "8.2", APs: "A", Lifecycle: Personalization, State: sel, Step: Step{Command: "00 B2 01 1C 00", SW: "9000|6A83", Data: "*"}},
		{ID: "A-READ-RECORD", Section: "6.1", APs: "A", Lifecycle: Sealed, Password: NoPassword, State: s1, Step: Step{Command: "00 B2 01 1C 00", Protected: true, SW: "9000|6A83", Data: "*"}},
		{ID: "A-READ-RECORD-NEEDS-PASSWORD", Section: "6.1", APs: "A", Lifecycle: Sealed, Password: WithPassword, State: s1, Step: Step{Command: "00 B2 01 1C 00", Protected: true, SW: "6982"}},
		{ID: "A-UPDATE-RECORD-READ-KEY", Section: "6.1", APs: "A", Lifecycle: Sealed, State: s1, Step: Step{Command: "00 DC 01 1C 01 00", Protected: true, SW: "6982"}, Destructive: true},
		{ID: "A-APPEND-RECORD-READ-KEY", Section: "6.1", APs: "A", Lifecycle: Sealed, State: s1, Step: Step{Command: "00 E2 00 18 01 00", Protected: true, SW: "6982"}, Destructive: true},
		{ID: "A-READ-RECORD-VERIFIED", Section: "6.1", APs: "A", Lifecycle: Sealed, Password: AfterAuthPassword, State: State{Key: 0x01, Verified: true},
			Step: Step{Command: "00 B2 01 1C 00", Protected: true, SW: "9000|6A83", Data: "*"}},
		{ID: "D-PROBE-SEALED", Section: "8.2", APs: "D", Lifecycle: Sealed, State: sel, Step: Step{Command: "00 B0 84 00 01", SW: "6982"}},
		{ID: "D-PROBE-PERSONALIZATION", Section: "8.2", APs: "D", Lifecycle: Personalization, State: sel, Step: Step{Command: "00 B0 84 00 01", SW: "9000", Data: ".."}},
		{ID: "D-READ-DATA", Section: "7.1", APs: "D", Lifecycle: Sealed, Password: NoPassword, State: State{Key: 0x01, EF: 0x0004}, Step: Step{Command: "00 B0 00 00 10", Protected: true, SW: "9000", Data: "any(16)"}},
		{ID: "D-UPDATE-DATA-READ-KEY", Section: "7.1", APs: "D", Lifecycle: Sealed, State: State{Key: 0x01, EF: 0x0004}, Step: Step{Command: "00 D6 00 00 01 00", Protected: true, SW: "6982"}, Destructive: true},
		// §8.1: ACTIVATE FILE on a sealed AP.
		{ID: "ACTIVATE-SEALED-PLAIN", Section: "8.1", APs: "AD", Lifecycle: Sealed, State: sel, Step: Step{Command: "00 44 00 00", SW: "6982"}},
		{ID: "ACTIVATE-SEALED-READ-KEY", Section: "8.1", APs: "AD", Lifecycle: Sealed, State: s1, Step: Step{Command: "00 44 00 00", Protected: true, SW: "6982"}},
		{ID: "ACTIVATE-SEALED-UPDATE-KEY", Section: "8.1", APs: "AD", Lifecycle: Sealed, State: State{Key: 0x02}, Step: Step{Command: "00 44 00 00", Protected: true, SW: "6982"}},
		{ID: "ACTIVATE-SEALED-ADMIN-KEY", Section: "8.1", APs: "AD", Lifecycle: Sealed, State: State{Key: 0x03}, Step: Step{Command: "00 44 00 00", Protected: true, SW: "9000"}, Change: "none (already sealed)"},
		// §5.4: rekey in place needs the administrative key.
		{ID: "REKEY-PLAIN", Section: "5.4", APs: "AD", State: sel, Step: Step{Command: "00 DA 00 C1 01 09", SW: "6982"}},
		{ID: "REKEY-READ-KEY", Section: "5.4", APs: "AD", State: s1, Step: Step{Command: "00 DA 00 C1 01 09", Protected: true, SW: "6982"}},
		{ID: "REKEY-NOTHING-STAGED", Section: "5.4", APs: "AD", State: State{Key: 0x03}, Step: Step{Command: "00 DA 00 C1 01 09", Protected: true, SW: "6A88"},
			Change: "nothing: no staged set 09"},
		// §3.3, §6.4: the password.
		{ID: "PW-ABSENT", Section: "6.4", APs: "AD", Password: NoPassword, State: sel, Step: Step{Command: "00 20 00 81", SW: "6A88"}},
		{ID: "PW-STATUS", Section: "6.4", APs: "AD", Password: WithPassword, State: sel, Step: Step{Command: "00 20 00 81", SW: "63C?|6983"}, Change: "no try spent"},
		{ID: "PW-VERIFY-PROTECTED", Section: "6.4", APs: "AD", Password: AfterAuthPassword, State: State{Key: 0x01, Verified: true},
			Step: Step{Command: "00 20 00 81", Protected: true, SW: "9000"}, Change: "password verified (status 9000), counter at its limit"},
		{ID: "PW-UNBLOCK-ADMIN", Section: "6.4", APs: "AD", Password: WithPassword, State: State{Key: 0x03}, Step: Step{Command: "00 2C 03 81", Protected: true, SW: "9000"},
			Then: &Step{Command: "00 20 00 81", Protected: true, SW: "63C?"}, Change: "counter at its limit, not verified", Destructive: true},
		{ID: "PW-PLAIN-VERIFY", Section: "3.3", APs: "AD", Password: AfterAuthPassword, State: sel, Step: Step{Command: "00 20 00 81 04 FF FF FF FF", SW: "6982"},
			Then: &Step{Command: "00 20 00 81", SW: "63C?|6983"}, Change: "no try spent", Destructive: true},
		{ID: "PW-PLAIN-CHANGE", Section: "6.4", APs: "AD", Password: AfterAuthPassword, State: sel, Step: Step{Command: "00 24 00 81 08 FF FF FF FF FF FF FF FF", SW: "6982"}, Destructive: true},
		{ID: "PW-CHANGE-NEW-ONLY-UNVERIFIED", Section: "6.4", APs: "AD", Password: WithPassword, State: s1, Step: Step{Command: "00 24 01 81 04 FF FF FF FF", Protected: true, SW: "6982"}, Destructive: true},
		{ID: "PW-UNBLOCK-WITHOUT-ADMIN", Section: "6.4", APs: "AD", Password: WithPassword, State: s1, Step: Step{Command: "00 2C 03 81", Protected: true, SW: "6982"}, Destructive: true},
		{ID: "PW-VERIFIED-ENDS-AT-MA", Section: "3.3", APs: "AD", Lifecycle: Sealed, Password: AfterAuthPassword, State: State{Key: 0x01, Verified: true, Reauth: true},
			Step: Step{Command: "00 20 00 81", Protected: true, SW: "63C?"}, Change: "the new session starts with the password not verified"},
		{ID: "PW-WRONG-LENGTH", Section: "6.4", APs: "AD", Password: WithPassword, State: s1, Step: Step{Command: "00 20 00 81 01 FF", Protected: true, SW: "6A80"}, Change: "no try spent", Destructive: true},
		{ID: "PW-SHORT-CHANGE-DATA", Section: "6.4", APs: "AD", Password: WithPassword, State: s1, Step: Step{Command: "00 24 00 81 01 FF", Protected: true, SW: "63C?|6983"},
			Change: "counted as a wrong current password: one try spent", Destructive: true},
		{ID: "READ-RECORD-LE-SHORT", Section: "1.4", APs: "A", Lifecycle: Personalization, State: sel, Step: Step{Command: "00 B2 01 1C 01", SW: "6C??|6A83"}},
	}
}
