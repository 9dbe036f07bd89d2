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
type TextParser struct {
	// SpoolDir, when set, keeps a full list's records out of memory: they
	// are sorted in bounded memory into temporary files in SpoolDir
	// (removed from the directory at once where the system allows, and by
	// Update.Close), so that a national list of ten million entries is
	// parsed in a few MiB. The Update then has no Add slice: read its
	// records with Update.Records (in key order; a key listed twice is
	// found there, as a *ParseError) and Close it when done. Store.Apply
	// takes such an Update as it is. Deltas are held in memory either way.
	SpoolDir string
	// SpoolRecords is how many records a spooled parse sorts in memory at
	// a time (40 bytes each); 0 means 262 144 (10 MiB).
	SpoolRecords int
}

// Parse reads one document. Malformed input is refused with a *ParseError
// giving the line.
func (p TextParser) Parse(r io.Reader) (*Update, error) {
	d := NewTextDecoder(r)
	hdr, err := d.Header()
	if err != nil {
		return nil, err
	}
	u := &hdr
	var sp *spool
	if p.SpoolDir != "" && u.Full {
		sp = newSpool(p.SpoolDir, "text", p.SpoolRecords)
		u.spool = sp
	}
	for {
		rec, remove, err := d.Next()
		if err == io.EOF {
			break
		}
		if err == nil && sp != nil {
			err = sp.add(rec)
		}
		if err != nil {
			u.Close()
			return nil, err
		}
		switch {
		case sp != nil:
		case remove:
			u.Remove = append(u.Remove, rec.Key)
		default:
			u.Add = append(u.Add, rec)
		}
	}
	if err := u.normalize("text"); err != nil {
		u.Close()
		return nil, err
	}
	return u, nil
}

// TextDecoder reads a CSV/TSV document (docs/PROTOCOL.md chapter 9.1) one
// record at a time, holding one line in memory: the header with Header,
// then the records with Next. It checks each line as TextParser does, and
// the trailer's count and the end of input once Next reaches it; it does
// not sort or look for keys repeated on lines apart (TextParser does).
type TextDecoder struct {
	p      textReader
	hdr    Update
	sep    byte
	state  uint8 // 0 before the header, 1 in the records, 2 done
	err    error
	count  uint64
	prev   Key
	fields [5][]byte
}

// NewTextDecoder returns a decoder reading r.
func NewTextDecoder(r io.Reader) *TextDecoder {
	return &TextDecoder{p: textReader{br: bufio.NewReaderSize(r, 64<<10)}}
}

// Header reads the magic line, the directives and the column header, and
// returns the document's kind, sequence numbers and as-of time as an
// Update without records. Later calls return the same.
func (d *TextDecoder) Header() (Update, error) {
	if d.state == 0 && d.err == nil {
		d.err = d.readHeader()
	}
	if d.err != nil && d.state == 0 {
		return Update{}, d.err
	}
	return d.hdr, nil
}

func (d *TextDecoder) readHeader() error {
	u, err := d.p.header()
	if err != nil {
		return err
	}
	if d.sep, err = d.p.columns(u.Full); err != nil {
		return err
	}
	d.hdr = *u
	d.state = 1
	return nil
}

// Next returns the next record; remove is true for a delta's removal (only
// Key is then set). After the trailer, once its count matched and nothing
// follows it, Next returns io.EOF. A malformed line is a *ParseError, and
// every later call returns it again.
func (d *TextDecoder) Next() (rec Record, remove bool, err error) {
	if _, err := d.Header(); err != nil {
		return Record{}, false, err
	}
	if d.err != nil {
		return Record{}, false, d.err
	}
	if d.state == 2 {
		return Record{}, false, io.EOF
	}
	rec, remove, end, err := d.p.record(&d.hdr, d.sep, &d.fields, &d.count, &d.prev)
	switch {
	case err != nil:
		d.err = err
		return Record{}, false, err
	case end:
		// §9.1: the trailer ends the document; anything after it is
		// refused (a concatenation, or a file appended to).
		if _, err := d.p.br.ReadByte(); err != io.EOF {
			d.p.line++
			d.err = d.p.errf("data after the #end trailer")
			return Record{}, false, d.err
		}
		d.state = 2
		return Record{}, false, io.EOF
	}
	return rec, remove, nil
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

// record reads the next record line of a document with header u; end is
// true at the "#end <count>" trailer, whose count must match (§9.1: a
// truncated file is refused). count and prevKey carry the state between
// lines.
func (p *textReader) record(u *Update, sep byte, fields *[5][]byte, count *uint64, prevKey *Key) (rec Record, remove, end bool, err error) {
	nf := 4
	if !u.Full {
		nf = 5 // a delta's lines start with the op, + or -
	}
	l, err := p.next()
	if err != nil {
		return Record{}, false, false, err
	}
	if e, ok := bytes.CutPrefix(l, []byte("#end ")); ok {
		n, err := strconv.ParseUint(string(e), 10, 64)
		if err != nil || n != *count {
			return Record{}, false, false, p.errf("trailer says %q records, read %d (truncated?)", truncate(string(e)), *count)
		}
		return Record{}, false, true, nil
	}
	if err := splitFields(l, sep, fields[:nf]); err != nil {
		return Record{}, false, false, p.errf("%v", err)
	}
	f := fields[:nf]
	op := byte('+')
	if !u.Full {
		if len(f[0]) != 1 || (f[0][0] != '+' && f[0][0] != '-') {
			return Record{}, false, false, p.errf("op %q: want + or -", truncate(string(f[0])))
		}
		op = f[0][0]
		f = f[1:]
	}
	key, err := parseKeyParts(string(f[0]), string(f[1]))
	if err != nil {
		return Record{}, false, false, p.wrap(err, "id")
	}
	// A repeated key on the next line (as in any sorted input) is
	// reported here with both lines; other repeats are found after
	// sorting, by key only.
	if *count > 0 && key == *prevKey {
		return Record{}, false, false, p.errf("key %s repeats line %d", key, p.line-1)
	}
	*prevKey = key
	*count++
	if op == '-' {
		// §9.1: a removal names the key only.
		if len(f[2]) != 0 || len(f[3]) != 0 {
			return Record{}, false, false, p.errf("a removal has empty revoked_at and reason")
		}
		return Record{Key: key}, true, false, nil
	}
	rec, err = p.fields(key, f[2], f[3])
	return rec, false, false, err
}

// fields parses the revoked_at (RFC 3339) and reason fields of an added
// key.
func (p *textReader) fields(key Key, at, reason []byte) (Record, error) {
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
// or '\t'. Records are written in the order given (a spooled full list,
// see TextParser.SpoolDir, in key order).
func WriteText(w io.Writer, u *Update, sep byte) error {
	tw, err := NewTextWriter(w, u, sep)
	if err != nil {
		return err
	}
	var rerr error
	for r := range u.Records(&rerr) {
		if err := tw.Add(r); err != nil {
			return err
		}
	}
	if rerr != nil {
		return rerr
	}
	for _, k := range u.Remove {
		if err := tw.Remove(k); err != nil {
			return err
		}
	}
	return tw.Close()
}

// TextWriter writes a CSV/TSV document (docs/PROTOCOL.md chapter 9.1)
// record by record, through a 64 KiB buffer: a list of any size is
// written in constant memory. Additions come first, then (in a delta)
// removals; Close writes the trailer.
type TextWriter struct {
	bw       *bufio.Writer
	full     bool
	sep      byte
	n        uint64
	removing bool
	buf      []byte
}

// NewTextWriter writes the header of a document of hdr's kind, sequence
// numbers and as-of time (its records are not written); sep is ',' or
// '\t'.
func NewTextWriter(w io.Writer, hdr *Update, sep byte) (*TextWriter, error) {
	if sep != ',' && sep != '\t' {
		return nil, fmt.Errorf("revocation: separator %q: want ',' or '\\t'", sep)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cols := textColsList
	if hdr.Full {
		fmt.Fprintf(bw, "%s\n#seq %d\n", textMagicList, hdr.Seq)
	} else {
		cols = textColsDelta
		fmt.Fprintf(bw, "%s\n#seq %d\n#prev %d\n", textMagicDelta, hdr.Seq, hdr.Prev)
	}
	fmt.Fprintf(bw, "#as-of %s\n", hdr.AsOf.UTC().Format(time.RFC3339))
	bw.Write(bytes.ReplaceAll([]byte(cols), []byte{','}, []byte{sep}))
	bw.WriteByte('\n')
	return &TextWriter{bw: bw, full: hdr.Full, sep: sep}, nil
}

// Add writes an added (or, in a full list, listed) record.
func (t *TextWriter) Add(r Record) error {
	if t.removing {
		return errors.New("revocation: TextWriter.Add after Remove")
	}
	buf := t.buf[:0]
	if !t.full {
		buf = append(buf, '+', t.sep)
	}
	buf = appendKeyFields(buf, r.Key, t.sep)
	buf = append(buf, t.sep)
	buf = time.Unix(r.RevokedAt, 0).UTC().AppendFormat(buf, time.RFC3339)
	buf = append(buf, t.sep)
	buf = append(buf, r.Reason.String()...)
	buf = append(buf, '\n')
	t.buf = buf
	t.n++
	_, err := t.bw.Write(buf)
	return err
}

// Remove writes a delta's removal of k.
func (t *TextWriter) Remove(k Key) error {
	if t.full {
		return errors.New("revocation: a full list has no removals")
	}
	t.removing = true
	buf := append(t.buf[:0], '-', t.sep)
	buf = appendKeyFields(buf, k, t.sep)
	buf = append(buf, t.sep, t.sep, '\n')
	t.buf = buf
	t.n++
	_, err := t.bw.Write(buf)
	return err
}

// Close writes the "#end <count>" trailer and flushes; it does not close
// the underlying writer.
func (t *TextWriter) Close() error {
	fmt.Fprintf(t.bw, "#end %d\n", t.n)
	return t.bw.Flush()
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
