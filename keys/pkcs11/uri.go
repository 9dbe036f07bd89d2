package pkcs11

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mynacard/freespace/securefile"
)

// URIScheme is the scheme of a PKCS#11 URI (RFC 7512).
const URIScheme = "pkcs11:"

// DefaultPINSource is the PIN source used when a URI names none: the
// environment variable FREESPACE_PKCS11_PIN.
const DefaultPINSource = "env:FREESPACE_PKCS11_PIN"

// URI is a parsed PKCS#11 URI (RFC 7512) as the CLI's key sources use it:
//
//	pkcs11:token=freespace;object=feed-signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:HSM_PIN
//
// Path attributes: token (the token label, required), object (an object
// label; the master keys' labels come from key names, so a key source
// leaves it out, a signing key names it), id (percent-encoded bytes),
// serial, slot-id. Query attributes: module-path (absolute path of the
// module, required), pin-source (env:VAR, stdin, or a file path as a
// file: URI or absolute path; default DefaultPINSource). pin-value is
// refused: a PIN on a command line is seen by every user of the machine.
// Unknown attributes are refused (a misspelt one would be ignored
// silently otherwise), except the informational manufacturer, model,
// library-* and type.
type URI struct {
	// Token is the token label (CK_TOKEN_INFO.label).
	Token string
	// Object is an object label (CKA_LABEL), may be empty.
	Object string
	// ID is an object ID (CKA_ID), may be nil.
	ID []byte
	// Serial is the token serial number, may be empty.
	Serial string
	// SlotID selects a slot; -1 when absent.
	SlotID int64
	// ModulePath is the absolute path of the PKCS#11 module.
	ModulePath string
	// PINSource says where the user PIN comes from (see ReadPIN).
	PINSource string
}

// ParseURI parses s ("pkcs11:..."). The error never repeats a pin-value.
func ParseURI(s string) (*URI, error) {
	if !strings.HasPrefix(s, URIScheme) {
		return nil, &Error{Op: "parse uri", Kind: ErrURI, Detail: "does not start with pkcs11:"}
	}
	rest := s[len(URIScheme):]
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{SlotID: -1}
	seen := map[string]bool{}
	bad := func(format string, a ...any) (*URI, error) {
		return nil, &Error{Op: "parse uri", Kind: ErrURI, Detail: fmt.Sprintf(format, a...)}
	}
	for _, part := range splitNonEmpty(path, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return bad("path attribute without '='")
		}
		if seen[k] {
			return bad("attribute %s given twice", k)
		}
		seen[k] = true
		val, err := url.PathUnescape(v)
		if err != nil {
			return bad("attribute %s: bad percent-encoding", k)
		}
		switch k {
		case "token":
			u.Token = val
		case "object":
			u.Object = val
		case "id":
			u.ID = []byte(val)
		case "serial":
			u.Serial = val
		case "slot-id":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return bad("slot-id: want a decimal number")
			}
			u.SlotID = n
		case "manufacturer", "model", "library-manufacturer", "library-description", "library-version", "type", "slot-description", "slot-manufacturer":
		default:
			if len(k) > 32 {
				return bad("unknown path attribute of %d characters", len(k))
			}
			return bad("unknown path attribute %q", k)
		}
	}
	for _, part := range splitNonEmpty(query, "&") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return bad("query attribute without '='")
		}
		if k == "pin-value" {
			return bad("pin-value is refused: give pin-source=env:VAR, stdin or a file")
		}
		if seen["?"+k] {
			return bad("attribute %s given twice", k)
		}
		seen["?"+k] = true
		val, err := url.QueryUnescape(v)
		if err != nil {
			return bad("attribute %s: bad percent-encoding", k)
		}
		switch k {
		case "module-path":
			u.ModulePath = val
		case "pin-source":
			u.PINSource = val
		case "module-name":
			return bad("module-name is not supported: give module-path")
		default:
			if len(k) > 32 {
				return bad("unknown query attribute of %d characters", len(k))
			}
			return bad("unknown query attribute %q", k)
		}
	}
	if u.Token == "" {
		return bad("token= is required")
	}
	if u.ModulePath == "" {
		return bad("module-path= is required")
	}
	if !filepath.IsAbs(u.ModulePath) {
		return bad("module-path must be absolute")
	}
	if u.PINSource == "" {
		u.PINSource = DefaultPINSource
	}
	if err := checkPINSource(u.PINSource); err != nil {
		return nil, err
	}
	return u, nil
}

func splitNonEmpty(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// String returns the URI in canonical form (it never holds a PIN).
func (u *URI) String() string {
	var b strings.Builder
	b.WriteString(URIScheme)
	b.WriteString("token=" + url.PathEscape(u.Token))
	if u.Object != "" {
		b.WriteString(";object=" + url.PathEscape(u.Object))
	}
	if u.ID != nil {
		b.WriteString(";id=")
		for _, c := range u.ID {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if u.Serial != "" {
		b.WriteString(";serial=" + url.PathEscape(u.Serial))
	}
	if u.SlotID >= 0 {
		fmt.Fprintf(&b, ";slot-id=%d", u.SlotID)
	}
	b.WriteString("?module-path=" + url.QueryEscape(u.ModulePath))
	b.WriteString("&pin-source=" + url.QueryEscape(u.PINSource))
	return b.String()
}

func checkPINSource(src string) error {
	switch {
	case strings.HasPrefix(src, "env:") && len(src) > 4:
		return nil
	case src == "stdin":
		return nil
	case strings.HasPrefix(src, "file:"):
		if p := strings.TrimPrefix(strings.TrimPrefix(src, "file:"), "//"); filepath.IsAbs(p) {
			return nil
		}
	case filepath.IsAbs(src):
		return nil
	}
	return &Error{Op: "parse uri", Kind: ErrURI, Detail: "pin-source: want env:VAR, stdin, or an absolute file path"}
}

// maxPIN bounds a PIN read from a file or standard input.
const maxPIN = 256

// ReadPIN reads the user PIN from src: "env:VAR" (the variable must be
// set and not empty), "stdin" (one line from stdin), or a file (a
// "file:" URI or an absolute path; opened with securefile as a secret:
// owner root or the running user, no access for group or others). One
// trailing newline is removed. The caller wipes the returned bytes. The
// error names the source, never the PIN.
func ReadPIN(src string, stdin io.Reader) ([]byte, error) {
	if err := checkPINSource(src); err != nil {
		return nil, err
	}
	fail := func(detail string, err error) ([]byte, error) {
		e := &Error{Op: "read pin", Kind: ErrPINSource, Detail: detail}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", e, err)
		}
		return nil, e
	}
	var pin []byte
	switch {
	case strings.HasPrefix(src, "env:"):
		name := src[4:]
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return fail("variable "+name+" is not set", nil)
		}
		pin = []byte(v)
	case src == "stdin":
		if stdin == nil {
			return fail("no standard input", nil)
		}
		r := bufio.NewReaderSize(io.LimitReader(stdin, maxPIN+2), maxPIN+2)
		line, err := r.ReadSlice('\n')
		if err != nil && err != io.EOF {
			return fail("standard input", err)
		}
		pin = append([]byte(nil), line...)
		clear(line)
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(src, "file:"), "//")
		f, err := securefile.Open(path, securefile.Policy{Secret: true})
		if err != nil {
			return fail("file "+path, err)
		}
		defer f.Close()
		buf := make([]byte, maxPIN+2)
		n, err := io.ReadFull(f, buf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			clear(buf)
			return fail("file "+path, err)
		}
		pin = append([]byte(nil), buf[:n]...)
		clear(buf)
	}
	if len(pin) > 0 && pin[len(pin)-1] == '\n' {
		pin = pin[:len(pin)-1]
	}
	if len(pin) > 0 && pin[len(pin)-1] == '\r' {
		pin = pin[:len(pin)-1]
	}
	if len(pin) == 0 || len(pin) > maxPIN || bytes.IndexByte(pin, '\n') >= 0 {
		clear(pin)
		return fail(fmt.Sprintf("%s: PIN empty, longer than %d bytes or several lines", src, maxPIN), nil)
	}
	return pin, nil
}
