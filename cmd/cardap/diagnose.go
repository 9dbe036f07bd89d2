package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
)

// atrReport is the decoded ATR of `cardap readers --diagnose`.
type atrReport struct {
	Protocols        []string `json:"protocols"`
	Historical       string   `json:"historical,omitempty"`
	HistoricalText   string   `json:"historical_text,omitempty"`
	Category         string   `json:"category,omitempty"`
	CardCapabilities string   `json:"card_capabilities,omitempty"`
	ExtendedLength   string   `json:"extended_length"`
	CommandChaining  string   `json:"command_chaining"`
	TCKValid         *bool    `json:"tck_valid,omitempty"`
	Error            string   `json:"error,omitempty"`
}

// diagnosis is one reader's report.
type diagnosis struct {
	Reader      string        `json:"reader"`
	CardPresent bool          `json:"card_present"`
	ATR         string        `json:"atr,omitempty"`
	Decoded     *atrReport    `json:"atr_decoded,omitempty"`
	Protocol    string        `json:"protocol,omitempty"`
	Extended    string        `json:"extended_length,omitempty"`
	APs         []probeResult `json:"aps,omitempty"`
	Error       string        `json:"error,omitempty"`
}

// decodeATR reports what an ATR says (reader.ParseATR).
func decodeATR(raw []byte) *atrReport {
	a, err := reader.ParseATR(raw)
	r := &atrReport{ExtendedLength: a.ExtendedLength.String(), CommandChaining: a.CommandChaining.String()}
	if err != nil {
		r.Error = err.Error()
		return r
	}
	for _, p := range a.Protocols {
		r.Protocols = append(r.Protocols, fmt.Sprintf("T=%d", p))
	}
	if len(a.Historical) > 0 {
		r.Historical = fmt.Sprintf("%X", a.Historical)
		r.Category = fmt.Sprintf("%02X", a.Category)
		if printable(a.Historical) {
			r.HistoricalText = string(a.Historical)
		}
	}
	if a.CardCapabilities != nil {
		r.CardCapabilities = fmt.Sprintf("%X", a.CardCapabilities)
	}
	if a.TCK {
		v := a.TCKValid
		r.TCKValid = &v
	}
	return r
}

func printable(b []byte) bool {
	for _, x := range b {
		if x < 0x20 || x > 0x7E {
			return false
		}
	}
	return true
}

// observeExtendedLength sends one extended-length APDU that changes
// nothing, SELECT by DF name with P2 = 0C encoded with extended Lc, and
// reports what the connection showed: "supported" (the card answered it),
// "unsupported" (6700 or a transmit error, while the short form works) or
// "unknown". A connection that already knows (reader.Card, from the ATR's
// card capabilities) is not asked again.
func observeExtendedLength(ctx context.Context, t apdu.Transport, aid profile.AID) (apdu.Support, error) {
	ch := apdu.NewChannel(t, apdu.ChannelConfig{ExtendedLength: true, MaxResponseSize: apdu.MaxShortNe + 2})
	if ch.LengthSupport().Load() != apdu.SupportUnknown {
		return ch.LengthSupport().Load(), nil
	}
	_, err := ch.Send(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsSelect, P1: 0x04, P2: 0x0C, Data: aid, Extended: true})
	if err != nil {
		return apdu.SupportUnknown, fmt.Errorf("extended-length SELECT: %w", err)
	}
	return ch.LengthSupport().Load(), nil
}

// diagnose reports on one reader: its card's ATR decoded, the active
// protocol, extended length observed, and which APs answer SELECT by AID.
// Nothing is read from any AP.
func diagnose(ctx context.Context, c *cli, f *common, src cardSource, ri readerInfo, aps []knownAP) diagnosis {
	d := diagnosis{Reader: ri.Name, CardPresent: ri.Present}
	if !ri.Present {
		return d
	}
	cd, err := src.Connect(ctx, ri.Name)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	defer func() {
		if err := cd.Close(); err != nil && d.Error == "" {
			d.Error = "closing the card: " + err.Error()
		}
	}()
	d.ATR = fmt.Sprintf("%X", cd.ATR())
	d.Decoded = decodeATR(cd.ATR())
	if p, ok := cd.(interface{ Protocol() string }); ok {
		d.Protocol = p.Protocol()
	}
	t := f.transport(c, cd)
	results, err := probe(ctx, t, aps)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	d.APs = results
	// Try extended length on an AP that answered (any AID would do: a
	// card that parses the APDU answers 6A82 to an unknown one).
	aid := aps[0].AID
	for i, r := range results {
		if r.Present {
			aid = aps[i].AID
			break
		}
	}
	ext, err := observeExtendedLength(ctx, t, aid)
	d.Extended = ext.String()
	if err != nil {
		d.Error = err.Error()
	}
	return d
}

// cmdReadersDiagnose is `cardap readers --diagnose`.
func cmdReadersDiagnose(ctx context.Context, c *cli, f *common, aps []knownAP) (code int) {
	src, err := openSource(ctx)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer c.closeAfter(&code, "PC/SC context", src)
	rs, err := src.Readers(ctx)
	if err != nil {
		return fail(c, f.json, err)
	}
	if f.reader != "" {
		var keep []readerInfo
		for _, r := range rs {
			if r.Name == f.reader {
				keep = append(keep, r)
			}
		}
		if len(keep) == 0 {
			return fail(c, f.json, fmt.Errorf("no reader %q: %w", f.reader, reader.ErrNoReader))
		}
		rs = keep
	}
	if len(rs) == 0 {
		return fail(c, f.json, fmt.Errorf("%w: no readers", reader.ErrNoReader))
	}
	out := make([]diagnosis, 0, len(rs))
	failed := false
	for _, r := range rs {
		d := diagnose(ctx, c, f, src, r, aps)
		failed = failed || d.Error != ""
		out = append(out, d)
	}
	if f.json {
		if err := writeJSON(c.stdout, map[string]any{"readers": out}); err != nil {
			return fail(c, false, err)
		}
	} else {
		for i, d := range out {
			if i > 0 {
				fmt.Fprintln(c.stdout)
			}
			writeDiagnosis(c, d)
		}
	}
	if failed {
		return exitFailure
	}
	return exitOK
}

// writeDiagnosis prints one reader's report as text.
func writeDiagnosis(c *cli, d diagnosis) {
	fmt.Fprintf(c.stdout, "reader %s\n", d.Reader)
	if !d.CardPresent {
		fmt.Fprintln(c.stdout, "  no card")
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  ATR\t%s\n", d.ATR)
	if a := d.Decoded; a != nil {
		if a.Error != "" {
			fmt.Fprintf(tw, "  ATR decoded\t%s\n", a.Error)
		} else {
			fmt.Fprintf(tw, "  protocols offered\t%s\n", strings.Join(a.Protocols, ", "))
			hist := "none"
			if a.Historical != "" {
				hist = a.Historical + " (category " + a.Category + ")"
				if a.HistoricalText != "" {
					hist += fmt.Sprintf(" %q", a.HistoricalText)
				}
			}
			fmt.Fprintf(tw, "  historical bytes\t%s\n", hist)
			if a.CardCapabilities != "" {
				fmt.Fprintf(tw, "  card capabilities\t%s (extended length %s, chaining %s)\n", a.CardCapabilities, a.ExtendedLength, a.CommandChaining)
			}
		}
	}
	if d.Protocol != "" {
		fmt.Fprintf(tw, "  protocol\t%s\n", d.Protocol)
	}
	if d.Extended != "" {
		fmt.Fprintf(tw, "  extended length\t%s (observed)\n", d.Extended)
	}
	for _, r := range d.APs {
		state := "absent"
		if r.Present {
			state = "answers"
		}
		if r.Note != "" {
			state += " (" + r.Note + ")"
		}
		fmt.Fprintf(tw, "  AP %s\t%s\t%s\n", r.Name, r.AID, state)
	}
	if d.Error != "" {
		fmt.Fprintf(tw, "  error\t%s\n", d.Error)
	}
	_ = tw.Flush()
}
