package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// knownAP is an AP the probe command looks for.
type knownAP struct {
	Name string
	AID  profile.AID
}

// preinstalledAPs are the APs a My Number Card carries from issue, as
// publicly documented by independent software (docs/PROTOCOL.md §1.1).
func preinstalledAPs() []knownAP {
	list := []struct{ name, aid string }{
		{"JPKI", "D392F000260100000001"},
		{"card-info input support", "D39210003100010104 08"},
		{"card-face check", "D3921000310001010402"},
		{"residents' registry", "D3921000310001010401"},
		{"pre-installed common AP", "D3921000310001010100"},
	}
	out := make([]knownAP, len(list))
	for i, l := range list {
		aid, err := profile.ParseAID(l.aid)
		if err != nil {
			panic(err) // constant table
		}
		out[i] = knownAP{l.name, aid}
	}
	return out
}

// aidList is a repeatable --aid flag.
type aidList []profile.AID

func (a *aidList) String() string {
	s := make([]string, len(*a))
	for i, x := range *a {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (a *aidList) Set(v string) error {
	aid, err := profile.ParseAID(v)
	if err != nil {
		return err
	}
	*a = append(*a, aid)
	return nil
}

// aidFlag is an AID flag with a default.
type aidFlag struct{ aid profile.AID }

func (a *aidFlag) String() string {
	if a == nil || a.aid == nil {
		return ""
	}
	return a.aid.String()
}

func (a *aidFlag) Set(v string) error {
	aid, err := profile.ParseAID(v)
	if err != nil {
		return err
	}
	a.aid = aid
	return nil
}

// probeResult is one AP's line of the probe output.
type probeResult struct {
	Name    string `json:"name"`
	AID     string `json:"aid"`
	Present bool   `json:"present"`
	SW      string `json:"sw"`
	Note    string `json:"note,omitempty"`
}

// cmdProbe is `cardap probe`: SELECT every known AP and report which the
// card carries.
func cmdProbe(ctx context.Context, c *cli, args []string) (code int) {
	var f common
	aidA := &aidFlag{profile.DefaultAID(profile.TypeA)}
	aidC := &aidFlag{profile.DefaultAID(profile.TypeC)}
	aidD := &aidFlag{profile.DefaultAID(profile.TypeD)}
	var extra aidList
	fs := newFlagSet(c, "probe", "probe [--reader NAME] [--json] [--trace] [--aid-a|--aid-c|--aid-d AID] [--aid AID ...]")
	f.register(fs)
	fs.Var(aidA, "aid-a", "`AID` of the Type A AP (default: the placeholder)")
	fs.Var(aidC, "aid-c", "`AID` of the Type C AP (default: the placeholder)")
	fs.Var(aidD, "aid-d", "`AID` of the Type D AP (default: the placeholder)")
	fs.Var(&extra, "aid", "further `AID` to probe (repeatable)")
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
	}
	aps := []knownAP{{"Type A (record AP)", aidA.aid}, {"Type C (common card AP)", aidC.aid}, {"Type D (binary AP)", aidD.aid}}
	for i, a := range extra {
		aps = append(aps, knownAP{fmt.Sprintf("configured AID %d", i+1), a})
	}
	aps = append(aps, preinstalledAPs()...)

	src, cd, err := connect(ctx, f.reader)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer c.closeAfter(&code, "PC/SC context", src)
	defer c.closeAfter(&code, "card", cd)
	results, err := probe(ctx, f.transport(c, cd), aps)
	if err != nil {
		return fail(c, f.json, err)
	}
	if f.json {
		return done(c, writeJSON(c.stdout, map[string]any{"reader": cd.Reader(), "atr": fmt.Sprintf("%X", cd.ATR()), "aps": results}))
	}
	fmt.Fprintf(c.stdout, "reader %s, ATR %s\n", cd.Reader(), hexBytes(cd.ATR()))
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, r := range results {
		state := "absent"
		if r.Present {
			state = "present"
		}
		if r.Note != "" {
			state += " (" + r.Note + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.AID, state)
	}
	return done(c, tw.Flush())
}

// probe selects each AP by DF name (00 A4 04 0C Lc AID) inside one
// transaction. 9000 is present, 6A82 absent; any other status word is
// reported as absent with a note. Transport errors end the probe.
func probe(ctx context.Context, t apdu.Transport, aps []knownAP) ([]probeResult, error) {
	ch := apdu.NewChannel(t, apdu.ChannelConfig{MaxResponseSize: apdu.MaxShortNe + 2})
	out := make([]probeResult, 0, len(aps))
	err := apdu.WithTransaction(ctx, t, func(ctx context.Context) error {
		for _, ap := range aps {
			r, err := ch.Send(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsSelect, P1: 0x04, P2: 0x0C, Data: ap.AID})
			if err != nil {
				return fmt.Errorf("probing %s (%v): %w", ap.Name, ap.AID, err)
			}
			res := probeResult{Name: ap.Name, AID: ap.AID.String(), Present: r.SW.OK(), SW: r.SW.String()}
			if !r.SW.OK() && r.SW != apdu.ErrFileNotFound {
				res.Note = r.SW.Error()
			}
			out = append(out, res)
		}
		return nil
	})
	return out, err
}
