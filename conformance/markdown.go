package conformance

import (
	"fmt"
	"strings"
)

// Markdown renders the card-behaviour table as the Markdown of
// docs/PROTOCOL.md Appendix A (between its BEGIN and END markers).
func Markdown() string {
	var b strings.Builder
	b.WriteString("| ID | § | AP | applies to | state set up | command | answer | state change |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range Table() {
		var applies []string
		if r.Lifecycle != AnyLifecycle {
			applies = append(applies, r.Lifecycle.String())
		}
		if r.Password != AnyPassword {
			applies = append(applies, r.Password.String())
		}
		if r.Destructive {
			applies = append(applies, "destructive")
		}
		answer := stepAnswer(r.Step)
		if r.Then != nil {
			answer += "; then " + stepCommand(*r.Then) + " → " + stepAnswer(*r.Then)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n", r.ID, r.Section,
			strings.Join(strings.Split(r.APs, ""), " "), strings.Join(applies, ", "), r.State, stepCommand(r.Step), answer, r.Change)
	}
	return b.String()
}

// stepCommand renders a step's command: `00 A4 ...`, protected or not.
func stepCommand(s Step) string {
	out := "`" + s.Command + "`"
	if s.Protected {
		out += " protected"
	}
	return out
}

// stepAnswer renders the required answer: status word, data, 61xx.
func stepAnswer(s Step) string {
	out := "`" + strings.ReplaceAll(s.SW, "|", "` or `") + "`"
	if s.Data != "" {
		out += ", data `" + s.Data + "`"
	}
	if s.Via61 {
		out += ", through `61xx` and GET RESPONSE"
	}
	return out
}
