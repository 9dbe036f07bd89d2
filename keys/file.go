package keys

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/mynacard/freespace/securefile"
)

// A key file is JSON:
//
//	{"keys": [
//	  {"name": "typea-enc", "version": 1, "alg": "aes", "key": "00112233…"},
//	  {"name": "typea-enc", "version": 2, "alg": "aes", "key": "…"}
//	]}
//
// Each entry has exactly the members name (string), version (integer ≥ 1),
// alg ("aes" or "3des") and key (hex digits, no escapes); the object has
// exactly the member keys. Unknown or repeated members are refused.

// maxKeyFile bounds the size of a key file.
const maxKeyFile = 1 << 20

// LoadFile reads a JSON key file (see the layout above: named, versioned
// keys in hex, alg "aes" or "3des") into a new Store.
//
// The file is opened with securefile.Open as a secret: no symbolic link
// followed, a regular file (a FIFO or device is refused without blocking),
// owned by root or the running user, no access at all for group or
// others, in a directory owned by root or the running user that others
// cannot write. A refusal wraps both ErrInsecureFile and the
// *securefile.Error with the facts (errors.As gives its Path, Problem,
// Owner, Mode, and Remedy for a CLI to print). Errors name the entry
// (name, version), never the key bytes.
//
// Every buffer LoadFile fills with the file's bytes or a key's hex or
// binary form is its own and is wiped before it returns, also on error;
// the only copies left are the Store's keys (wiped by Store.Zero). What
// Go cannot promise: the kernel's page cache (and swap, as Go cannot lock
// memory) may still hold the file; the garbage collector never zeroes
// memory it frees, so a copy made outside this package (a caller's own
// []byte of the file) is not reached; key names and algorithms are not
// secret and are not wiped.
func LoadFile(path string) (*Store, error) {
	var sc scratch
	defer sc.wipe()
	return loadFile(path, &sc)
}

func loadFile(path string, sc *scratch) (*Store, error) {
	f, err := securefile.Open(path, securefile.Policy{Secret: true})
	if err != nil {
		if se := (*securefile.Error)(nil); errors.As(err, &se) {
			return nil, fmt.Errorf("%w: %w", ErrInsecureFile, err)
		}
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if st.Size() > maxKeyFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidKey, path, maxKeyFile)
	}
	// One buffer of the file's size (plus one byte to see it grow), read
	// in place: no growing buffer leaves partial copies behind.
	raw := sc.alloc(int(st.Size()) + 1)
	n, err := io.ReadFull(f, raw)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("keys: reading %s: %w", path, err)
	default:
		return nil, fmt.Errorf("%w: %s grew while it was read", ErrInvalidKey, path)
	}
	return parseKeyFile(raw[:n], sc)
}

// scratch tracks the buffers that hold key material while a key file is
// parsed, so that all of them are wiped.
type scratch struct {
	bufs [][]byte
	// beforeWipe, when set (tests), sees the buffers before they are
	// wiped.
	beforeWipe func(bufs [][]byte)
}

func (s *scratch) alloc(n int) []byte {
	b := make([]byte, n)
	s.bufs = append(s.bufs, b)
	return b
}

func (s *scratch) wipe() {
	if s.beforeWipe != nil {
		s.beforeWipe(s.bufs)
	}
	for _, b := range s.bufs {
		clear(b)
	}
}

// parseKeyFile parses the key file raw. It reads raw in place and decodes
// each key's hex into a buffer of sc: no other copy of a key's hex or
// bytes is made (encoding/json's Decoder would copy the input into buffers
// of its own, and a string field would hold the hex where nothing can wipe
// it). On error the partial Store is wiped.
func parseKeyFile(raw []byte, sc *scratch) (_ *Store, err error) {
	s := NewStore()
	defer func() {
		if err != nil {
			s.Zero()
		}
	}()
	p := &kfParser{b: raw, sc: sc, s: s}
	p.ws()
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	seen := false
	if err := p.members(func(name string) error {
		if name != "keys" || seen {
			return p.errf("member %q unknown or repeated in the key file object", name) // at most maxQuotedMember characters
		}
		seen = true
		return p.entries()
	}); err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, fmt.Errorf("%w: key file has data after its JSON object", ErrInvalidKey)
	}
	return s, nil
}

// maxQuotedMember is the longest member name the parser decodes (and an
// error quotes); the shortest key in hex has 32 characters.
const maxQuotedMember = 16

// kfParser scans a key file's JSON in place.
type kfParser struct {
	b  []byte
	i  int
	sc *scratch
	s  *Store
	n  int // entries seen
}

// errf reports a syntax error at the current offset. It never quotes the
// input.
func (p *kfParser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: key file is not valid: offset %d: %s", ErrInvalidKey, p.i, fmt.Sprintf(format, args...))
}

func (p *kfParser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *kfParser) expect(c byte) error {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != c {
		return p.errf("want %q", c)
	}
	p.i++
	return nil
}

// members parses the members of an object whose '{' was read, through
// its '}', calling member with each name; member parses the value.
func (p *kfParser) members(member func(name string) error) error {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return nil
	}
	for {
		p.ws()
		lo, hi, err := p.str()
		if err != nil {
			return err
		}
		if hi-lo-2 > maxQuotedMember {
			// Perhaps a key in the wrong place: never copied or quoted.
			return p.errf("member name of %d characters", hi-lo-2)
		}
		var name string
		if err := json.Unmarshal(p.b[lo:hi], &name); err != nil {
			return p.errf("member name: %v", err)
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		p.ws()
		if err := member(name); err != nil {
			return err
		}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		return p.expect('}')
	}
}

// str scans a JSON string at p.i and returns its span including the
// quotes; escapes are skipped over, not decoded.
func (p *kfParser) str() (lo, hi int, err error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return 0, 0, p.errf("want a string")
	}
	lo = p.i
	for p.i++; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '\\':
			p.i++
		case c == '"':
			p.i++
			return lo, p.i, nil
		case c < 0x20:
			return 0, 0, p.errf("control character in a string")
		}
	}
	return 0, 0, p.errf("unterminated string")
}

// number scans a JSON number token at p.i.
func (p *kfParser) number() []byte {
	lo := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			break
		}
		p.i++
	}
	return p.b[lo:p.i]
}

// entries parses the array of key entries and adds each to the Store.
func (p *kfParser) entries() error {
	if err := p.expect('['); err != nil {
		return err
	}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return nil
	}
	for {
		if err := p.entry(); err != nil {
			return err
		}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		return p.expect(']')
	}
}

// entry parses one key object and adds the key.
func (p *kfParser) entry() error {
	i := p.n
	p.n++
	if err := p.expect('{'); err != nil {
		return err
	}
	var (
		name, alg           string
		algLen              int
		version             int
		has                 = map[string]bool{}
		keyLo, keyHi        int
		hasVersion, hasName bool
	)
	err := p.members(func(m string) error {
		if has[m] {
			return p.errf("member %q repeated in entry %d", m, i)
		}
		has[m] = true
		switch m {
		case "name", "alg":
			lo, hi, err := p.str()
			if err != nil {
				return err
			}
			dst := &name
			if m == "alg" {
				// A long alg may be a key in the wrong member: it is
				// neither copied nor quoted.
				if algLen = hi - lo - 2; algLen > maxQuotedAlgorithm {
					return nil
				}
				dst = &alg
			}
			if err := json.Unmarshal(p.b[lo:hi], dst); err != nil {
				return p.errf("entry %d: %s: %v", i, m, err)
			}
			hasName = hasName || m == "name"
		case "version":
			num := p.number()
			if err := json.Unmarshal(num, &version); err != nil {
				return p.errf("entry %d: version is not an integer", i)
			}
			hasVersion = true
		case "key":
			lo, hi, err := p.str()
			if err != nil {
				return err
			}
			keyLo, keyHi = lo+1, hi-1 // the hex, without its quotes
		default:
			return p.errf("entry %d: unknown member %q", i, m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	ref := KeyRef{Name: name, Version: version}
	if !hasName || !hasVersion || name == "" || version < 1 {
		return errEntryRef(i)
	}
	// A presence check: fetching the key (Store.Key) would make a copy of
	// its bytes that nothing zeroes.
	if p.s.has(ref) {
		return errDuplicate(ref)
	}
	if algLen > maxQuotedAlgorithm {
		return fmt.Errorf("%w: unknown algorithm of %d characters, not shown (want aes or 3des) (entry %s)", ErrInvalidKey, algLen, ref)
	}
	a, err := ParseAlgorithm(alg)
	if err != nil {
		return fmt.Errorf("%w (entry %s)", err, ref)
	}
	hx := p.b[keyLo:keyHi]
	if !has["key"] || len(hx)%2 != 0 {
		return fmt.Errorf("%w: %s is not hex", ErrInvalidKey, ref)
	}
	b := p.sc.alloc(len(hx) / 2)
	if _, err := hex.Decode(b, hx); err != nil {
		// The hex error would quote a key character: say only where.
		return fmt.Errorf("%w: %s is not hex", ErrInvalidKey, ref)
	}
	k, err := NewKey(a, b)
	clear(b)
	if err != nil {
		return fmt.Errorf("%w (entry %s)", err, ref)
	}
	return p.s.Add(ref, k)
}

// errEntryRef: entry i of a key file lacks a name or a version ≥ 1.
func errEntryRef(i int) error {
	return fmt.Errorf("%w: entry %d needs a name and a version ≥ 1", ErrInvalidKey, i)
}

// errDuplicate: ref appears twice in a key file.
func errDuplicate(ref KeyRef) error {
	return fmt.Errorf("%w: %s appears twice", ErrInvalidKey, ref)
}
