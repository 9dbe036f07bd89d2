// Package apsession is the host-side session shared by the authenticated
// card APs (packages typea, typed) and by personalization: SELECT of the AP
// with the card-unique identifier (CUID) from the FCI, mutual
// authentication with per-card diversified keys (package secure over keys
// from a keys.Provider), secure messaging for what follows, and detection
// of a card swapped between two operations through the CUID. The SELECT
// also gives the card-key set version (keyset.go, docs/PROTOCOL.md §5.3),
// checked against Config.KeySets before any key is used; Rekey loads a new
// set in place (§5.4).
//
// The byte-level profile is docs/PROTOCOL.md chapters 6 to 8.
package apsession

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync/atomic"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
)

// Errors shared by the AP packages, which wrap them with their prefix.
// The card's conditions are profile's sentinels (profile.ErrNotPresent,
// profile.ErrMalformed), wrapped.
var (
	// ErrCardSwapped: the card in the reader has another CUID than the one
	// the session started with. The operation was aborted before it sent
	// anything that changes the card.
	ErrCardSwapped = profile.ErrCardSwapped
	// ErrMalformedCUID: the FCI or EF.CUID does not hold a valid CUID. It
	// matches profile.ErrMalformed.
	ErrMalformedCUID = fmt.Errorf("%w: CUID", profile.ErrMalformed)
	// ErrNilTransport: Open was given no transport to the card.
	ErrNilTransport = errors.New("nil transport")
	// ErrNotOpen: a method of a zero or nil AP, one no Open returned.
	ErrNotOpen = errors.New("the AP was not opened")
)

// TagFCICUID is the FCI data object carrying the CUID (ISO/IEC 7816-4
// §7.4.3, table 12: 85, proprietary information not encoded in BER-TLV):
// SELECT by DF name with P2 = 00 answers 6F L 84 L AID 85 10 CUID, so the
// CUID costs no extra APDU.
const TagFCICUID = 0x85

// CardKey is keys.CardKey: a key object of an AP, its reference and
// master keys.
type CardKey = keys.CardKey

// Config configures a Session.
type Config struct {
	// AID selects the AP (SELECT by DF name).
	AID profile.AID
	// Suite of mutual authentication and secure messaging (nil: no
	// authentication possible).
	Suite secure.Suite
	// Keys gives the master keys the card keys are diversified from.
	Keys keys.Provider
	// CUIDSFI is the short EF identifier of EF.CUID, used when the FCI
	// lacks the CUID (0: select EF.CUID by CUIDFID instead).
	CUIDSFI byte
	// CUIDFID is the file identifier of EF.CUID (0: profile.FIDCUID).
	CUIDFID uint16
	// ExtendedLength: the reader and card accept extended-length APDUs.
	ExtendedLength bool
	// Rand supplies the nonces of mutual authentication (nil:
	// crypto/rand).
	Rand io.Reader
	// Logger receives debug records (nil: discard).
	Logger *slog.Logger
	// KeySets is the terminal's policy on card-key set versions
	// (docs/PROTOCOL.md §5.3): the version the card announces in its FCI
	// must be one it accepts, else Open fails with a
	// *profile.KeySetError before any MUTUAL AUTHENTICATE.
	KeySets profile.KeySetPolicy
	// CardKeys are all the card keys of the AP (read, update,
	// administrative): the set checked for completeness at the card's
	// version and loaded by Rekey.
	CardKeys []CardKey
}

// Session is one AP selected on one card.
type Session struct {
	cfg   Config
	raw   apdu.Transport
	plain *apdu.Channel
	sm    *secure.Session
	ch    *apdu.Channel
	cuid  profile.CUID
	key   *CardKey // the authenticated key, nil if none
	// resumeKey is the key Resume authenticates again: the last one
	// Authenticate established, kept across failed resumptions.
	resumeKey *CardKey
	// fresh: the AP was just selected and its CUID read; the next
	// Authenticate needs no new CUID check.
	fresh bool
	// lost: an operation of Run lost the card-side session; the next one
	// resumes it first.
	lost bool
	// selectedIn is the transaction the AP was last selected (and its
	// CUID read) in, nil when that SELECT ran outside one.
	selectedIn *txMark
	// keySet is the card-key set version of the AP (keyset.go), set by
	// every SELECT; keySetDefault: the card announced none.
	keySet        int
	keySetDefault bool
}

// Open selects the AP and learns its CUID. No authentication yet.
func Open(ctx context.Context, t apdu.Transport, cfg Config) (*Session, error) {
	if t == nil {
		return nil, ErrNilTransport
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Session{cfg: cfg, raw: t, plain: apdu.NewChannel(t, apdu.ChannelConfig{ExtendedLength: cfg.ExtendedLength})}
	s.ch = s.plain
	c, err := s.selectAP(ctx)
	if err != nil {
		return nil, err
	}
	s.cuid, s.fresh = c, true
	return s, nil
}

// CUID returns the CUID the session started with (zero for a nil
// session).
func (s *Session) CUID() profile.CUID {
	if s == nil {
		return profile.CUID{}
	}
	return s.cuid
}

// Config returns the session's configuration.
func (s *Session) Config() Config { return s.cfg }

// Channel returns the channel for the AP's commands: protected by secure
// messaging once Authenticate succeeded, plain before.
func (s *Session) Channel() *apdu.Channel { return s.ch }

// Plain returns the unprotected channel (for a VERIFY before mutual
// authentication).
func (s *Session) Plain() *apdu.Channel { return s.plain }

// Secure reports whether secure messaging is on.
func (s *Session) Secure() bool { return s.sm != nil && s.sm.Err() == nil }

// Authenticated returns the reference of the authenticated key (0: none).
func (s *Session) Authenticated() byte {
	if s.key == nil || !s.Secure() {
		return 0
	}
	return s.key.Ref
}

// MaxReadChunk is the largest READ BINARY / READ RECORD Ne that fits one
// response APDU in the current mode.
func (s *Session) MaxReadChunk() int {
	// Extended length as configured, unless the connection was found not
	// to carry it (apdu.LengthSupport): then short chunks.
	ext := s.plain.ExtendedLength()
	if s.sm != nil {
		return s.sm.MaxResponseData(ext)
	}
	if ext {
		return apdu.MaxExtendedNe
	}
	return apdu.MaxShortNe
}

// MaxWriteChunk is the largest UPDATE BINARY data that fits one command
// APDU in the current mode.
func (s *Session) MaxWriteChunk() int {
	ext := s.plain.ExtendedLength()
	if s.sm != nil {
		return s.sm.MaxCommandData(ext)
	}
	if ext {
		return apdu.MaxExtendedLc
	}
	return apdu.MaxShortLc
}

// selectAP sends SELECT by DF name asking for the FCI and returns the CUID
// (from the FCI, or from EF.CUID when the FCI has none).
func (s *Session) selectAP(ctx context.Context) (profile.CUID, error) {
	if s.sm != nil {
		_ = s.sm.Close()
		s.sm, s.key = nil, nil
	}
	s.ch = s.plain
	// SELECT by DF name, P2 = 00: first occurrence, return the FCI
	// (ISO/IEC 7816-4 §11.2.2), which carries the CUID in
	// tag 85 (docs/PROTOCOL.md §6.1). A SELECT also ends any security
	// state of the AP (§1.4), hence the session reset above.
	fci, err := s.plain.Do(ctx, apdu.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x00, Data: s.cfg.AID, Ne: apdu.MaxShortNe})
	if err != nil {
		// 6A82: no DF with this name on the card (§1.4 status words).
		if errors.Is(err, apdu.ErrFileNotFound) {
			return profile.CUID{}, fmt.Errorf("%w (AID %s)", profile.ErrNotPresent, s.cfg.AID)
		}
		return profile.CUID{}, fmt.Errorf("SELECT AP %s: %w", s.cfg.AID, err)
	}
	s.selectedIn = heldMark(ctx, s.raw)
	c, ok, err := cuidFromFCI(fci)
	if err != nil {
		return profile.CUID{}, err
	}
	if !ok {
		if c, err = s.readCUIDFile(ctx); err != nil {
			return profile.CUID{}, err
		}
	}
	// The key-set version comes with the same FCI (A5 { C1 01 vv }),
	// checked against the terminal's policy before any key is used.
	if err := s.resolveKeySet(ctx, fci, c); err != nil {
		return profile.CUID{}, err
	}
	return c, nil
}

// cuidFromFCI finds 85 10 CUID in an FCI template 6F.
func cuidFromFCI(fci []byte) (profile.CUID, bool, error) {
	if len(fci) == 0 {
		return profile.CUID{}, false, nil
	}
	obj, rest, err := apdu.ParseBER(fci)
	if err != nil || obj.Tag != 0x6F {
		return profile.CUID{}, false, fmt.Errorf("%w: FCI is not a 6F template", ErrMalformedCUID)
	}
	for _, b := range rest {
		// ISO/IEC 7816-4 §6.3: only 00 / FF padding may follow.
		if b != 0x00 && b != 0xFF {
			return profile.CUID{}, false, fmt.Errorf("%w: %d bytes after the FCI template", ErrMalformedCUID, len(rest))
		}
	}
	var cuid []byte
	for o, err := range apdu.BERObjects(obj.Value) {
		if err != nil {
			return profile.CUID{}, false, fmt.Errorf("%w: FCI: %v", ErrMalformedCUID, err)
		}
		if o.Tag == TagFCICUID {
			if cuid != nil {
				return profile.CUID{}, false, fmt.Errorf("%w: FCI holds data object %02X twice", ErrMalformedCUID, TagFCICUID)
			}
			cuid = o.Value
		}
	}
	if cuid == nil {
		return profile.CUID{}, false, nil
	}
	return checkCUID(cuid)
}

func checkCUID(b []byte) (profile.CUID, bool, error) {
	c, err := profile.CUIDFromBytes(b)
	if err != nil {
		return profile.CUID{}, false, fmt.Errorf("%w: %w", ErrMalformedCUID, err)
	}
	if c.IsZero() {
		return profile.CUID{}, false, fmt.Errorf("%w: all zero", ErrMalformedCUID)
	}
	return c, true, nil
}

// readCUIDFile reads EF.CUID by SFI, or by SELECT EF when no SFI is set.
func (s *Session) readCUIDFile(ctx context.Context) (profile.CUID, error) {
	// READ BINARY with P1 = 100xxxxx: xxxxx is the short EF identifier,
	// P2 the offset (ISO/IEC 7816-4 §11.3.3); one APDU, no SELECT EF.
	cmd := apdu.Command{CLA: 0x00, INS: 0xB0, P1: 0x80 | s.cfg.CUIDSFI, Ne: profile.CUIDLen}
	if s.cfg.CUIDSFI == 0 {
		// No SFI configured: SELECT EF by file identifier, no response
		// data (P2 = 0C), then READ BINARY of the current EF.
		fid := s.cfg.CUIDFID
		if fid == 0 {
			fid = profile.FIDCUID
		}
		if _, err := s.plain.Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{byte(fid >> 8), byte(fid)}}); err != nil {
			return profile.CUID{}, fmt.Errorf("SELECT EF.CUID: %w", err)
		}
		cmd.P1 = 0
	}
	b, err := s.plain.Do(ctx, cmd)
	if err != nil {
		return profile.CUID{}, fmt.Errorf("READ BINARY EF.CUID: %w", err)
	}
	// Exactly 16 bytes, not all zero (docs/PROTOCOL.md §1.2).
	c, _, err := checkCUID(b)
	return c, err
}

// Authenticate runs mutual authentication with the key k diversified for
// this card, and protects every later command of Channel with secure
// messaging.
func (s *Session) Authenticate(ctx context.Context, k CardKey) error {
	if !s.fresh {
		// A key switch later in the session: check that this is still
		// the same card before a MUTUAL AUTHENTICATE (which would spend a
		// try of another card's key).
		c, err := s.selectAP(ctx)
		if err != nil {
			return err
		}
		if c != s.cuid {
			return fmt.Errorf("%w (expected %s, found %s)", ErrCardSwapped, s.cuid, c)
		}
	}
	return s.authenticate(ctx, k)
}

func (s *Session) authenticate(ctx context.Context, k CardKey) error {
	s.fresh = false
	if s.cfg.Keys == nil || s.cfg.Suite == nil {
		return errors.New("mutual authentication needs a key provider and a cipher suite")
	}
	// The card holds keys diversified with its CUID and the AID
	// (docs/PROTOCOL.md §5.1); the CUID is the one this session read,
	// never one the card states later. Both halves come from the key set
	// the card announced (§5.3), never from two versions.
	enc, mac, err := s.cardKeys(ctx, k, s.keySet)
	if err != nil {
		return err
	}
	defer enc.Zero()
	defer mac.Zero()
	if s.sm != nil {
		_ = s.sm.Close()
		s.sm, s.key = nil, nil
		s.ch = s.plain
	}
	// Mutual authentication runs on the raw transport through a plain
	// Channel so 61xx/6Cxx are handled.
	sm, err := secure.MutualAuthenticate(ctx, s.plain, secure.Config{
		Suite: s.cfg.Suite, KEnc: enc.Bytes(), KMac: mac.Bytes(), KeyRef: k.Ref,
		Rand: s.cfg.Rand, Logger: s.cfg.Logger,
	})
	if err != nil {
		return err
	}
	kk := k
	s.sm, s.key, s.resumeKey = sm, &kk, &kk
	s.ch = apdu.NewChannel(sm, apdu.ChannelConfig{ExtendedLength: s.cfg.ExtendedLength})
	return nil
}

// Resume re-selects the AP after the session was lost (card reset, secure
// messaging ended) and checks that the card is the same: a different CUID
// gives ErrCardSwapped and nothing is sent after the SELECT. When the
// session had authenticated a key it authenticates it again.
func (s *Session) Resume(ctx context.Context) error {
	key := s.resumeKey
	c, err := s.selectAP(ctx)
	if err != nil {
		return err
	}
	if !bytes.Equal(c[:], s.cuid[:]) {
		return fmt.Errorf("%w (expected %s, found %s)", ErrCardSwapped, s.cuid, c)
	}
	if key != nil {
		return s.authenticate(ctx, *key)
	}
	s.fresh = true
	return nil
}

// CheckCard re-reads the CUID (SELECT of the AP) and compares it, for
// sessions without secure messaging, where a swapped card would otherwise
// go unnoticed. It drops any authentication. When the AP was selected in
// the transaction ctx still holds, with no authentication since, it sends
// nothing: the SELECT of that transaction read the CUID, and a card
// cannot be swapped inside a transaction without the reader reporting a
// reset or removal on the next command (a second SELECT would be the
// same command with the same answer, docs/PROTOCOL.md §6.4).
func (s *Session) CheckCard(ctx context.Context) error {
	s.resumeKey = nil
	if s.fresh && s.sm == nil && s.selectedIn != nil && s.selectedIn == heldMark(ctx, s.raw) {
		return nil
	}
	return s.Resume(ctx)
}

// Lost reports whether err means the card-side session is gone, so that
// Resume (with its CUID check) must run before the next command: the
// secure messaging session ended (a card that lost or never had the
// session answers a protected command in plain), the card was reset or
// removed. A protected 6982 (access denied, e.g. the password is needed)
// does not end the session.
func Lost(err error) bool {
	return errors.Is(err, secure.ErrSessionClosed) || errors.Is(err, secure.ErrCardRejectedSM) ||
		errors.Is(err, apdu.ErrCardReset) || errors.Is(err, apdu.ErrCardRemoved)
}

// Run runs one operation of an AP in a PC/SC transaction
// (WithTransaction). When an earlier operation lost the card-side session
// (Lost), it resumes the session first (Resume: the CUID check, then the
// key authenticated before), so an operation never goes to a swapped card.
func (s *Session) Run(ctx context.Context, fn func(ctx context.Context) error) error {
	if s == nil {
		// The zero AP of typea or typed: a clear error, not a panic.
		return ErrNotOpen
	}
	err := WithTransaction(ctx, s.raw, func(ctx context.Context) error {
		if s.lost {
			if err := s.Resume(ctx); err != nil {
				return err
			}
			s.lost = false
		}
		return fn(ctx)
	})
	if Lost(err) {
		s.lost = true
	}
	return err
}

// AuthenticateOnce authenticates k unless k is the authenticated key.
func (s *Session) AuthenticateOnce(ctx context.Context, k CardKey) error {
	if s.Authenticated() == k.Ref {
		return nil
	}
	return s.Authenticate(ctx, k)
}

// Seal sends ACTIVATE FILE (00 44 00 00) to the AP under the
// administrative key admin, authenticating it when needed: it seals
// personalization (docs/PROTOCOL.md chapter 8). Sealing a sealed AP
// succeeds.
func (s *Session) Seal(ctx context.Context, admin CardKey) error {
	if err := s.AuthenticateOnce(ctx, admin); err != nil {
		return err
	}
	_, err := s.ch.Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsActivateFile})
	return err
}

// SealedAnswer reads the answer (err) to the plain lifecycle probe of
// docs/PROTOCOL.md §8.2, a command the profile leaves open before sealing
// and closes after it: 6982 is sealed; success, 6282 or one of the
// statuses in open is not sealed; any other error is returned.
func SealedAnswer(err error, open ...error) (bool, error) {
	switch {
	case errors.Is(err, apdu.ErrSecurityStatusNotSatisfied):
		return true, nil
	case err == nil, errors.Is(err, apdu.WarnEndOfFile):
		return false, nil
	}
	for _, o := range open {
		if errors.Is(err, o) {
			return false, nil
		}
	}
	return false, err
}

// Close ends secure messaging and drops the session keys. Closing a nil
// session does nothing.
func (s *Session) Close() error {
	if s == nil {
		return nil
	}
	if s.sm != nil {
		_ = s.sm.Close()
	}
	s.ch = s.plain
	return nil
}

// txKey is the context key of the innermost txMark.
type txKey struct{}

// txMark records one transaction WithTransaction took: the transactor it
// was taken on, whether it is still held (a context kept past the end of
// fn must not pass for being inside it) and the marks of the enclosing
// transactions, on other transactors.
type txMark struct {
	// on is the transactor the transaction was taken on or, for a
	// transport without transactions, the innermost transport (the
	// card), so that "inside the same operation" is known for it too.
	on     any
	open   atomic.Bool
	parent *txMark
}

// transactor returns the Transactor apdu.WithTransaction uses for t: t or
// the first transport under it (Unwrapper) that implements Transactor;
// nil when there is none.
func transactor(t apdu.Transport) apdu.Transactor {
	for t != nil {
		if tx, ok := t.(apdu.Transactor); ok {
			return tx
		}
		u, ok := t.(apdu.Unwrapper)
		if !ok {
			return nil
		}
		t = u.Unwrap()
	}
	return nil
}

// markKey is what a transaction on t is recorded under: its transactor,
// or the innermost transport under t when there is none.
func markKey(t apdu.Transport) any {
	if tx := transactor(t); tx != nil {
		return tx
	}
	for t != nil {
		u, ok := t.(apdu.Unwrapper)
		if !ok {
			break
		}
		t = u.Unwrap()
	}
	return t
}

// identifiable reports whether v can be told apart with ==: a pointer
// (the PC/SC reader's *reader.Card) can, a value of a type holding a
// slice, map or func cannot (== on interfaces holding it would panic).
func identifiable(v any) bool {
	return v != nil && reflect.ValueOf(v).Comparable()
}

// held reports whether ctx is inside a transaction WithTransaction took on
// key and still holds.
func held(ctx context.Context, key any) bool {
	return heldOn(ctx, key) != nil
}

// heldOn returns the innermost mark of ctx on key that is still held, nil
// when there is none.
func heldOn(ctx context.Context, key any) *txMark {
	m, _ := ctx.Value(txKey{}).(*txMark)
	for ; m != nil; m = m.parent {
		// m.on is always identifiable; key was checked by the caller, so
		// == cannot panic (different dynamic types compare unequal).
		if m.open.Load() && m.on == key {
			return m
		}
	}
	return nil
}

// heldMark returns the transaction ctx holds on t (see WithTransaction),
// nil when it holds none.
func heldMark(ctx context.Context, t apdu.Transport) *txMark {
	key := markKey(t)
	if !identifiable(key) {
		return nil
	}
	return heldOn(ctx, key)
}

// WithTransaction is apdu.WithTransaction that does not nest: inside a
// transaction it took on the same transactor (an AP method called from a
// multi-step flow such as personalization, directly or through a
// decorator such as a Channel) fn simply runs, so the whole flow is one
// PC/SC transaction without relying on the stack's reentrancy. The
// marker is tied to the transactor it was taken on (the first transport
// under t that implements apdu.Transactor): an operation on a second
// reader inside the first reader's transaction takes its own. A
// transactor that == cannot compare (a value whose type holds a slice,
// map or func) cannot be recognised, so every call on it takes a
// transaction of its own. A context kept beyond fn is no longer inside.
// On a transport without transactions (an in-process card) nothing is
// taken, but the marker is set all the same, on the innermost transport,
// so the steps of one operation are told from later operations
// (Session.CheckCard).
func WithTransaction(ctx context.Context, t apdu.Transport, fn func(ctx context.Context) error) error {
	tx := transactor(t)
	key := markKey(t)
	if !identifiable(key) {
		if tx == nil {
			return fn(ctx) // nothing to take (apdu.WithTransaction would do the same)
		}
		return tx.WithTransaction(ctx, fn)
	}
	if held(ctx, key) {
		return fn(ctx)
	}
	parent, _ := ctx.Value(txKey{}).(*txMark)
	m := &txMark{on: key, parent: parent}
	inside := func(ctx context.Context) error {
		m.open.Store(true)
		defer m.open.Store(false)
		return fn(context.WithValue(ctx, txKey{}, m))
	}
	if tx == nil {
		// No transactions to take: the mark still tells the steps of one
		// operation on this card (Session.CheckCard) from later ones.
		return inside(ctx)
	}
	return tx.WithTransaction(ctx, inside)
}
