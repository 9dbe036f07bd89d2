package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

// cmdReaders is `cardap readers`: every reader, whether it holds a card, and
// the card's ATR.
func cmdReaders(ctx context.Context, c *cli, args []string) (code int) {
	var f common
	fs := newFlagSet(c, "readers", "readers [--json]")
	fs.BoolVar(&f.json, "json", false, "machine-readable JSON output")
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
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
