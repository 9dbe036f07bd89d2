package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/mynacard/freespace/profile"
)

// cmdReaders is `cardap readers`: every reader, whether it holds a card, and
// the card's ATR.
//
// With --diagnose it connects to every reader holding a card (or the one
// --reader names) and reports the ATR decoded, the active protocol,
// whether extended-length APDUs get through (one harmless extended SELECT)
// and which APs answer SELECT by AID (diagnose.go). Nothing is read.
func cmdReaders(ctx context.Context, c *cli, args []string) (code int) {
	var f common
	var diag bool
	fs := newFlagSet(c, "readers", "readers [--json] [--diagnose [--reader NAME] [--trace]]")
	f.register(fs)
	fs.BoolVar(&diag, "diagnose", false, "connect to each card: ATR decoded, protocol, extended length observed, APs that answer SELECT")
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
	}
	if diag {
		aps := []knownAP{{"Type A (record AP)", profile.DefaultAID(profile.TypeA)}, {"Type C (common card AP)", profile.DefaultAID(profile.TypeC)},
			{"Type D (binary AP)", profile.DefaultAID(profile.TypeD)}}
		return cmdReadersDiagnose(ctx, c, &f, append(aps, preinstalledAPs()...))
	}
	if f.reader != "" || f.trace {
		return fail(c, f.json, usageError("--reader and --trace need --diagnose"))
	}
	src, err := openSource(ctx)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer c.closeAfter(&code, "PC/SC context", src)
	rs, err := src.Readers(ctx)
	if err != nil {
		return fail(c, f.json, err)
	}
	if len(rs) == 0 {
		return fail(c, f.json, fmt.Errorf("%w: no readers", errNoCard))
	}
	if f.json {
		if err := writeJSON(c.stdout, map[string]any{"readers": rs}); err != nil {
			return fail(c, false, err)
		}
	} else {
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for _, r := range rs {
			card := "no card"
			if r.Present {
				card = "card present, ATR " + r.ATR
			}
			fmt.Fprintf(tw, "%s\t%s\n", r.Name, card)
		}
		if err := tw.Flush(); err != nil {
			return fail(c, false, err)
		}
	}
	return exitOK
}
