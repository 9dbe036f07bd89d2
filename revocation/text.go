package revocation

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Text format identifiers, the first line of every CSV/TSV document
// (docs/PROTOCOL.md chapter 9.1).
const (
	textMagicList  = "#freespace-revocation/1 list"
	textMagicDelta = "#freespace-revocation/1 delta"
	textColsList   = "kind,id,revoked_at,reason"
	textColsDelta  = "op,kind,id,revoked_at,reason"
	maxTextLine    = 4096
)

// TextParser parses the CSV/TSV form of docs/PROTOCOL.md chapter 9.1: a full
// list or a daily delta, comma- or tab-separated (decided by the column
// header line), ending in an "#end <count>" trailer so that a truncated file
// is refused.
type TextParser struct{}

// Parse reads one document. Malformed input is refused with a *ParseError
// giving the line.
func (TextParser) Parse(r io.Reader) (*Update, error) {
	p := textReader{br: bufio.NewReaderSize(r, 64<<10)}
	u, err := p.parse()
	if err != nil {
		return nil, err
	}
	if err := u.normalize("text"); err != nil {
		return nil, err
	}
	return u, nil
}

type textReader struct {
	br   *bufio.Reader
	line int
}

func (p *textReader) errf(format string, a ...any) error {
	return &ParseError{Source: "text", Line: p.line, Offset: -1, Msg: fmt.Sprintf(format, a...)}
}

func (p *textReader) wrap(err error, format string, a ...any) error {
	return &ParseError{Source: "text", Line: p.line, Offset: -1, Msg: fmt.Sprintf(format, a...), Err: err}
}

// next returns the next line without its terminator ("\n" or "\r\n").
func (p *textReader) next() ([]byte, error) {
	line, err := p.br.ReadSlice('\n')
	p.line++
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > maxTextLine:
		return nil, p.errf("line longer than %d bytes", maxTextLine)
	case err == io.EOF:
		if len(line) == 0 {
			return nil, p.errf("unexpected end of input (truncated?)")
		}
		return nil, p.errf("last line has no newline (truncated?)")
	case err != nil:
		return nil, p.wrap(err, "read")
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func (p *textReader) directive(name string) (string, error) {
	l, err := p.next()
	if err != nil {
		return "", err
	}
	v, ok := bytes.CutPrefix(l, []byte("#"+name+" "))
	if !ok || len(v) == 0 {
		return "", p.errf("want %q directive", "#"+name)
	}
	return string(v), nil
}

func (p *textReader) uintDirective(name string) (uint64, error) {
	s, err := p.directive(name)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, p.errf("#%s: %q is not a decimal number", name, truncate(s))
	}
	return v, nil
}

// parse reads one document (docs/PROTOCOL.md chapter 9.1): the magic
// line, the directives, the column header, the records and the trailer.
func (p *textReader) parse() (*Update, error) {
	u, err := p.header()
	if err != nil {
		return nil, err
	}
	sep, err := p.columns(u.Full)
	if err != nil {
		return nil, err
	}
	if err := p.records(u, sep); err != nil {
		return nil, err
	}
	// §9.1: the trailer ends the document; anything after it is refused
	// (a concatenation, or a file appended to).
	if _, err := p.br.ReadByte(); err != io.EOF {
		p.line++
		return nil, p.errf("data after the #end trailer")
	}
	return u, nil
}

// header reads the magic line and the directives, in their order (§9.1):
// #seq (from 1), #prev for a delta (seq-1), #as-of (RFC 3339).
func (p *textReader) header() (*Update, error) {
	first, err := p.next()
	if err != nil {
		return nil, err
	}
	u := &Update{}
	switch string(first) {
	case textMagicList:
		u.Full = true
	case textMagicDelta:
	default:
		return nil, p.errf("not a freespace revocation list (want %q or %q)", textMagicList, textMagicDelta)
	}
	if u.Seq, err = p.uintDirective("seq"); err != nil {
		return nil, err
	}
	if u.Seq == 0 {
		return nil, p.errf("#seq: sequence numbers start at 1")
	}
	if !u.Full {
		if u.Prev, err = p.uintDirective("prev"); err != nil {
			return nil, err
		}
		if u.Prev+1 != u.Seq {
			return nil, p.errf("#prev %d: a delta to sequence %d is from %d", u.Prev, u.Seq, u.Seq-1)
		}
	}
	asOf, err := p.directive("as-of")
	if err != nil {
		return nil, err
	}
	if u.AsOf, err = time.Parse(time.RFC3339, asOf); err != nil {
		return nil, p.wrap(err, "#as-of")
	}
	u.AsOf = u.AsOf.UTC()
	return u, nil
}

// columns reads the column header and returns the separator it uses
// (§9.1: the header decides between comma and tab, never both).
func (p *textReader) columns(full bool) (byte, error) {
	cols, err := p.next()
	if err != nil {
		return 0, err
	}
	sep := byte(',')
	if bytes.IndexByte(cols, '\t') >= 0 {
		sep = '\t'
	}
	want := textColsList
	if !full {
		want = textColsDelta
	}
	if string(bytes.ReplaceAll(cols, []byte{'\t'}, []byte{','})) != want || (sep == '\t' && bytes.IndexByte(cols, ',') >= 0) {
		return 0, p.errf("want column header %q (comma- or tab-separated)", want)
	}
	return sep, nil
}

// records reads the record lines into u up to the "#end <count>"
// trailer, whose count must match (§9.1: a truncated file is refused).
func (p *textReader) records(u *Update, sep byte) error {
	nf := 4
	if !u.Full {
		nf = 5 // a delta's lines start with the op, + or -
	}
	var fields [5][]byte
	var count uint64
	var prevKey Key
	for {
		l, err := p.next()
		if err != nil {
			return err
		}
		if end, ok := bytes.CutPrefix(l, []byte("#end ")); ok {
			n, err := strconv.ParseUint(string(end), 10, 64)
			if err != nil || n != count {
				return p.errf("trailer says %q records, read %d (truncated?)", truncate(string(end)), count)
			}
			return nil
		}
		if err := splitFields(l, sep, fields[:nf]); err != nil {
			return p.errf("%v", err)
		}
		f := fields[:nf]
		op := byte('+')
		if !u.Full {
			if len(f[0]) != 1 || (f[0][0] != '+' && f[0][0] != '-') {
				return p.errf("op %q: want + or -", truncate(string(f[0])))
			}
			op = f[0][0]
			f = f[1:]
		}
		key, err := parseKeyParts(string(f[0]), string(f[1]))
		if err != nil {
			return p.wrap(err, "id")
		}
		// A repeated key on the next line (as in any sorted input) is
		// reported here with both lines; other repeats are found after
		// sorting, by key only.
		if count > 0 && key == prevKey {
			return p.errf("key %s repeats line %d", key, p.line-1)
		}
		prevKey = key
		count++
		if op == '-' {
			// §9.1: a removal names the key only.
			if len(f[2]) != 0 || len(f[3]) != 0 {
				return p.errf("a removal has empty revoked_at and reason")
			}
			u.Remove = append(u.Remove, key)
			continue
		}
		rec, err := p.record(key, f[2], f[3])
		if err != nil {
			return err
		}
		u.Add = append(u.Add, rec)
	}
}

// record parses the revoked_at (RFC 3339) and reason fields of an added
// key.
func (p *textReader) record(key Key, at, reason []byte) (Record, error) {
	t, err := time.Parse(time.RFC3339, string(at))
	if err != nil {
		return Record{}, p.wrap(err, "revoked_at")
	}
	r, err := ParseReason(string(reason))
	if err != nil {
		return Record{}, p.wrap(err, "reason")
	}
	return Record{Key: key, RevokedAt: t.Unix(), Reason: r}, nil
}

// splitFields splits a record line into exactly len(out) fields.
func splitFields(l []byte, sep byte, out [][]byte) error {
	for i := range out {
		if i == len(out)-1 {
			if bytes.IndexByte(l, sep) >= 0 {
				return fmt.Errorf("more than %d fields", len(out))
			}
			out[i] = l
			return nil
		}
		j := bytes.IndexByte(l, sep)
		if j < 0 {
			return fmt.Errorf("%d fields, want %d", i+1, len(out))
		}
		out[i], l = l[:j], l[j+1:]
	}
	return nil
}

// WriteText writes u in the CSV/TSV form that TextParser reads; sep is ','
// or '\t'. Records are written in the order given.
func WriteText(w io.Writer, u *Update, sep byte) error {
	if sep != ',' && sep != '\t' {
		return fmt.Errorf("revocation: separator %q: want ',' or '\\t'", sep)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cols := textColsList
	if u.Full {
		fmt.Fprintf(bw, "%s\n#seq %d\n", textMagicList, u.Seq)
	} else {
		cols = textColsDelta
		fmt.Fprintf(bw, "%s\n#seq %d\n#prev %d\n", textMagicDelta, u.Seq, u.Prev)
	}
	fmt.Fprintf(bw, "#as-of %s\n", u.AsOf.UTC().Format(time.RFC3339))
	bw.Write(bytes.ReplaceAll([]byte(cols), []byte{','}, []byte{sep}))
	bw.WriteByte('\n')
	var buf []byte
	for _, r := range u.Add {
		buf = buf[:0]
		if !u.Full {
			buf = append(buf, '+', sep)
		}
		buf = appendKeyFields(buf, r.Key, sep)
		buf = append(buf, sep)
		buf = time.Unix(r.RevokedAt, 0).UTC().AppendFormat(buf, time.RFC3339)
		buf = append(buf, sep)
		buf = append(buf, r.Reason.String()...)
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	for _, k := range u.Remove {
		buf = append(buf[:0], '-', sep)
		buf = appendKeyFields(buf, k, sep)
		buf = append(buf, sep, sep, '\n')
		bw.Write(buf)
	}
	fmt.Fprintf(bw, "#end %d\n", len(u.Add)+len(u.Remove))
	return bw.Flush()
}

func appendKeyFields(buf []byte, k Key, sep byte) []byte {
	buf = append(buf, k.kind.String()...)
	buf = append(buf, sep)
	const hexd = "0123456789abcdef"
	raw := k.raw()
	for _, c := range raw[:min(k.n, MaxSerialLen)] {
		buf = append(buf, hexd[c>>4], hexd[c&15])
	}
	return buf
}
