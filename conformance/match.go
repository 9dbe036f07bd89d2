package conformance

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/mynacard/freespace/apdu"
)

// vars are the values placeholders stand for.
type vars struct {
	aid  []byte
	cuid []byte
	// maLen is the length of E_IFD || M_IFD for the AP's suite (40 or 56).
	maLen int
}

// expandCommand turns a command template into bytes: hex bytes
// separated by spaces, {LcAID} (the AID's length, then the AID) and {MA}
// (Lc, then a zero cryptogram of the suite's length).
func expandCommand(tmpl string, v vars) ([]byte, error) {
	var out []byte
	for _, tok := range strings.Fields(tmpl) {
		switch tok {
		case "{LcAID}":
			out = append(append(out, byte(len(v.aid))), v.aid...)
		case "{MA}":
			out = append(out, byte(v.maLen))
			out = append(out, make([]byte, v.maLen)...)
		default:
			b, err := hex.DecodeString(tok)
			if err != nil || len(b) != 1 {
				return nil, fmt.Errorf("conformance: command template %q: bad token %q", tmpl, tok)
			}
			out = append(out, b[0])
		}
	}
	return out, nil
}

// matchSW reports whether sw matches a pattern such as "9000",
// "63C?|6983" ('?' any hex digit).
func matchSW(pattern string, sw apdu.StatusWord) bool {
	got := fmt.Sprintf("%04X", uint16(sw))
	for _, alt := range strings.Split(pattern, "|") {
		if len(alt) != 4 {
			continue
		}
		ok := true
		for i := range 4 {
			if alt[i] != '?' && alt[i] != got[i] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// matchData reports whether data matches a pattern: hex bytes, ".." (any
// byte), "any(n)" (any n bytes), "*" (any bytes, possibly none), {AID},
// {LAID} (the AID's length byte) and {CUID}. The empty pattern matches no
// data only.
func matchData(pattern string, data []byte, v vars) (bool, error) {
	type elem struct {
		lit  []byte // literal bytes
		any  int    // n any bytes
		star bool
	}
	var elems []elem
	for _, tok := range strings.Fields(pattern) {
		switch {
		case tok == "*":
			elems = append(elems, elem{star: true})
		case tok == "..":
			elems = append(elems, elem{any: 1})
		case tok == "{AID}":
			elems = append(elems, elem{lit: v.aid})
		case tok == "{LAID}":
			elems = append(elems, elem{lit: []byte{byte(len(v.aid))}})
		case tok == "{CUID}":
			elems = append(elems, elem{lit: v.cuid})
		case strings.HasPrefix(tok, "any(") && strings.HasSuffix(tok, ")"):
			n, err := strconv.Atoi(tok[4 : len(tok)-1])
			if err != nil || n < 1 {
				return false, fmt.Errorf("conformance: data pattern %q: bad token %q", pattern, tok)
			}
			elems = append(elems, elem{any: n})
		default:
			b, err := hex.DecodeString(tok)
			if err != nil || len(b) != 1 {
				return false, fmt.Errorf("conformance: data pattern %q: bad token %q", pattern, tok)
			}
			elems = append(elems, elem{lit: b})
		}
	}
	var match func(es []elem, d []byte) bool
	match = func(es []elem, d []byte) bool {
		if len(es) == 0 {
			return len(d) == 0
		}
		e := es[0]
		switch {
		case e.star:
			for i := 0; i <= len(d); i++ {
				if match(es[1:], d[i:]) {
					return true
				}
			}
			return false
		case e.any > 0:
			return len(d) >= e.any && match(es[1:], d[e.any:])
		}
		return bytes.HasPrefix(d, e.lit) && match(es[1:], d[len(e.lit):])
	}
	return match(elems, data), nil
}

// checkStep reports a step whose command or patterns do not parse (the
// table's own test uses it).
func checkStep(s Step) error {
	v := vars{aid: make([]byte, 5), cuid: make([]byte, 16), maLen: 56}
	if !strings.HasPrefix(s.Command, "{AUTH:") && !strings.HasPrefix(s.Command, "{REPLAY:") {
		if _, err := expandCommand(s.Command, v); err != nil {
			return err
		}
	}
	if _, err := matchData(s.Data, nil, v); err != nil {
		return err
	}
	for _, alt := range strings.Split(s.SW, "|") {
		if len(alt) != 4 || strings.Trim(strings.ToUpper(alt), "0123456789ABCDEF?") != "" {
			return fmt.Errorf("conformance: status word pattern %q", s.SW)
		}
	}
	return nil
}
