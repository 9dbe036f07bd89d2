package typec

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// Instruction bytes and parameters of the commands a Type C read sends
// (ISO/IEC 7816-4 §11.2.2 SELECT, §11.3.3 READ BINARY).
const (
	insSelect     = 0xA4
	insReadBinary = 0xB0
	p1SelectByDF  = 0x04 // SELECT by DF name (AID)
	p1SelectEF    = 0x02 // SELECT EF under the current DF by file identifier
	p2NoFCI       = 0x0C // first or only occurrence, no response data
)

// errNilTransport is a caller's bug: no transport to the card.
var errNilTransport = errors.New("typec: nil transport")

// Result is what one Type C read returns.
type Result struct {
	CUID     profile.CUID     // the card-unique identifier of the AP
	Identity profile.Identity // the validated Identity object
	// APDUs is the number of command APDUs that went to the transport,
	// GET RESPONSE rounds and 6Cxx resends included.
	APDUs int
}

// Read selects the Type C AP, reads its CUID and its Identity object, all
// inside one transaction of t (apdu.WithTransaction), with the fewest APDUs
// (docs/PROTOCOL.md §2.3):
//
//	00 A4 04 0C Lc AID         SELECT AP
//	00 A4 02 0C 02 00 01       SELECT EF.CUID
//	00 B0 00 00 10             READ BINARY 16 bytes
//	00 A4 02 0C 02 00 02       SELECT EF.Identity
//	00 B0 00 00 00             READ BINARY up to 256 bytes
//	00 B0 hh ll Le             further READ BINARY only for objects over 256 bytes
//
// Errors: ErrNotPresent, ErrNotPersonalized, ErrMalformed, *StatusError,
// and transport errors (apdu.ErrCardRemoved, context errors) wrapped but
// matchable with errors.Is.
func Read(ctx context.Context, t apdu.Transport, cfg Config) (Result, error) {
	if t == nil {
		return Result{}, errNilTransport
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	var res Result
	s := newSession(t, cfg)
	err = apdu.WithTransaction(ctx, t, func(ctx context.Context) error {
		if err := s.selectAP(ctx); err != nil {
			return err
		}
		c, err := s.readCUID(ctx)
		if err != nil {
			return err
		}
		id, err := s.readIdentity(ctx)
		if err != nil {
			return err
		}
		res.CUID, res.Identity = c, id
		return nil
	})
	res.APDUs = s.count.n
	if err != nil {
		return Result{APDUs: res.APDUs}, err
	}
	return res, nil
}

// AP is a handle on the Type C AP of one card, returned by Select. Each
// method runs in a transaction of its own and selects the AP again first,
// so it stays correct when another application used the card in between
// (PC/SC shared mode). For the fewest APDUs use Read. An AP is safe for
// concurrent use as far as its transport is.
type AP struct {
	t   apdu.Transport
	cfg Config
}

// Select selects the Type C AP (SELECT by DF name, no FCI) and returns a
// handle on it. It fails with ErrNotPresent when the card has no AP with the
// configured AID.
func Select(ctx context.Context, t apdu.Transport, cfg Config) (*AP, error) {
	if t == nil {
		return nil, errNilTransport
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := newSession(t, cfg)
	if err := s.selectAP(ctx); err != nil {
		return nil, err
	}
	return &AP{t: t, cfg: cfg}, nil
}

// Config returns the configuration of the handle, defaults filled in.
func (ap *AP) Config() Config {
	c := ap.cfg
	c.AID = append(profile.AID(nil), c.AID...)
	return c
}

// CUID reads the card-unique identifier from EF.CUID.
func (ap *AP) CUID(ctx context.Context) (profile.CUID, error) {
	var c profile.CUID
	err := ap.do(ctx, func(ctx context.Context, s *session) error {
		var err error
		c, err = s.readCUID(ctx)
		return err
	})
	return c, err
}

// ReadIdentity reads and validates the Identity object from EF.Identity.
func (ap *AP) ReadIdentity(ctx context.Context) (profile.Identity, error) {
	var id profile.Identity
	err := ap.do(ctx, func(ctx context.Context, s *session) error {
		var err error
		id, err = s.readIdentity(ctx)
		return err
	})
	return id, err
}

// do runs fn after selecting the AP, inside one transaction.
func (ap *AP) do(ctx context.Context, fn func(ctx context.Context, s *session) error) error {
	if ap == nil || ap.t == nil {
		return errNilTransport // a zero AP, not made by Select
	}
	s := newSession(ap.t, ap.cfg)
	return apdu.WithTransaction(ctx, ap.t, func(ctx context.Context) error {
		if err := s.selectAP(ctx); err != nil {
			return err
		}
		return fn(ctx, s)
	})
}

// counter counts the APDUs that reach the transport. One counter belongs to
// one operation (one goroutine).
type counter struct {
	next apdu.Transport
	n    int
}

func (c *counter) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.n++
	return c.next.Transmit(ctx, cmd)
}

func (c *counter) Unwrap() apdu.Transport { return c.next }

// session is the state of one operation: the channel (61xx / 6Cxx
// handling, bounded responses) over an APDU counter.
type session struct {
	cfg   Config
	count *counter
	ch    *apdu.Channel
}

func newSession(t apdu.Transport, cfg Config) *session {
	c := &counter{next: t}
	// No response of a Type C read carries more than 256 data bytes.
	return &session{cfg: cfg, count: c, ch: apdu.NewChannel(c, apdu.WithMaxResponseSize(apdu.MaxShortNe+2))}
}

// send sends cmd through the channel. Answers that break ISO/IEC 7816-4
// (shorter than a status word, larger than the bound, endless 61xx) are
// the card's fault: they are returned wrapped in ErrMalformed as well.
func (s *session) send(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	r, err := s.ch.Send(ctx, cmd)
	if err != nil {
		if errors.Is(err, apdu.ErrMalformedResponse) || errors.Is(err, apdu.ErrResponseTooLarge) || errors.Is(err, apdu.ErrTooManyGetResponses) {
			return r, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return r, err
	}
	return r, nil
}

func (s *session) selectAP(ctx context.Context) error {
	r, err := s.send(ctx, apdu.Command{CLA: 0x00, INS: insSelect, P1: p1SelectByDF, P2: p2NoFCI, Data: s.cfg.AID})
	if err != nil {
		return fmt.Errorf("typec: SELECT AP %v: %w", s.cfg.AID, err)
	}
	switch r.SW {
	case apdu.SWSuccess:
		return nil
	case apdu.ErrFileNotFound:
		return fmt.Errorf("%w: SELECT AP %v answered %v", ErrNotPresent, s.cfg.AID, r.SW)
	}
	return &StatusError{Op: "SELECT AP " + s.cfg.AID.String(), SW: r.SW}
}

// selectEF selects an EF of the AP. A missing EF means the AP does not
// follow the profile: ErrMalformed, with the *StatusError.
func (s *session) selectEF(ctx context.Context, fid uint16) error {
	fidb := [2]byte{byte(fid >> 8), byte(fid)}
	r, err := s.send(ctx, apdu.Command{CLA: 0x00, INS: insSelect, P1: p1SelectEF, P2: p2NoFCI, Data: fidb[:]})
	if err != nil {
		return fmt.Errorf("typec: SELECT EF %04X: %w", fid, err)
	}
	switch r.SW {
	case apdu.SWSuccess:
		return nil
	case apdu.ErrFileNotFound:
		return malformed(&StatusError{Op: fmt.Sprintf("SELECT EF %04X", fid), SW: r.SW}, "the AP has no EF %04X", fid)
	}
	return &StatusError{Op: fmt.Sprintf("SELECT EF %04X", fid), SW: r.SW}
}

// readBinary reads up to ne bytes at off of the current EF. It returns the
// data and the status word; 9000 and 6282 (end of file reached before ne
// bytes) come back with their data, any other status word is returned with
// no data. More data than ne is ErrMalformed.
func (s *session) readBinary(ctx context.Context, off, ne int) ([]byte, apdu.StatusWord, error) {
	r, err := s.send(ctx, apdu.Command{CLA: 0x00, INS: insReadBinary, P1: byte(off >> 8), P2: byte(off), Ne: ne})
	if err != nil {
		return nil, 0, fmt.Errorf("typec: READ BINARY offset %d: %w", off, err)
	}
	switch r.SW {
	case apdu.SWSuccess, apdu.WarnEndOfFile:
		if len(r.Data) > ne {
			return nil, r.SW, malformed(apdu.ErrMalformedResponse, "READ BINARY offset %d: %d bytes for Ne %d", off, len(r.Data), ne)
		}
		return r.Data, r.SW, nil
	}
	return nil, r.SW, nil
}

func (s *session) readCUID(ctx context.Context) (profile.CUID, error) {
	if err := s.selectEF(ctx, s.cfg.CUIDFID); err != nil {
		return profile.CUID{}, err
	}
	data, sw, err := s.readBinary(ctx, 0, profile.CUIDLen)
	if err != nil {
		return profile.CUID{}, err
	}
	switch sw {
	case apdu.SWSuccess, apdu.WarnEndOfFile:
	case apdu.ErrWrongLength, apdu.ErrWrongP1P2:
		// A strict card answers 6700 or 6B00 when the EF is shorter.
		return profile.CUID{}, malformed(&StatusError{Op: "READ BINARY EF.CUID", SW: sw}, "EF.CUID shorter than %d bytes", profile.CUIDLen)
	default:
		return profile.CUID{}, &StatusError{Op: "READ BINARY EF.CUID", SW: sw}
	}
	c, err := profile.CUIDFromBytes(data)
	if err != nil {
		return profile.CUID{}, malformed(err, "EF.CUID")
	}
	if c.IsZero() {
		return profile.CUID{}, malformed(profile.ErrInvalidCUID, "EF.CUID is all zero")
	}
	return c, nil
}

func (s *session) readIdentity(ctx context.Context) (profile.Identity, error) {
	if err := s.selectEF(ctx, s.cfg.IdentityFID); err != nil {
		return profile.Identity{}, err
	}
	first, sw, err := s.readBinary(ctx, 0, apdu.MaxShortNe)
	if err != nil {
		return profile.Identity{}, err
	}
	switch sw {
	case apdu.SWSuccess, apdu.WarnEndOfFile:
	case apdu.ErrWrongP1P2:
		// Offset 0 beyond the end: the EF is empty.
		return profile.Identity{}, fmt.Errorf("%w: EF.Identity is empty", ErrNotPersonalized)
	default:
		return profile.Identity{}, &StatusError{Op: "READ BINARY EF.Identity", SW: sw}
	}
	return s.identityFrom(ctx, first, sw == apdu.WarnEndOfFile)
}

// identityFrom completes the Identity object whose first part the card
// returned, reading the rest when the object is longer, and parses it.
func (s *session) identityFrom(ctx context.Context, buf []byte, eof bool) (profile.Identity, error) {
	if erased(buf) {
		return profile.Identity{}, fmt.Errorf("%w: EF.Identity is erased (%d bytes of 00/FF)", ErrNotPersonalized, len(buf))
	}
	total, ok := objectLen(buf)
	if !ok || buf[0] != profile.TagIdentity {
		// Not even a header: let the parser say what is wrong.
		_, err := profile.ParseIdentity(buf)
		return profile.Identity{}, malformed(err, "EF.Identity")
	}
	if total > profile.MaxIdentityBytes {
		return profile.Identity{}, malformed(profile.ErrInvalidIdentity, "EF.Identity: object of %d bytes, at most %d", total, profile.MaxIdentityBytes)
	}
	for len(buf) < total {
		off := len(buf)
		if eof {
			return profile.Identity{}, malformed(profile.ErrInvalidIdentity, "EF.Identity: object of %d bytes, EF ends at %d", total, off)
		}
		data, sw, err := s.readBinary(ctx, off, min(apdu.MaxShortNe, total-off))
		if err != nil {
			return profile.Identity{}, err
		}
		switch sw {
		case apdu.SWSuccess, apdu.WarnEndOfFile:
		case apdu.ErrWrongP1P2:
			return profile.Identity{}, malformed(profile.ErrInvalidIdentity, "EF.Identity: object of %d bytes, EF ends at %d", total, off)
		default:
			return profile.Identity{}, &StatusError{Op: fmt.Sprintf("READ BINARY EF.Identity offset %d", off), SW: sw}
		}
		if len(data) == 0 {
			if sw == apdu.WarnEndOfFile {
				return profile.Identity{}, malformed(profile.ErrInvalidIdentity, "EF.Identity: object of %d bytes, EF ends at %d", total, off)
			}
			return profile.Identity{}, malformed(apdu.ErrMalformedResponse, "EF.Identity: no data at offset %d", off)
		}
		buf = append(buf, data...)
		eof = sw == apdu.WarnEndOfFile
	}
	id, err := profile.ParseIdentity(buf)
	if err != nil {
		return profile.Identity{}, malformed(err, "EF.Identity")
	}
	return id, nil
}

// erased reports whether b is empty or all 00 / all FF padding.
func erased(b []byte) bool {
	for _, c := range b {
		if c != 0x00 && c != 0xFF {
			return false
		}
	}
	return true
}

// objectLen returns the total length (tag, length field and value) of the
// BER-TLV object with a one-byte tag at the start of b, as far as the
// length forms of the profile (short, 81 xx, 82 xx xx) go. It only reads
// the header; ok is false when b has no complete header of those forms.
func objectLen(b []byte) (n int, ok bool) {
	if len(b) < 2 || b[0]&0x1F == 0x1F {
		return 0, false
	}
	switch l := b[1]; {
	case l < 0x80:
		return 2 + int(l), true
	case l == 0x81 && len(b) >= 3:
		return 3 + int(b[2]), true
	case l == 0x82 && len(b) >= 4:
		return 4 + (int(b[2])<<8 | int(b[3])), true
	}
	return 0, false
}
