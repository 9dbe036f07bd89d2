package typed

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
)

// Default references of the profile (docs/PROTOCOL.md §7.1), the same in
// typea.
const (
	KeyRefRead   = 0x01 // read key: mutual authentication before reading
	KeyRefUpdate = 0x02 // update key: UPDATE BINARY once sealed
	KeyRefAdmin  = 0x03 // administrative key: RESET RETRY COUNTER, ACTIVATE FILE
	PasswordRef  = 0x81 // the password object
	SFICUID      = 0x01 // short EF identifier of EF.CUID
	// DefaultCapacity is the size of EF.Data when none is configured.
	DefaultCapacity = 4096
	// DefaultDataKey names the operator data key in the key provider.
	DefaultDataKey = "typed-data"
)

// DefaultKey returns the profile's default key for a key reference
// (KeyRefRead, KeyRefUpdate, KeyRefAdmin): master keys "typed-<role>-enc"
// and "typed-<role>-mac", role = auth, update or admin, without a
// version: they are used at the card's key-set version (Config.KeySets,
// docs/PROTOCOL.md §5.3).
func DefaultKey(ref byte) keys.CardKey { return apsession.ProfileKey("typed", ref) }

// Config configures the host side of a Type D AP. The zero Config plus a
// key provider is the profile's default. Open checks it with Validate
// before anything is sent.
type Config struct {
	// AID of the AP; nil: profile.DefaultAID(profile.TypeD) (placeholder).
	AID profile.AID
	// Suite of mutual authentication and secure messaging; nil: AES-128.
	Suite secure.Suite
	// Keys gives the master keys and the data key. Required.
	Keys keys.Provider
	// ReadKey is the key Open authenticates before reading; zero:
	// DefaultKey(KeyRefRead).
	ReadKey keys.CardKey
	// UpdateKey is the key writes need once the AP is sealed; zero:
	// DefaultKey(KeyRefUpdate).
	UpdateKey keys.CardKey
	// AdminKey is the administrative key (UnblockPassword, Seal, Rekey);
	// zero: DefaultKey(KeyRefAdmin).
	AdminKey keys.CardKey
	// KeySets chooses among card-key set versions (docs/PROTOCOL.md
	// §5.3): every key above is taken at the version the card announces
	// in its FCI (a card that announces none: KeySets.Default, 1 by
	// default), which must be one KeySets accepts and the key provider
	// holds whole; otherwise Open fails with a *profile.KeySetError
	// before any MUTUAL AUTHENTICATE. The zero value accepts every
	// version the provider holds.
	KeySets profile.KeySetPolicy
	// DataKey names the AES-256 operator data key (empty: "typed-data").
	// It may not be the name of one of the AP's card keys. Reads open
	// only envelopes whose header names this key: a header naming any
	// other key (a card key, another operator key) is refused with a
	// *DataKeyError before the key provider is asked for anything. The
	// key is diversified per card with the CUID and AID (docs/PROTOCOL.md
	// §5.1, under keys.DataKeyLabel for format 02) before use.
	DataKey string
	// DataKeyVersion is the version writes seal under (0: the latest the
	// provider lists). It must be a version reads accept.
	DataKeyVersion int
	// MinDataKeyVersion retires older data-key versions: reads refuse an
	// envelope under a lower version with a *DataKeyError (0 or 1: every
	// version ≥ 1). Rotate alone may read retired versions, and only
	// those it is given (RotateOptions.From).
	MinDataKeyVersion int
	// DataKeyVersions, when not empty, lists exactly the versions reads
	// accept (each also ≥ MinDataKeyVersion); any other is refused with a
	// *DataKeyError.
	DataKeyVersions []int
	// RequireNewest refuses to fall back to the older slot when the newer
	// one does not open (a torn write, or a damaged or forged slot): reads
	// fail with a *FallbackError instead of returning the older data.
	// Without it the fallback is reported in ReadReport.Fallback. A write
	// is the repair: it replaces the slot that does not open.
	RequireNewest bool
	// DataFID is the file identifier of EF.Data (0: profile.FIDData).
	DataFID uint16
	// Capacity is the size of EF.Data in bytes: 0 takes the size from the EF's FCP (SELECT EF with P2 = 04,
	// tag 80), or DefaultCapacity when the card gives none; a configured
	// capacity that differs from the card's is an error (errMalformed), so
	// a host never works with slots that are not the card's. Only a card
	// that answers with no FCP, or an FCP without tag 80, leaves the
	// configured capacity in force; a malformed FCP (bad BER-TLV, a size
	// that is empty, zero or past 7FFF) is profile.ErrMalformed.
	Capacity int
	// CUIDSFI is the short EF identifier of EF.CUID, read when the FCI
	// lacks the CUID (0: 01).
	CUIDSFI byte
	// Password says whether the AP has a password: the zero value
	// profile.PasswordNone, or profile.PasswordAfterAuth, which makes Open
	// verify the password given to it after mutual authentication, under
	// secure messaging. profile.PasswordBeforeAuth is not a Type D mode
	// (a configuration error).
	Password profile.PasswordMode
	// PasswordRef is the password's reference on the card (0: 81).
	PasswordRef byte
	// AllowLastTry lets Open send the password when one try is left;
	// without it Open refuses with ErrLastTry (a mistake would block the
	// card). The password is sent at most once per Open. Verify and
	// ChangePassword take VerifyOptions instead.
	AllowLastTry bool
	// ExtendedLength says the reader and card accept extended-length
	// APDUs; reads and writes then go in one APDU each.
	ExtendedLength bool
	// Rand supplies nonces and envelope IVs (nil: crypto/rand).
	Rand io.Reader
	// Logger receives debug records of the exchanges (nil: discard).
	Logger *slog.Logger
}

// Validate checks c as Open does, before anything is sent: a key
// provider is set, the AID, key references, password mode, data key name
// and versions and capacity are valid. Every error wraps ErrConfig and
// names the field.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c Config) withDefaults() (Config, error) {
	err := apsession.Defaults{Pkg: "typed", ErrConfig: ErrConfig, Type: profile.TypeD, AID: &c.AID, Suite: &c.Suite, Keys: c.Keys,
		CardKeys: [3]*keys.CardKey{&c.ReadKey, &c.UpdateKey, &c.AdminKey}, CUIDSFI: &c.CUIDSFI, PasswordRef: &c.PasswordRef, KeySets: c.KeySets}.Apply()
	if err != nil {
		return c, err
	}
	switch c.Password {
	case profile.PasswordNone, profile.PasswordAfterAuth:
	default:
		// docs/PROTOCOL.md §7.1: Type D verifies its password under
		// secure messaging only.
		return c, fmt.Errorf("%w: Password: %v, want none or after-auth", ErrConfig, c.Password)
	}
	if c.CUIDSFI > 30 {
		return c, fmt.Errorf("%w: CUIDSFI: %d, want 1 to 30", ErrConfig, c.CUIDSFI)
	}
	if c.DataKey == "" {
		c.DataKey = DefaultDataKey
	}
	if !validKeyID(c.DataKey) {
		return c, configKeyErr("DataKey: invalid key name %q", c.DataKey)
	}
	for _, k := range []keys.CardKey{c.ReadKey, c.UpdateKey, c.AdminKey} {
		if c.DataKey == k.Enc.Name || c.DataKey == k.Mac.Name {
			return c, configKeyErr("DataKey: %q is a card key's name", c.DataKey)
		}
	}
	if c.DataKeyVersion < 0 || int64(c.DataKeyVersion) > math.MaxUint32 {
		return c, configKeyErr("DataKeyVersion: %d, want 0 to 2^32-1", c.DataKeyVersion)
	}
	if c.MinDataKeyVersion < 0 || int64(c.MinDataKeyVersion) > math.MaxUint32 {
		return c, configKeyErr("MinDataKeyVersion: %d, want 0 to 2^32-1", c.MinDataKeyVersion)
	}
	c.DataKeyVersions = slices.Clone(c.DataKeyVersions)
	for _, v := range c.DataKeyVersions {
		if v < 1 || int64(v) > math.MaxUint32 || v < c.MinDataKeyVersion {
			return c, configKeyErr("DataKeyVersions: version %d below the minimum %d", v, max(1, c.MinDataKeyVersion))
		}
	}
	if c.DataKeyVersion != 0 && !c.acceptsVersion(uint32(c.DataKeyVersion)) {
		return c, configKeyErr("DataKeyVersion: writes would seal under version %d, which reads do not accept", c.DataKeyVersion)
	}
	if c.DataFID == 0 {
		c.DataFID = profile.FIDData
	}
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	if c.Capacity < 2*Overhead || c.Capacity > maxEF {
		return c, fmt.Errorf("%w: Capacity: %d, want %d to 32767", ErrConfig, c.Capacity, 2*Overhead)
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c, nil
}

// acceptsVersion reports whether reads accept data key version v.
func (c Config) acceptsVersion(v uint32) bool {
	if v == 0 || int64(v) < int64(c.MinDataKeyVersion) {
		return false
	}
	return len(c.DataKeyVersions) == 0 || slices.Contains(c.DataKeyVersions, int(v))
}

// acceptedVersions describes the accepted versions for a *DataKeyError.
func (c Config) acceptedVersions(extra []uint32) string {
	var s string
	if len(c.DataKeyVersions) > 0 {
		s = fmt.Sprintf("versions %v", c.DataKeyVersions)
	} else {
		s = fmt.Sprintf("versions ≥ %d", max(1, c.MinDataKeyVersion))
	}
	if len(extra) > 0 {
		s += fmt.Sprintf(", and %v to rotate", extra)
	}
	return fmt.Sprintf("%q %s", c.DataKey, s)
}

// AP is an opened Type D AP on one card: selected, mutually authenticated,
// with secure messaging on for every command. Each method runs in a PC/SC
// transaction of its own. An AP is not safe for concurrent use.
//
// When the card-side session is lost, the next method selects the AP again
// and compares the CUID first: another card gives ErrCardSwapped and the
// operation is aborted before anything is written.
type AP struct {
	cfg Config
	// cfgCapacity is the capacity the caller configured (0: none, follow
	// the card's FCP).
	cfgCapacity int
	// learnt: Capacity comes from the card's FCP.
	learnt bool
	// pwVerified: a password was verified on this AP; after a key switch
	// the card wants it again, and it is never resent on its own.
	pwVerified bool
	s          *apsession.Session
}

// Open selects the Type D AP, reads its CUID from the FCI and runs mutual
// authentication with the read key; when pw is not empty it then verifies
// it under secure messaging, once: a wrong password is a
// *profile.PasswordError (it unwraps to the card's *apdu.TriesError) and
// is never resent; one try left without Config.AllowLastTry is
// ErrLastTry. An empty pw verifies nothing: an AP that needs its password
// then refuses reads with ErrPasswordRequired. Open checks cfg first
// (Config.Validate).
func Open(ctx context.Context, t apdu.Transport, cfg Config, pw profile.Password) (*AP, error) {
	if len(pw) > 0 && cfg.Password == profile.PasswordNone {
		return nil, ErrNoPassword // before anything is sent
	}
	return openAP(ctx, t, cfg, func(ctx context.Context, a *AP) error { return a.authRead(ctx, pw) })
}

// OpenUnauthenticated selects the AP without mutual authentication, for
// personalization of a fresh AP (whose files the profile leaves open until
// it is sealed) and for password administration.
func OpenUnauthenticated(ctx context.Context, t apdu.Transport, cfg Config) (*AP, error) {
	return openAP(ctx, t, cfg, nil)
}

// openAP selects the AP and, in the same transaction, runs then (nil:
// none).
func openAP(ctx context.Context, t apdu.Transport, cfg Config, then func(context.Context, *AP) error) (*AP, error) {
	userCap := cfg.Capacity
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &AP{cfg: cfg, cfgCapacity: userCap}
	err = apsession.WithTransaction(ctx, t, func(ctx context.Context) error {
		s, err := apsession.Open(ctx, t, apsession.Config{AID: cfg.AID, Suite: cfg.Suite, Keys: cfg.Keys,
			CUIDSFI: cfg.CUIDSFI, ExtendedLength: cfg.ExtendedLength, Rand: cfg.Rand, Logger: cfg.Logger,
			KeySets: cfg.KeySets, CardKeys: []keys.CardKey{cfg.ReadKey, cfg.UpdateKey, cfg.AdminKey}})
		a.s = s
		if err != nil || then == nil {
			return err
		}
		return then(ctx, a)
	})
	if err != nil {
		if a.s != nil {
			// Mutual authentication may have succeeded before the step
			// that failed (a wrong password): drop the session keys now,
			// the caller gets no AP to Close.
			_ = a.s.Close()
		}
		return nil, apsession.Op("typed", "open", err)
	}
	return a, nil
}

func (a *AP) authRead(ctx context.Context, pw profile.Password) error {
	if len(pw) > 0 && a.cfg.Password == profile.PasswordNone {
		return ErrNoPassword
	}
	if err := a.s.Authenticate(ctx, a.cfg.ReadKey); err != nil {
		return err
	}
	if len(pw) == 0 {
		return nil
	}
	return a.verify(ctx, pw, VerifyOptions{AllowLastTry: a.cfg.AllowLastTry})
}

// VerifyOptions tune Verify and ChangePassword.
type VerifyOptions struct {
	// AllowLastTry lets the password go when one try is left. Without it
	// the operation refuses with ErrLastTry: a wrong password would then
	// block the card.
	AllowLastTry bool
}

// verify checks the password once under the session's channel: the
// remaining tries first (no try spent), then VERIFY unless the password is
// verified already, blocked or (without AllowLastTry) at its last try.
func (a *AP) verify(ctx context.Context, pw profile.Password, opts VerifyOptions) error {
	if a.cfg.Password == profile.PasswordNone {
		return ErrNoPassword
	}
	if err := apsession.CheckPassword(pw); err != nil {
		return err
	}
	verified, err := apsession.BeforeTry(ctx, a.s.Channel(), a.cfg.PasswordRef, opts.AllowLastTry)
	if err != nil {
		return apsession.PasswordErr(err)
	}
	if !verified {
		if err := apsession.Verify(ctx, a.s.Channel(), a.cfg.PasswordRef, pw); err != nil {
			return apsession.PasswordErr(err)
		}
	}
	a.pwVerified = true
	return nil
}

// Verify checks the password of an AP opened with OpenUnauthenticated and
// authenticated with the read key (Authenticate), for callers that ask the
// holder for the password only once the card is known to need it
// (PasswordStatus). It runs under secure messaging and sends the password
// at most once: it asks the remaining tries first (no try spent) and
// refuses when the password is blocked (*profile.PasswordError, Blocked)
// or has one try left (ErrLastTry, unless opts.AllowLastTry). A wrong
// password is a *profile.PasswordError with the tries left (it unwraps to
// the card's *apdu.TriesError) and is never resent. Open with
// a password is OpenUnauthenticated, Authenticate and Verify in one
// transaction.
func (a *AP) Verify(ctx context.Context, pw profile.Password, opts VerifyOptions) error {
	return a.do(ctx, "verify password", func(ctx context.Context) error {
		if !a.s.Secure() {
			return errors.New("the password is verified under secure messaging, and no key is authenticated")
		}
		return a.verify(ctx, pw, opts)
	})
}

// CUID returns the card-unique identifier read at Open.
func (a *AP) CUID() profile.CUID { return a.session().CUID() }

// Config returns the effective configuration.
func (a *AP) Config() Config {
	if a == nil {
		return Config{}
	}
	return a.cfg
}

// Close ends secure messaging and drops the session keys.
func (a *AP) Close() error { return a.session().Close() }

// session is a.s, nil for a nil AP: a zero or nil AP's methods return
// an error (apsession.ErrNotOpen), never panic.
func (a *AP) session() *apsession.Session {
	if a == nil {
		return nil
	}
	return a.s
}

// Authenticate runs mutual authentication with k, one of the Config's
// keys (ReadKey, UpdateKey, AdminKey); every later command is protected
// by secure messaging. A key switch later in a session selects the AP
// again and compares the CUID first.
func (a *AP) Authenticate(ctx context.Context, k keys.CardKey) error {
	return a.do(ctx, fmt.Sprintf("mutual authentication (key %02X)", k.Ref), func(ctx context.Context) error {
		return a.s.Authenticate(ctx, k)
	})
}

// do runs fn as the operation op (apsession.Session.Run: a transaction,
// resuming a lost session first).
func (a *AP) do(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	err := a.session().Run(ctx, fn)
	if err != nil && errors.Is(err, apdu.ErrSecurityStatusNotSatisfied) && !errors.Is(err, ErrPasswordRequired) &&
		a.s.Authenticated() == a.cfg.ReadKey.Ref {
		// 6982 under the read key's session: the AP wants its password
		// verified (docs/PROTOCOL.md §7.1, §6.4).
		err = fmt.Errorf("%w: %w", ErrPasswordRequired, err)
	}
	return apsession.Op("typed", op, err)
}

func (a *AP) binding() Binding {
	return Binding{CUID: a.s.CUID(), AID: a.cfg.AID, FID: a.cfg.DataFID}
}

func (a *AP) layout() layout { return layout{capacity: a.cfg.Capacity} }

// dataKey returns the per-card data key of the configured data key in a
// version (0: latest) for an envelope format: derived under
// keys.DataKeyLabel for Format02, under the card keys' label for Format01.
func (a *AP) dataKey(ctx context.Context, version int, format byte) ([]byte, error) {
	c := a.s.CUID()
	name := a.cfg.DataKey
	k, err := keys.DiversifyFor(ctx, a.cfg.Keys, keys.KeyRef{Name: name, Version: version}, dataKeyLabel(format), c[:], a.cfg.AID)
	if err != nil {
		return nil, err
	}
	if k.Len() != DataKeyLen || k.Algorithm() != keys.AES {
		k.Zero()
		return nil, fmt.Errorf("%w: %s v%d is not an AES-256 key", ErrKey, name, version)
	}
	b := append([]byte(nil), k.Bytes()...)
	k.Zero()
	return b, nil
}

// latestVersion resolves DataKeyVersion 0 to the provider's latest, which
// reads must accept.
func (a *AP) latestVersion(ctx context.Context) (int, error) {
	if a.cfg.DataKeyVersion != 0 {
		return a.cfg.DataKeyVersion, nil
	}
	var vs []int
	switch p := a.cfg.Keys.(type) {
	case interface {
		KeyVersions(context.Context, string) ([]int, error)
	}:
		// keys.Env, a token: listing may fail (a malformed variable).
		var err error
		if vs, err = p.KeyVersions(ctx, a.cfg.DataKey); err != nil {
			return 0, fmt.Errorf("%w: %s: %w", ErrKey, a.cfg.DataKey, err)
		}
	case interface{ Versions(string) []int }:
		vs = p.Versions(a.cfg.DataKey)
	default:
		return 0, fmt.Errorf("%w: %s: set Config.DataKeyVersion (the key provider does not list versions)", ErrKey, a.cfg.DataKey)
	}
	if len(vs) == 0 {
		return 0, fmt.Errorf("%w: %s: the key provider holds no version of it", ErrKey, a.cfg.DataKey)
	}
	m := slices.Max(vs)
	if int64(m) > math.MaxUint32 || !a.cfg.acceptsVersion(uint32(m)) {
		return 0, fmt.Errorf("%w: %s: the latest version %d is not one reads accept (%s)", ErrKey, a.cfg.DataKey, m, a.cfg.acceptedVersions(nil))
	}
	return m, nil
}

// keyFunc opens envelopes under the configured data key only, in the
// versions reads accept and the retired versions in rotate (Rotate's From
// list). The card wrote the header: its key name and version are checked
// against the configuration before the key provider is asked anything.
func (a *AP) keyFunc(rotate []uint32) keyFunc {
	return func(ctx context.Context, h Header) ([]byte, error) {
		if h.KeyID != a.cfg.DataKey {
			return nil, &DataKeyError{KeyID: h.KeyID, Version: h.KeyVersion, Format: h.Format, Problem: OtherKeyName, Accepted: a.cfg.acceptedVersions(rotate)}
		}
		if !a.cfg.acceptsVersion(h.KeyVersion) && !slices.Contains(rotate, h.KeyVersion) {
			return nil, &DataKeyError{KeyID: h.KeyID, Version: h.KeyVersion, Format: h.Format, Problem: RetiredVersion, Accepted: a.cfg.acceptedVersions(rotate)}
		}
		return a.dataKey(ctx, int(h.KeyVersion), h.Format)
	}
}

// cardFile is EF.Data seen through the session's channel.
type cardFile struct {
	ch       *apdu.Channel
	chunk    int
	selected bool
	fid      uint16
	size     int  // from the FCP (tag 80) when sized
	sized    bool // the card's FCP gave the EF's size
}

// sel selects EF.Data asking for its FCP (ISO/IEC 7816-4 §7.4.3: 80 =
// number of data bytes), so the layout follows the card's real size.
func (f *cardFile) sel(ctx context.Context) error {
	if f.selected {
		return nil
	}
	fcp, err := f.ch.Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsSelect, P1: 0x02, P2: 0x04, Data: []byte{byte(f.fid >> 8), byte(f.fid)}, Ne: apdu.MaxShortNe})
	if err != nil {
		return fmt.Errorf("SELECT EF %04X: %w", f.fid, err)
	}
	size, sized, err := parseFCPSize(fcp)
	if err != nil {
		return fmt.Errorf("SELECT EF %04X: %w", f.fid, err)
	}
	f.selected, f.size, f.sized = true, size, sized
	return nil
}

// open selects EF.Data and returns it with the layout: the card's size
// from the FCP when it gives one (it must then agree with a configured
// capacity), else the configured capacity. A malformed FCP is an error
// (errMalformed, from sel), never replaced by the configured capacity.
func (a *AP) open(ctx context.Context) (*cardFile, layout, error) {
	f := a.file()
	if err := f.sel(ctx); err != nil {
		return nil, layout{}, err
	}
	l := a.layout()
	if f.sized {
		if a.cfgCapacity != 0 && f.size != a.cfgCapacity {
			return nil, layout{}, fmt.Errorf("%w: EF %04X holds %d bytes, configured capacity %d", errMalformed, a.cfg.DataFID, f.size, a.cfgCapacity)
		}
		if f.size > maxEF {
			// READ/UPDATE BINARY address at most 7FFF (15-bit offsets,
			// ISO/IEC 7816-4 §11.3.3); beyond, P1 bit 8 would name a
			// short EF identifier, i.e. another file.
			return nil, layout{}, fmt.Errorf("%w: EF %04X of %d bytes is larger than the %d bytes 15-bit offsets reach", errMalformed, a.cfg.DataFID, f.size, maxEF)
		}
		if f.size < 2*Overhead {
			return nil, layout{}, fmt.Errorf("%w: EF %04X of %d bytes is too small for two slots", errMalformed, a.cfg.DataFID, f.size)
		}
		l = layout{capacity: f.size}
		a.cfg.Capacity, a.learnt = f.size, true
	}
	return f, l, nil
}

// load reads both slots of EF.Data (docs/PROTOCOL.md §7.4), under the
// read key unless keepAuth (the caller authenticated a key that may read),
// opening envelopes under the accepted data key versions and the retired
// versions in rotate.
func (a *AP) load(ctx context.Context, keepAuth bool, rotate []uint32) (*cardFile, layout, *state, error) {
	if !keepAuth {
		if err := a.ensureRead(ctx); err != nil {
			return nil, layout{}, nil, err
		}
	}
	f, l, err := a.open(ctx)
	if err != nil {
		return nil, layout{}, nil, err
	}
	st, err := loadState(ctx, f, l, a.keyFunc(rotate), a.binding())
	return f, l, st, err
}

func (f *cardFile) readChunk() int { return f.chunk }

func (f *cardFile) readAt(ctx context.Context, off, n int) ([]byte, error) {
	if err := f.sel(ctx); err != nil {
		return nil, err
	}
	if off > 0x7FFF {
		return nil, nil
	}
	b, err := f.ch.Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsReadBinary, P1: byte(off >> 8), P2: byte(off), Ne: min(n, f.chunk)})
	switch {
	case err == nil, errors.Is(err, apdu.WarnEndOfFile):
		return b, nil
	case errors.Is(err, apdu.ErrWrongP1P2):
		return nil, nil // offset beyond the end of the EF
	}
	return nil, fmt.Errorf("READ BINARY at %d: %w", off, err)
}

func (f *cardFile) writeAt(ctx context.Context, off int, b []byte) error {
	if off < 0 || off+len(b) > maxEF {
		return fmt.Errorf("%w: UPDATE BINARY of %d bytes at %d beyond the 15-bit offsets", errMalformed, len(b), off)
	}
	if err := f.sel(ctx); err != nil {
		return err
	}
	_, err := f.ch.Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsUpdateBinary, P1: byte(off >> 8), P2: byte(off), Data: b})
	if err != nil {
		return fmt.Errorf("UPDATE BINARY at %d (%d bytes): %w", off, len(b), err)
	}
	return nil
}

func (a *AP) file() *cardFile {
	return &cardFile{ch: a.s.Channel(), chunk: a.s.MaxReadChunk(), fid: a.cfg.DataFID}
}

// ReadReport says which envelope a read returned.
type ReadReport struct {
	Header Header // its header: format, key, version, generation
	Slot   int    // the slot it came from, 0 or 1
	// Fallback is set when the other slot may hold newer data but does
	// not open (a torn write, or a damaged or forged slot), so the read
	// returned this older envelope. It is always reported; with
	// Config.RequireNewest the read fails with a *FallbackError instead.
	// A card can also present an older, wholly authentic image of its
	// EF: no read can tell; a terminal that remembers the highest
	// generation it saw per card can (cardap.GenerationMemory).
	Fallback *Fallback
}

// ReadResult is the decrypted Content of the AP and where it came from.
type ReadResult struct {
	Content
	ReadReport
}

// ReadRaw returns the plaintext of the current envelope and its report.
func (a *AP) ReadRaw(ctx context.Context) ([]byte, ReadReport, error) {
	return a.readRaw(ctx, nil)
}

func (a *AP) readRaw(ctx context.Context, rotate []uint32) ([]byte, ReadReport, error) {
	var pt []byte
	var rep ReadReport
	err := a.do(ctx, "read", func(ctx context.Context) error {
		_, _, st, err := a.load(ctx, false, rotate)
		if err != nil {
			return err
		}
		if st.current < 0 {
			return st.why
		}
		if st.fallback != nil && a.cfg.RequireNewest {
			clear(st.plain)
			return &FallbackError{Fallback: *st.fallback, Older: st.hdr.Generation}
		}
		pt, rep = st.plain, ReadReport{Header: st.hdr, Slot: st.current, Fallback: st.fallback}
		return nil
	})
	return pt, rep, err
}

// Read returns the decrypted Content of the AP: the newest authentic
// envelope of the two slots (docs/PROTOCOL.md §7.4), with a report of
// which one it was and whether a newer slot was skipped.
func (a *AP) Read(ctx context.Context) (ReadResult, error) {
	pt, rep, err := a.ReadRaw(ctx)
	if err != nil {
		return ReadResult{}, err
	}
	defer clear(pt)
	var c Content
	if err := c.UnmarshalBinary(pt); err != nil {
		return ReadResult{}, apsession.Op("typed", "read", err)
	}
	return ReadResult{Content: c, ReadReport: rep}, nil
}

// WriteOptions tune Write.
type WriteOptions struct {
	// OverwriteUnreadable lets the write replace envelopes that no key
	// opens (personalization of an AP whose earlier attempt was torn).
	// Without it such a card gives ErrUnreadableSlots and nothing is
	// written.
	OverwriteUnreadable bool
	// KeepAuthentication skips the switch to the update key (the caller
	// already authenticated a key that may write, e.g. the administrative
	// key during personalization).
	KeepAuthentication bool
}

// Write encrypts c under the data key and writes it tearing-safely: it
// reads both slots (with the read key), checks the capacity (a
// *CapacityError before anything is written), authenticates with the
// update key and writes the new envelope into the slot that does not hold
// the current data, in chunks sized for secure messaging.
func (a *AP) Write(ctx context.Context, c Content, opts WriteOptions) error {
	pt, err := c.MarshalBinary()
	if err != nil {
		return apsession.Op("typed", "write", err)
	}
	return a.WriteRaw(ctx, pt, opts)
}

// WriteRaw is Write for an already encoded plaintext.
func (a *AP) WriteRaw(ctx context.Context, pt []byte, opts WriteOptions) error {
	return a.writeRaw(ctx, pt, opts, nil)
}

// writeRaw writes pt; the current envelope may be under a retired version
// in rotate.
func (a *AP) writeRaw(ctx context.Context, pt []byte, opts WriteOptions, rotate []uint32) error {
	if a.session() == nil {
		return apsession.Op("typed", "write", apsession.ErrNotOpen)
	}
	// Before any APDU when the size is known (configured, or learnt from
	// the card by an earlier operation); otherwise planWrite checks it
	// against the card's FCP, still before anything is written.
	have := layout{capacity: maxEF}.slotSize()
	if a.capacityKnown() {
		have = a.layout().slotSize()
	}
	if need := len(pt) + Overhead; need > have {
		return apsession.Op("typed", "write", &CapacityError{Need: need, Have: have})
	}
	return a.do(ctx, "write", func(ctx context.Context) error {
		f, l, st, err := a.load(ctx, opts.KeepAuthentication, rotate)
		if err != nil {
			return err
		}
		return a.writeLoaded(ctx, f, l, st, pt, opts)
	})
}

// Update reads the AP's content and writes what change makes of it, in
// one transaction that reads the slots once: Read followed by Write
// selects EF.Data and reads both slots twice. change receives what Read
// would return and Read's error (nil, or the reason there is no current
// content: ErrNoData, ErrAuthentication, a *DataKeyError, a
// *FallbackError with Config.RequireNewest, ...), so a caller that
// replaces the whole content can go on where Read would fail; an error
// from change ends Update with nothing written. The write is Write's:
// tearing-safe, under the update key unless opts.KeepAuthentication, a
// *CapacityError before anything is written.
func (a *AP) Update(ctx context.Context, opts WriteOptions, change func(cur ReadResult, err error) (Content, error)) error {
	if a.session() == nil {
		return apsession.Op("typed", "write", apsession.ErrNotOpen)
	}
	return a.do(ctx, "write", func(ctx context.Context) error {
		f, l, st, err := a.load(ctx, opts.KeepAuthentication, nil)
		if err != nil {
			return err
		}
		cur, readErr := a.result(st)
		next, err := change(cur, readErr)
		if err != nil {
			return err
		}
		pt, err := next.MarshalBinary()
		if err != nil {
			return err
		}
		defer clear(pt)
		return a.writeLoaded(ctx, f, l, st, pt, opts)
	})
}

// result is what Read returns for the slots in st.
func (a *AP) result(st *state) (ReadResult, error) {
	defer clear(st.plain)
	switch {
	case st.current < 0:
		return ReadResult{}, st.why
	case st.fallback != nil && a.cfg.RequireNewest:
		return ReadResult{}, &FallbackError{Fallback: *st.fallback, Older: st.hdr.Generation}
	}
	var c Content
	if err := c.UnmarshalBinary(st.plain); err != nil {
		return ReadResult{}, err
	}
	return ReadResult{Content: c, ReadReport: ReadReport{Header: st.hdr, Slot: st.current, Fallback: st.fallback}}, nil
}

// writeLoaded writes pt over the slots loaded into st (Write's steps
// after the read): seal under the latest data key version, switch to the
// update key unless opts.KeepAuthentication, write the other slot.
func (a *AP) writeLoaded(ctx context.Context, f *cardFile, l layout, st *state, pt []byte, opts WriteOptions) error {
	v, err := a.latestVersion(ctx)
	if err != nil {
		return err
	}
	key, err := a.dataKey(ctx, v, Format02)
	if err != nil {
		return &KeyVersionError{KeyID: a.cfg.DataKey, Version: uint32(v), Err: err}
	}
	defer clear(key)
	plan, err := planWrite(st, l, key, a.cfg.DataKey, uint32(v), a.binding(), pt, a.cfg.Rand, opts.OverwriteUnreadable)
	if err != nil {
		return err
	}
	if !opts.KeepAuthentication && a.s.Authenticated() != a.cfg.UpdateKey.Ref {
		if err := a.s.Authenticate(ctx, a.cfg.UpdateKey); err != nil {
			return err
		}
		// The key switch selected the AP again (CUID check) and
		// started a new session: select the EF in it.
		f.selected, f.ch = false, a.s.Channel()
	}
	return writeChunks(ctx, f, l.offset(plan.slot), plan.env, a.s.MaxWriteChunk())
}

// RotateOptions tune Rotate.
type RotateOptions struct {
	// From lists retired data key versions (below MinDataKeyVersion or
	// not in DataKeyVersions) that Rotate may read to migrate them. Reads
	// other than Rotate's never accept them. Versions reads accept need
	// not be listed.
	From []uint32
}

// Rotate re-encrypts the current data under the configured data key
// version (Config.DataKeyVersion, 0: the latest) in envelope format 02: it
// reads the current envelope (under a version reads accept, or one of
// opts.From; always under the configured data key name) and writes a new
// envelope (tearing-safe, like Write). It reports the version it read and
// the version it wrote. A format 01 envelope under the current version is
// re-sealed as format 02 too.
func (a *AP) Rotate(ctx context.Context, opts RotateOptions) (from, to uint32, err error) {
	pt, rep, err := a.readRaw(ctx, opts.From)
	if err != nil {
		return 0, 0, err
	}
	defer clear(pt)
	v, err := a.latestVersion(ctx)
	if err != nil {
		return 0, 0, err
	}
	if err := a.writeRaw(ctx, pt, WriteOptions{}, opts.From); err != nil {
		return 0, 0, err
	}
	return rep.Header.KeyVersion, uint32(v), nil
}

// CheckCapacity reports whether a plaintext of n bytes fits one slot of an
// EF.Data of capacity bytes (docs/PROTOCOL.md §7.4): a *CapacityError
// when it does not. It sends nothing: a caller that knows the capacity
// (Config.Capacity) checks its data before the first APDU.
func CheckCapacity(capacity, n int) error {
	l := layout{capacity: capacity}
	if need, have := n+Overhead, l.slotSize(); need > have || n > math.MaxUint16 {
		return &CapacityError{Need: need, Have: have}
	}
	return nil
}

// Capacity returns the largest plaintext the AP holds: from the card's
// own EF size after the first read or write, else from the configured
// capacity (DefaultCapacity when none is).
func (a *AP) Capacity() int {
	if a.session() == nil {
		return 0
	}
	return a.layout().maxPlaintext()
}

// maxEF is the largest transparent EF of the profile (15-bit offsets).
const maxEF = 32767

// capacityKnown reports whether the capacity was configured or learnt.
func (a *AP) capacityKnown() bool { return a.cfgCapacity != 0 || a.learnt }

// Seal seals personalization (ACTIVATE FILE) under the administrative key.
func (a *AP) Seal(ctx context.Context) error {
	return a.do(ctx, "seal", func(ctx context.Context) error { return a.s.Seal(ctx, a.cfg.AdminKey) })
}

// PasswordStatus asks the card for the password's state with VERIFY
// without data (ISO/IEC 7816-4 §11.5.6): it never spends a try.
func (a *AP) PasswordStatus(ctx context.Context) (profile.PasswordStatus, error) {
	var st profile.PasswordStatus
	err := a.do(ctx, "password status", func(ctx context.Context) error {
		if a.cfg.Password == profile.PasswordNone {
			return ErrNoPassword
		}
		var err error
		st, err = apsession.QueryPassword(ctx, a.s.Channel(), a.cfg.PasswordRef)
		return err
	})
	return st, err
}

// UnblockPassword resets the password's retry counter (RESET RETRY
// COUNTER) under the administrative key, and sets nw as the new password
// when it is not empty (P1 = 02; P1 = 03 when nw is empty). It
// authenticates with the administrative key unless that key is
// authenticated.
func (a *AP) UnblockPassword(ctx context.Context, nw profile.Password) error {
	return a.do(ctx, "unblock password", func(ctx context.Context) error {
		if a.cfg.Password == profile.PasswordNone {
			return ErrNoPassword
		}
		if len(nw) > 0 {
			if err := apsession.CheckPassword(nw); err != nil {
				return err
			}
		}
		if err := a.s.AuthenticateOnce(ctx, a.cfg.AdminKey); err != nil {
			return err
		}
		return apsession.ResetRetryCounter(ctx, a.s.Channel(), a.cfg.PasswordRef, nw)
	})
}

// ensureRead authenticates the read key when another key is
// authenticated (after a write). With a password the card then asks for it
// again: the password is never resent on its own (ErrPasswordRequired).
func (a *AP) ensureRead(ctx context.Context) error {
	if a.s.Authenticated() == a.cfg.ReadKey.Ref {
		return nil
	}
	if a.pwVerified {
		return ErrPasswordRequired
	}
	return a.s.Authenticate(ctx, a.cfg.ReadKey)
}

// Sealed reports whether personalization is sealed, by a plain READ BINARY
// of one byte of EF.Data by SFI (docs/PROTOCOL.md §8.2): open before
// sealing (9000), closed after it (6982). It selects the AP again first
// (CUID check), which ends any secure messaging session, unless the AP
// was selected in the same transaction with no key authenticated since (a
// flow such as personalization). An EF.Data at another FID than the
// profile's (Config.DataFID) has no known SFI and is selected first.
func (a *AP) Sealed(ctx context.Context) (bool, error) {
	var sealed bool
	err := a.do(ctx, "lifecycle probe", func(ctx context.Context) error {
		if err := a.s.CheckCard(ctx); err != nil {
			return err
		}
		// READ BINARY with P1 = 100xxxxx names EF.Data by its short EF
		// identifier (ISO/IEC 7816-4 §11.3.3; SFI 4, docs/PROTOCOL.md
		// §7.1): one APDU, no SELECT EF.
		probe := apdu.Command{CLA: 0x00, INS: apdu.InsReadBinary, P1: 0x80 | profile.SFIData, Ne: 1}
		if a.cfg.DataFID != profile.FIDData {
			if err := selectPlain(ctx, a.s.Plain(), a.cfg.DataFID); err != nil {
				return err
			}
			probe.P1 = 0
		}
		_, err := a.s.Plain().Do(ctx, probe)
		sealed, err = apsession.SealedAnswer(err, apdu.ErrWrongP1P2)
		return err
	})
	return sealed, err
}

func selectPlain(ctx context.Context, ch *apdu.Channel, fid uint16) error {
	_, err := ch.Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsSelect, P1: 0x02, P2: 0x0C, Data: []byte{byte(fid >> 8), byte(fid)}})
	if err != nil {
		return fmt.Errorf("SELECT EF %04X: %w", fid, err)
	}
	return nil
}

// ChangePassword replaces the password (CHANGE REFERENCE DATA, old || new)
// under secure messaging, authenticating with the read key when no key is.
// It asks the remaining tries first and refuses when one is left unless
// opts.AllowLastTry (ErrLastTry). A wrong old password is a
// *profile.PasswordError (unwrapping to the card's *apdu.TriesError).
func (a *AP) ChangePassword(ctx context.Context, old, nw profile.Password, opts VerifyOptions) error {
	return a.do(ctx, "change password", func(ctx context.Context) error {
		if a.cfg.Password == profile.PasswordNone {
			return ErrNoPassword
		}
		if err := apsession.CheckPassword(old, nw); err != nil {
			return err
		}
		if !a.s.Secure() {
			if err := a.s.Authenticate(ctx, a.cfg.ReadKey); err != nil {
				return err
			}
		}
		if _, err := apsession.BeforeTry(ctx, a.s.Channel(), a.cfg.PasswordRef, opts.AllowLastTry); err != nil {
			return apsession.PasswordErr(err)
		}
		return apsession.PasswordErr(apsession.ChangePassword(ctx, a.s.Channel(), a.cfg.PasswordRef, old, nw))
	})
}
