package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mynacard/freespace/conformance"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
)

// conformanceUsage is the synopsis of `cardap conformance`.
const conformanceUsage = "conformance --type a|c|d [--keys SPEC] [--key-set N] [--aid AID] [--suite SUITE] " +
	"[--password-env VAR | --stdin] [--password-mode after-auth|before-auth] [--destructive [--confirm-not-test-card]] " +
	"[--strict] [--only ID,...] [--reader NAME] [--json] [--trace]"

// conformanceLine is one requirement's line of `cardap conformance --json`.
type conformanceLine struct {
	ID       string `json:"id"`
	Section  string `json:"section"`
	Command  string `json:"command"`
	Expected string `json:"expected"`
	Observed string `json:"observed,omitempty"`
	Result   string `json:"result"`
	Reason   string `json:"reason,omitempty"`
}

// conformanceSummary is the last line of `cardap conformance --json`.
type conformanceSummary struct {
	Summary struct {
		Reader        string `json:"reader"`
		Type          string `json:"type"`
		AID           string `json:"aid"`
		CUID          string `json:"cuid"`
		TestCard      bool   `json:"test_card"`
		KeySetVersion int    `json:"key_set_version,omitempty"`
		Lifecycle     string `json:"lifecycle"`
		Password      bool   `json:"password"`
		Pass          int    `json:"pass"`
		Fail          int    `json:"fail"`
		Skip          int    `json:"skip"`
		Strict        bool   `json:"strict"`
		Exit          int    `json:"exit"`
	} `json:"summary"`
}

// cmdConformance is `cardap conformance`: the card-behaviour table
// (docs/PROTOCOL.md Appendix A) run against the card, one line per
// requirement and a summary; exit 6 when a requirement fails (with
// --strict also when one is skipped).
func cmdConformance(ctx context.Context, c *cli, args []string) (code int) {
	var f common
	var sec secretFlags
	defer sec.Zero()
	var typ, only string
	var destructive, confirmed, strict bool
	var keySet int
	aid := &aidFlag{}
	mode := &modeFlag{mode: profile.PasswordAfterAuth}
	fs := newFlagSet(c, "conformance", conformanceUsage)
	f.register(fs)
	sec.registerKeys(fs)
	sec.registerSecret(fs, "password", "AP's password (optional: checks the verified state and restores spent tries)")
	sec.registerStdin(fs, "the password")
	fs.StringVar(&typ, "type", "", "AP type to check: a, c or d (required)")
	fs.IntVar(&keySet, "key-set", profile.DefaultKeySet, "card-key set `N` to use when the card's FCI announces none (an announced one is always used)")
	fs.Var(aid, "aid", "`AID` of the AP (default: the placeholder of the type)")
	sec.registerSuite(fs)
	fs.Var(mode, "password-mode", "how the AP takes its password: after-auth (default) or before-auth")
	fs.BoolVar(&destructive, "destructive", false, "also run the requirements that write or may spend a try (only on a test card, FCI A5 C2 \"TEST\")")
	fs.BoolVar(&confirmed, "confirm-not-test-card", false, "with --destructive: run on a card without the test-card marker too")
	fs.BoolVar(&strict, "strict", false, "a skipped requirement fails the run too")
	fs.StringVar(&only, "only", "", "run only these requirement `IDs` (comma-separated)")
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
	}
	opts := conformance.Options{Destructive: destructive, NotTestCardConfirmed: confirmed, BeforeAuth: mode.mode == profile.PasswordBeforeAuth}
	switch strings.ToLower(typ) {
	case "a":
		opts.Type = profile.TypeA
	case "c":
		opts.Type = profile.TypeC
	case "d":
		opts.Type = profile.TypeD
	default:
		return fail(c, f.json, usageErrorf("--type %q: want a, c or d", typ))
	}
	if confirmed && !destructive {
		return fail(c, f.json, usageError("--confirm-not-test-card goes with --destructive"))
	}
	if mode.mode == profile.PasswordNone {
		return fail(c, f.json, usageError("--password-mode: after-auth or before-auth (an AP without a password is found by the run)"))
	}
	if keySet < 1 || keySet > profile.MaxKeySet {
		return fail(c, f.json, usageErrorf("--key-set %d: want 1 to %d", keySet, profile.MaxKeySet))
	}
	opts.Suite, opts.AID, opts.KeyVersion = sec.suite.suite, aid.aid, keySet
	if only != "" {
		opts.Only = strings.Split(only, ",")
		known := map[string]bool{}
		for _, r := range conformance.Table() {
			known[r.ID] = true
		}
		for _, id := range opts.Only {
			if !known[id] {
				return fail(c, f.json, usageErrorf("--only: no requirement %q in the table", id))
			}
		}
	}
	if sec.keysSpec != "" {
		st, err := sec.loadKeys(ctx)
		if err != nil {
			return fail(c, f.json, err)
		}
		defer st.Close()
		opts.Keys = keys.Provider(st)
	}
	pw, err := sec.secret(ctx, "password")
	if err != nil {
		return fail(c, f.json, usageError(err.Error()))
	}
	defer pw.Zero()
	opts.Password = pw

	src, cd, err := connect(ctx, f.reader)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer c.closeAfter(&code, "PC/SC context", src)
	defer c.closeAfter(&code, "card", cd)
	rep, err := conformance.Run(ctx, f.transport(c, cd), opts)
	if err != nil {
		return fail(c, f.json, err)
	}
	code = exitOK
	if rep.Fail > 0 || (strict && rep.Skip > 0) {
		code = exitConformance
	}
	if err := printConformance(c.stdout, f.json, cd.Reader(), rep, strict, code); err != nil {
		return fail(c, false, err)
	}
	return code
}

// printConformance writes one line per requirement and the summary.
func printConformance(w io.Writer, asJSON bool, readerName string, rep *conformance.Report, strict bool, code int) error {
	for _, r := range rep.Results {
		line := conformanceLine{ID: r.Requirement.ID, Section: "§" + r.Requirement.Section, Command: r.Requirement.Command,
			Expected: r.Requirement.SW, Observed: r.Observed, Result: r.Outcome.String(), Reason: r.Reason}
		if r.Requirement.Protected {
			line.Command += " (protected)"
		}
		if r.Requirement.Data != "" {
			line.Expected += " " + r.Requirement.Data
		}
		if asJSON {
			if err := writeJSON(w, line); err != nil {
				return err
			}
			continue
		}
		observed := line.Observed
		if observed == "" {
			observed = "-"
		}
		txt := fmt.Sprintf("%-6s %-30s %-5s %s | want %s | got %s", line.Section, line.ID, line.Result, line.Command, line.Expected, observed)
		if line.Reason != "" {
			txt += " | " + line.Reason
		}
		// Observed text may hold the card's bytes only as hex; escape
		// anyway, it goes to a terminal.
		if _, err := fmt.Fprintln(w, escapeText(txt)); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	var s conformanceSummary
	s.Summary.Reader, s.Summary.Type, s.Summary.AID = readerName, rep.Type.String(), rep.AID.String()
	s.Summary.CUID, s.Summary.TestCard, s.Summary.KeySetVersion = rep.CUID.String(), rep.TestCard, rep.KeySetVersion
	s.Summary.Lifecycle, s.Summary.Password = rep.Lifecycle.String(), rep.HasPassword
	s.Summary.Pass, s.Summary.Fail, s.Summary.Skip, s.Summary.Strict, s.Summary.Exit = rep.Pass, rep.Fail, rep.Skip, strict, code
	if asJSON {
		return writeJSON(w, s)
	}
	marker := "no test-card marker"
	if rep.TestCard {
		marker = "test card"
	}
	verdict := "conforms"
	if code != exitOK {
		verdict = "does not conform"
	}
	_, err := fmt.Fprintf(w, "%s: %d PASS, %d FAIL, %d SKIP (%s AP %s, CUID %s, %s, lifecycle %s): %s\n",
		readerName, rep.Pass, rep.Fail, rep.Skip, rep.Type, rep.AID, rep.CUID, marker, rep.Lifecycle, verdict)
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}
