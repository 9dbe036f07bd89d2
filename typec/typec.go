package typec

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// Parameters of the commands a Type C read sends
// (ISO/IEC 7816-4 §11.2.2 SELECT, §11.3.3 READ BINARY).
const (
	p1SelectByDF = 0x04 // SELECT by DF name (AID)
	p1SelectEF   = 0x02 // SELECT EF under the current DF by file identifier
	p2NoFCI      = 0x0C // first or only occurrence, no response data
	p1ShortEF    = 0x80 // READ BINARY: SFI in P1 bits 5-1, offset in P2
)

// errNilTransport is a caller's bug: no transport to the card.
var errNilTransport = errors.New("typec: nil transport")

// Result is what one Type C read returns.
type Result struct {
	CUID     profile.CUID     // the card-unique identifier of the AP
	Identity profile.Identity // the validated Identity object
	// APDUs is the number of command APDUs that went to the transport,
	// GET RESPONSE rounds, 6Cxx resends and the fallback from a read by
	// short EF identifier to SELECT EF (see Read) included; it is set on
	// errors too.
	APDUs int
}

// Read selects the Type C AP, reads its CUID and its Identity object, all
// inside one transaction of t (apdu.WithTransaction), with the fewest APDUs
// (docs/PROTOCOL.md §2.3): each EF is read by its short EF identifier
// (ISO/IEC 7816-4 §11.3.3, P1 = 100xxxxx), which selects it in the same
// command:
//
//	00 A4 04 0C Lc AID         SELECT AP
//	00 B0 81 00 10             READ BINARY EF.CUID by SFI 1, 16 bytes
//	00 B0 82 00 00             READ BINARY EF.Identity by SFI 2, up to 256 bytes
//	00 B0 hh ll Le             further READ BINARY of the now-current EF,
//	                           only for objects over 256 bytes
//
// A card that refuses a read by short EF identifier gets the file selected
// by file identifier instead (SELECT EF, then READ BINARY at offset 0),
// counted in Result.APDUs like every APDU; docs/PROTOCOL.md §2.3 lists the
// refusals that lead there. Config.SelectByFID skips the short EF
// identifiers altogether (five APDUs).
//
// Errors: profile.ErrNotPresent, profile.ErrNotPersonalized,
// profile.ErrMalformed (wrapped), *StatusError,
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
	res.APDUs = s.count.APDUs
	if err != nil {
		return Result{APDUs: res.APDUs}, err
	}
	return res, nil
}

// AP is a handle on the Type C AP of one card, returned by Open. Each
// method runs in a transaction of its own and selects the AP again first,
// so it stays correct when another application used the card in between
// (PC/SC shared mode). For the fewest APDUs use Read. An AP is safe for
// concurrent use as far as its transport is.
type AP struct {
	t   apdu.Transport
	cfg Config
}

// Open selects the Type C AP (SELECT by DF name, no FCI) and returns a
// handle on it; Type C has no authentication, so this is all an open is.
// It fails with an error matching profile.ErrNotPresent when the card has
// no AP with the configured AID. Open checks cfg first (Config.Validate).
func Open(ctx context.Context, t apdu.Transport, cfg Config) (*AP, error) {
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

// CUID reads the card-unique identifier from EF.CUID: SELECT AP and READ
// BINARY by short EF identifier, two APDUs (with the fallback of Read when
// the card refuses the SFI).
func (ap *AP) CUID(ctx context.Context) (profile.CUID, error) {
	var c profile.CUID
	err := ap.do(ctx, func(ctx context.Context, s *session) error {
		var err error
		c, err = s.readCUID(ctx)
		return err
	})
	return c, err
}

// ReadIdentity reads and validates the Identity object from EF.Identity,
// addressed as in Read: two APDUs for an object of up to 256 bytes.
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
		return errNilTransport // a zero AP, not made by Open
	}
	s := newSession(ap.t, ap.cfg)
	return apdu.WithTransaction(ctx, ap.t, func(ctx context.Context) error {
		if err := s.selectAP(ctx); err != nil {
			return err
		}
		return fn(ctx, s)
	})
}

// session is the state of one operation: the channel (61xx / 6Cxx
// handling, bounded responses) over an APDU counter, and whether EFs are
// still read by short EF identifier.
type session struct {
	cfg   Config
	count *apdu.Counter
	ch    *apdu.Channel
	// byFID is set when the EFs are selected by file identifier: by
	// Config.SelectByFID, or once the card showed that it does not
	// address EFs by short EF identifier.
	byFID bool
}

func newSession(t apdu.Transport, cfg Config) *session {
	c := &apdu.Counter{Next: t}
	// No response of a Type C read carries more than 256 data bytes.
	return &session{cfg: cfg, count: c, ch: apdu.NewChannel(c, apdu.ChannelConfig{MaxResponseSize: apdu.MaxShortNe + 2}), byFID: cfg.SelectByFID}
}

// send sends cmd through the channel. Answers that break ISO/IEC 7816-4
// (shorter than a status word, larger than the bound, endless 61xx) are
// the card's fault: they are returned wrapped in profile.ErrMalformed as well. A
// removal or reset is never: it passes through as it is, whatever else the
// transport's error wraps, so that a card pulled mid-read is asked for
// again rather than refused as malformed.
func (s *session) send(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	r, err := s.ch.Send(ctx, cmd)
	if err != nil {
		if errors.Is(err, apdu.ErrCardRemoved) || errors.Is(err, apdu.ErrCardReset) {
			return r, err
		}
		if errors.Is(err, apdu.ErrMalformedResponse) || errors.Is(err, apdu.ErrResponseTooLarge) || errors.Is(err, apdu.ErrTooManyGetResponses) {
			return r, fmt.Errorf("%w: %w", errMalformed, err)
		}
		return r, err
	}
	return r, nil
}

func (s *session) selectAP(ctx context.Context) error {
	r, err := s.send(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsSelect, P1: p1SelectByDF, P2: p2NoFCI, Data: s.cfg.AID})
	if err != nil {
		return fmt.Errorf("typec: SELECT AP %v: %w", s.cfg.AID, err)
	}
	switch r.SW {
	case apdu.SWSuccess:
		return nil
	case apdu.ErrFileNotFound:
		return fmt.Errorf("%w: SELECT AP %v answered %v", errNotPresent, s.cfg.AID, r.SW)
	}
	return &StatusError{Op: "SELECT AP " + s.cfg.AID.String(), SW: r.SW}
}

// selectEF selects an EF of the AP. A missing EF means the AP does not
// follow the profile: profile.ErrMalformed, with the *StatusError.
func (s *session) selectEF(ctx context.Context, fid uint16) error {
	fidb := [2]byte{byte(fid >> 8), byte(fid)}
	r, err := s.send(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsSelect, P1: p1SelectEF, P2: p2NoFCI, Data: fidb[:]})
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

// step is one READ BINARY of a read: EF.CUID or EF.Identity, by short EF
// identifier (sfi not 0) or at an offset into the current EF. It names the
// step in errors; the text is built only for an error.
type step struct {
	ef  string // "EF.CUID", "EF.Identity"
	sfi byte   // not 0: READ BINARY by this short EF identifier, offset 0
	off int    // the offset of a READ BINARY of the current EF
}

// String returns e.g. "READ BINARY EF.CUID by SFI 1".
func (st step) String() string {
	switch {
	case st.sfi != 0:
		return fmt.Sprintf("READ BINARY %s by SFI %d", st.ef, st.sfi)
	case st.off != 0:
		return fmt.Sprintf("READ BINARY %s offset %d", st.ef, st.off)
	}
	return "READ BINARY " + st.ef
}

// readBinary sends the READ BINARY of st with Ne = ne. It returns the data
// and the status word; 9000 and 6282 (end of file reached before ne bytes)
// come back with their data, any other status word is returned with no
// data. More data than ne is profile.ErrMalformed.
func (s *session) readBinary(ctx context.Context, st step, ne int) ([]byte, apdu.StatusWord, error) {
	cmd := apdu.Command{CLA: 0x00, INS: apdu.InsReadBinary, P1: byte(st.off >> 8), P2: byte(st.off), Ne: ne}
	if st.sfi != 0 {
		cmd.P1, cmd.P2 = p1ShortEF|st.sfi, 0
	}
	r, err := s.send(ctx, cmd)
	if err != nil {
		return nil, 0, fmt.Errorf("typec: %v: %w", st, err)
	}
	switch r.SW {
	case apdu.SWSuccess, apdu.WarnEndOfFile:
		if len(r.Data) > ne {
			return nil, r.SW, malformed(apdu.ErrMalformedResponse, "%v: %d bytes for Ne %d", st, len(r.Data), ne)
		}
		return r.Data, r.SW, nil
	}
	return nil, r.SW, nil
}

// ef names one EF of the AP both ways.
type ef struct {
	name string // for messages, e.g. "EF.CUID"
	fid  uint16
	sfi  byte
}

// sfiFallback is what a status word answered to a READ BINARY by short EF
// identifier means for the way the EF is addressed.
type sfiFallback int

const (
	sfiStands      sfiFallback = iota // the answer is the EF's: data, or a status word that stands
	sfiEFRefuses                      // select this EF by file identifier and read it again
	sfiCardRefuses                    // the card does not address EFs by SFI: select by file identifier from now on
)

// classifySFI sorts the status word of a READ BINARY with P1 = 100xxxxx
// (ISO/IEC 7816-4 §11.3.3; SFI 1..30, so P1 itself is well-formed):
//   - 6A81 function not supported, 6A86 incorrect P1-P2: the card refuses
//     the SFI form; 6986 no current EF: the card took P1-P2 for an offset
//     into the current EF, and a SELECT AP leaves none. The card does not
//     address EFs by SFI.
//   - 6A82 file not found: no EF has this SFI (the EF may have none);
//     6981 incompatible file structure: the SFI names an EF that is not
//     transparent; 6B00 wrong P1-P2: either the card took P1-P2 for an
//     offset of 32768 or more into the current EF (beyond any EF), or the
//     EF is empty and the card answers 6B00 at offset 0. Fall back for this
//     EF; its read by file identifier tells which.
//
// Anything else stands: data (9000, 6282), security status (6982), 6700,
// and 6D00 (INS not supported: READ BINARY by file identifier is the same
// INS and would be refused too).
func classifySFI(sw apdu.StatusWord) sfiFallback {
	switch sw {
	case apdu.ErrFunctionNotSupported, apdu.ErrIncorrectP1P2, apdu.ErrCommandNotAllowedNoEF:
		return sfiCardRefuses
	case apdu.ErrFileNotFound, apdu.ErrIncompatibleFileStructure, apdu.ErrWrongP1P2:
		return sfiEFRefuses
	}
	return sfiStands
}

// readStart reads up to ne bytes at offset 0 of f and leaves f the
// current EF: by short EF identifier in one APDU, or by SELECT EF and READ
// BINARY when the session selects by file identifier or the card refuses
// the SFI (classifySFI). It returns readBinary's results and the step that
// produced them, for errors.
func (s *session) readStart(ctx context.Context, f ef, ne int) ([]byte, apdu.StatusWord, step, error) {
	if !s.byFID {
		st := step{ef: f.name, sfi: f.sfi}
		data, sw, err := s.readBinary(ctx, st, ne)
		if err != nil {
			return nil, sw, st, err
		}
		switch classifySFI(sw) {
		case sfiStands:
			return data, sw, st, nil
		case sfiCardRefuses:
			s.byFID = true
		}
	}
	st := step{ef: f.name}
	if err := s.selectEF(ctx, f.fid); err != nil {
		return nil, 0, st, err
	}
	data, sw, err := s.readBinary(ctx, st, ne)
	return data, sw, st, err
}

func (s *session) readCUID(ctx context.Context) (profile.CUID, error) {
	data, sw, st, err := s.readStart(ctx, ef{"EF.CUID", s.cfg.CUIDFID, s.cfg.CUIDSFI}, profile.CUIDLen)
	if err != nil {
		return profile.CUID{}, err
	}
	switch sw {
	case apdu.SWSuccess, apdu.WarnEndOfFile:
	case apdu.ErrWrongLength, apdu.ErrWrongP1P2:
		// A strict card answers 6700 or 6B00 when the EF is shorter.
		return profile.CUID{}, malformed(&StatusError{Op: st.String(), SW: sw}, "EF.CUID shorter than %d bytes", profile.CUIDLen)
	default:
		return profile.CUID{}, &StatusError{Op: st.String(), SW: sw}
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
	first, sw, st, err := s.readStart(ctx, ef{"EF.Identity", s.cfg.IdentityFID, s.cfg.IdentitySFI}, apdu.MaxShortNe)
	if err != nil {
		return profile.Identity{}, err
	}
	switch sw {
	case apdu.SWSuccess, apdu.WarnEndOfFile:
	case apdu.ErrWrongP1P2:
		// Offset 0 beyond the end: the EF is empty.
		return profile.Identity{}, fmt.Errorf("%w: EF.Identity is empty", errNotPersonalized)
	default:
		return profile.Identity{}, &StatusError{Op: st.String(), SW: sw}
	}
	return s.identityFrom(ctx, first, sw == apdu.WarnEndOfFile)
}

// identityFrom completes the Identity object whose first part the card
// returned, reading the rest when the object is longer, and parses it.
func (s *session) identityFrom(ctx context.Context, buf []byte, eof bool) (profile.Identity, error) {
	if erased(buf) {
		return profile.Identity{}, fmt.Errorf("%w: EF.Identity is erased (%d bytes of 00/FF)", errNotPersonalized, len(buf))
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
		// 7816-4 §11.3.3: the read by SFI made EF.Identity the current
		// EF; the rest is read by 15-bit offset into it.
		st := step{ef: "EF.Identity", off: off}
		data, sw, err := s.readBinary(ctx, st, min(apdu.MaxShortNe, total-off))
		if err != nil {
			return profile.Identity{}, err
		}
		switch sw {
		case apdu.SWSuccess, apdu.WarnEndOfFile:
		case apdu.ErrWrongP1P2:
			return profile.Identity{}, malformed(profile.ErrInvalidIdentity, "EF.Identity: object of %d bytes, EF ends at %d", total, off)
		default:
			return profile.Identity{}, &StatusError{Op: st.String(), SW: sw}
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
