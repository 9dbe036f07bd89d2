// Package personalize is the operator's service-setup terminal: it writes
// the user's identity (and, for Type D, application data) into a freshly
// loaded Type A, C or D AP, sets the initial password, and seals
// personalization (ACTIVATE FILE) so that later writes need the update key.
//
// It is a package of its own because one personalization run spans the
// three AP types with one plan and one set of guarantees, while each type
// package (typea, typed) stays a reader/writer of its own AP. The byte
// level is docs/PROTOCOL.md chapter 8.
//
// One function per AP type, named for the AP it personalizes and taking
// that AP's own Config: personalize.TypeA(ctx, t, typea.Config, req),
// personalize.TypeC, personalize.TypeD. Every run checks the Config
// (ErrConfig of the AP's package) and the Request (ErrInvalidRequest)
// before the first APDU.
//
// A Type A or D run leaves the AP with the newest card-key set the key
// provider holds whole, or Request.KeySet (docs/PROTOCOL.md §5.3, §8.1):
// an AP loaded with an older set is rekeyed in place first (§5.4).
// RekeyTypeA and RekeyTypeD rotate the card keys of an AP in the field,
// tearing-safe and resumable, and cmd/cardap's rekey runs them.
//
// Every run is idempotent and resumable: the steps are ordered so that the
// seal comes last, each step can be repeated with the same result, and a
// run first probes whether the AP is already sealed. When the card is
// pulled away at any point, running the same request again completes the
// personalization.
//
// The probe's answer is one unauthenticated status word, which any card
// can give, so "sealed" is never taken on its word. On a sealed Type A or
// D AP a run authenticates with the operator's read key (a card loaded
// with other keys, or one that lies about its CUID, fails:
// ErrSealedNotOurs), verifies the request's password when it has one
// (the password this run would have set: on a sealed AP of another
// holder it is wrong and spends one of that card's tries, never its last;
// without one, an AP that needs a password to be read gives
// ErrSealedUnverified), reads the identity (and Type D data) and compares
// it with the request: equal reports Result.AlreadySealed, different is
// ErrSealedDifferent. A sealed Type C AP, readable without keys, is
// compared the same way.
package personalize

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typec"
	"github.com/mynacard/freespace/typed"
)

// Request is what to write into a fresh AP. TypeA, TypeC and TypeD check
// it whole before the first APDU; every error about it wraps
// ErrInvalidRequest and names the field.
type Request struct {
	// Identity is the user's ID and attributes. Required.
	Identity profile.Identity
	// Password is the initial password, for Type A and D APs configured
	// with one (Config.Password not profile.PasswordNone); nil leaves the
	// password as loaded. It never prints.
	Password profile.Password
	// Data is Type D's application data, encrypted with the identity
	// into one envelope. Type A and C hold none and ignore it, so one
	// Request can personalize every AP of a card.
	Data []byte
	// KeySet is the card-key set version a Type A or D AP holds after
	// the run (docs/PROTOCOL.md §5.3, §8.1), 1 to 255; 0: the newest set
	// the key provider holds whole (the AP's own set when the provider
	// cannot list its versions). An AP loaded with an older set is
	// rekeyed in place (§5.4) before anything is written. Type C ignores
	// it.
	KeySet int
}

// String describes the request without the password.
func (r Request) String() string {
	return fmt.Sprintf("personalize.Request{UserID: %q, %d attributes, password set: %t, %d data bytes}",
		r.Identity.UserID, len(r.Identity.Attributes), len(r.Password) > 0, len(r.Data))
}

// Result reports a personalization run.
type Result struct {
	// CUID is the card-unique identifier of the AP the run wrote (or
	// found sealed).
	CUID profile.CUID
	// AlreadySealed: the AP was sealed before this run, authenticated
	// with the operator's keys (Types A and D) and holds exactly the
	// requested identity (and Type D data); nothing was changed.
	AlreadySealed bool
	// KeySet is the card-key set version the Type A or D AP holds after
	// the run; Rekeyed says the run loaded it (the AP held an older one).
	KeySet  int
	Rekeyed bool
}

// Errors of package personalize.
var (
	// ErrInvalidRequest is wrapped by every error about a Request (an
	// invalid identity, a password the AP has no place for, a password
	// or data that does not fit), returned before anything is sent.
	ErrInvalidRequest = errors.New("personalize: invalid request")
	// ErrSealedDifferent: the AP is sealed with another identity (or,
	// Type D, other application data) than the request's.
	ErrSealedDifferent = errors.New("personalize: the AP is already sealed with a different identity")
	// ErrSealedNotOurs: the AP answers as sealed but does not complete
	// mutual authentication with the operator's read key: it was loaded
	// with another operator's keys, or is not the card its CUID says.
	// The authentication's error is wrapped.
	ErrSealedNotOurs = errors.New("personalize: the AP is sealed and does not authenticate with the operator's keys")
	// ErrSealedUnverified: the AP is sealed and authenticated, but its
	// identity could not be read to compare with the request (the AP
	// needs a password and the request has none, or the request's
	// password was refused). The cause is wrapped.
	ErrSealedUnverified = errors.New("personalize: the AP is sealed and its identity could not be read to compare")
	// ErrCardSwappedDuringRun: the CUID changed between two steps of a
	// run. It matches profile.ErrCardSwapped, as the card-swapped errors
	// of typea and typed do.
	ErrCardSwappedDuringRun = fmt.Errorf("personalize: %w", profile.ErrCardSwapped)
)

// TypeA personalizes a Type A AP: probe the lifecycle, mutual
// authentication with the administrative key, the records (UPDATE /
// APPEND RECORD), the password (RESET RETRY COUNTER, P1 = 02), ACTIVATE
// FILE. All of it is checked (record sizes, record count, password format)
// before the first write.
func TypeA(ctx context.Context, t apdu.Transport, cfg typea.Config, req Request) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if err := checkRequest(req, cfg.Password); err != nil {
		return Result{}, err
	}
	if _, err := typea.EncodeRecords(req.Identity); err != nil {
		return Result{}, fmt.Errorf("%w: Identity: %w", ErrInvalidRequest, err)
	}
	return run(ctx, t, "Type A", func(ctx context.Context) (*typea.AP, error) { return typea.OpenUnauthenticated(ctx, t, cfg) },
		func(ctx context.Context, ap *typea.AP) error { return sealedTypeA(ctx, ap, req) },
		func(ctx context.Context, ap *typea.AP) error {
			c := ap.Config()
			if err := adminSession(ctx, ap, []keys.CardKey{c.ReadKey, c.UpdateKey, c.AdminKey}, c.Keys, req.KeySet); err != nil {
				return err
			}
			if err := ap.WriteIdentity(ctx, req.Identity); err != nil {
				return err
			}
			if len(req.Password) == 0 {
				return nil
			}
			return ap.UnblockPassword(ctx, req.Password)
		})
}

// TypeD personalizes a Type D AP: probe the lifecycle, mutual
// authentication with the administrative key, the encrypted envelope
// (replacing anything unreadable a torn earlier run left), the password,
// ACTIVATE FILE.
func TypeD(ctx context.Context, t apdu.Transport, cfg typed.Config, req Request) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if err := checkRequest(req, cfg.Password); err != nil {
		return Result{}, err
	}
	c := typed.Content{Identity: req.Identity, Data: req.Data}
	pt, err := c.MarshalBinary()
	if err != nil {
		return Result{}, fmt.Errorf("%w: Data: %w", ErrInvalidRequest, err)
	}
	if cfg.Capacity != 0 {
		// Known before any APDU; otherwise the write checks the card's
		// own size before it writes anything.
		if err := typed.CheckCapacity(cfg.Capacity, len(pt)); err != nil {
			return Result{}, fmt.Errorf("%w: Data: %w", ErrInvalidRequest, err)
		}
	}
	return run(ctx, t, "Type D", func(ctx context.Context) (*typed.AP, error) { return typed.OpenUnauthenticated(ctx, t, cfg) },
		func(ctx context.Context, ap *typed.AP) error { return sealedTypeD(ctx, ap, req, pt) },
		func(ctx context.Context, ap *typed.AP) error {
			c := ap.Config()
			if err := adminSession(ctx, ap, []keys.CardKey{c.ReadKey, c.UpdateKey, c.AdminKey}, c.Keys, req.KeySet); err != nil {
				return err
			}
			if err := ap.WriteRaw(ctx, pt, typed.WriteOptions{OverwriteUnreadable: true, KeepAuthentication: true}); err != nil {
				return err
			}
			if len(req.Password) == 0 {
				return nil
			}
			return ap.UnblockPassword(ctx, req.Password)
		})
}

// checkRequest checks a request before the first APDU: the identity is
// valid, a password goes only to an AP configured with one and has a
// valid format (none given: the password stays as loaded).
func checkRequest(req Request, mode profile.PasswordMode) error {
	if err := req.Identity.Validate(); err != nil {
		return fmt.Errorf("%w: Identity: %w", ErrInvalidRequest, err)
	}
	if req.KeySet < 0 || req.KeySet > profile.MaxKeySet {
		return fmt.Errorf("%w: KeySet: %d, want 0 to %d", ErrInvalidRequest, req.KeySet, profile.MaxKeySet)
	}
	if len(req.Password) == 0 {
		return nil
	}
	if mode == profile.PasswordNone {
		return fmt.Errorf("%w: Password: the AP is configured without a password", ErrInvalidRequest)
	}
	if err := apsession.CheckPassword(req.Password); err != nil {
		return fmt.Errorf("%w: Password: %w", ErrInvalidRequest, err)
	}
	return nil
}

// sealable is what a run needs of an opened Type A or Type D AP.
type sealable interface {
	CUID() profile.CUID
	KeySet() int
	Close() error
	Sealed(ctx context.Context) (bool, error)
	Seal(ctx context.Context) error
}

// run is a personalization run of an AP with keys (docs/PROTOCOL.md
// chapter 8), in one PC/SC transaction: open the AP, probe its lifecycle
// (a sealed AP is left as it is, once sealedSame has shown that it
// authenticates with the operator's keys and holds the request:
// Result.AlreadySealed), write (the type's steps under the administrative
// key), seal last.
func run[A sealable](ctx context.Context, t apdu.Transport, what string, open func(context.Context) (A, error), sealedSame, write func(context.Context, A) error) (Result, error) {
	var res Result
	err := apsession.WithTransaction(ctx, t, func(ctx context.Context) error {
		ap, err := open(ctx)
		if err != nil {
			return err
		}
		defer ap.Close()
		res.CUID = ap.CUID()
		from := ap.KeySet()
		defer func() { res.KeySet, res.Rekeyed = ap.KeySet(), ap.KeySet() != from }()
		sealed, err := ap.Sealed(ctx)
		if err != nil {
			return err
		}
		if sealed {
			// One plain status word said so, which any card can say:
			// prove the card and compare before reporting success.
			if err := sealedSame(ctx, ap); err != nil {
				return err
			}
			res.AlreadySealed = true
			return nil
		}
		if err := write(ctx, ap); err != nil {
			return err
		}
		return ap.Seal(ctx)
	})
	if err != nil {
		return res, apsession.Op("personalize", what, err)
	}
	return res, nil
}

// sealedTypeA checks a sealed Type A AP against the request: mutual
// authentication with the read key (ErrSealedNotOurs), the request's
// password when it has one and the AP is configured with one
// (ErrSealedUnverified when refused, never at the last try), all records
// read and compared (ErrSealedDifferent).
func sealedTypeA(ctx context.Context, ap *typea.AP, req Request) error {
	if err := ap.Authenticate(ctx, ap.Config().ReadKey); err != nil {
		return fmt.Errorf("%w: %w", ErrSealedNotOurs, err)
	}
	if len(req.Password) > 0 && ap.Config().Password != profile.PasswordNone {
		if ap.Config().Password == profile.PasswordBeforeAuth {
			// The card proved itself above; the password goes in plain,
			// as this mode wants, after the session ends: Verify selects
			// the AP again and compares its CUID first.
			if err := ap.Close(); err != nil {
				return err
			}
		}
		if err := ap.Verify(ctx, req.Password, typea.VerifyOptions{}); err != nil {
			return fmt.Errorf("%w: %w", ErrSealedUnverified, err)
		}
		if ap.Config().Password == profile.PasswordBeforeAuth {
			if err := ap.Authenticate(ctx, ap.Config().ReadKey); err != nil {
				return fmt.Errorf("%w: %w", ErrSealedNotOurs, err)
			}
		}
	}
	got, err := ap.ReadAll(ctx)
	if err != nil {
		if errors.Is(err, apdu.ErrSecurityStatusNotSatisfied) {
			return fmt.Errorf("%w: %w", ErrSealedUnverified, err)
		}
		return err
	}
	want, err := typea.EncodeRecords(req.Identity)
	if err != nil {
		return err
	}
	have, err := typea.EncodeRecords(got)
	if err != nil || !equalRecords(have, want) {
		return ErrSealedDifferent
	}
	return nil
}

// equalRecords compares two record lists byte for byte.
func equalRecords(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// sealedTypeD checks a sealed Type D AP against the request: mutual
// authentication with the read key (ErrSealedNotOurs), the request's
// password when it has one (ErrSealedUnverified when refused, never at the
// last try), the content read, decrypted and compared with pt, the
// request's plaintext (ErrSealedDifferent).
func sealedTypeD(ctx context.Context, ap *typed.AP, req Request, pt []byte) error {
	if err := ap.Authenticate(ctx, ap.Config().ReadKey); err != nil {
		return fmt.Errorf("%w: %w", ErrSealedNotOurs, err)
	}
	if len(req.Password) > 0 {
		if err := ap.Verify(ctx, req.Password, typed.VerifyOptions{}); err != nil {
			return fmt.Errorf("%w: %w", ErrSealedUnverified, err)
		}
	}
	got, err := ap.Read(ctx)
	if err != nil {
		if errors.Is(err, apdu.ErrSecurityStatusNotSatisfied) {
			return fmt.Errorf("%w: %w", ErrSealedUnverified, err)
		}
		if errors.Is(err, typed.ErrNoData) {
			return fmt.Errorf("%w: %w", ErrSealedDifferent, err)
		}
		return err
	}
	have, err := got.MarshalBinary()
	if err != nil || !bytes.Equal(have, pt) {
		return ErrSealedDifferent
	}
	return nil
}

// TypeC personalizes a Type C AP: SELECT, the Identity object into EF 0002
// (UPDATE BINARY, padded with 00 over any longer earlier content), ACTIVATE
// FILE. Type C has no keys and no password. On a sealed AP the identity is
// compared: equal gives AlreadySealed, different gives ErrSealedDifferent.
func TypeC(ctx context.Context, t apdu.Transport, cfg typec.Config, req Request) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if err := checkRequest(req, profile.PasswordNone); err != nil {
		return Result{}, err
	}
	body, err := req.Identity.MarshalBinary()
	if err != nil {
		return Result{}, fmt.Errorf("%w: Identity: %w", ErrInvalidRequest, err)
	}
	aid := cfg.AID
	if len(aid) == 0 {
		aid = profile.DefaultAID(profile.TypeC)
	}
	fid := cfg.IdentityFID
	if fid == 0 {
		fid = profile.FIDIdentity
	}
	var res Result
	sealed := false
	err = apsession.WithTransaction(ctx, t, func(ctx context.Context) error {
		var err error
		res.CUID, sealed, err = writeTypeC(ctx, t, aid, cfg.CUIDFID, fid, body)
		return err
	})
	if err == nil && sealed {
		res.AlreadySealed, err = sealedTypeC(ctx, t, cfg, res.CUID, body)
	}
	if err != nil {
		return res, apsession.Op("personalize", "Type C", err)
	}
	return res, nil
}

// writeTypeC selects the Type C AP (CUID from the FCI or EF.CUID), writes
// body into EF fid padded with 00 to the EF's size, and seals (ACTIVATE
// FILE, docs/PROTOCOL.md §8.1). sealed reports an AP that refused the
// write with 6982: sealed already, nothing changed.
func writeTypeC(ctx context.Context, t apdu.Transport, aid profile.AID, cuidFID, fid uint16, body []byte) (cuid profile.CUID, sealed bool, err error) {
	s, err := apsession.Open(ctx, t, apsession.Config{AID: aid, CUIDFID: cuidFID})
	if err != nil {
		return cuid, false, err
	}
	cuid = s.CUID()
	ch := s.Plain()
	// SELECT EF with P2 = 04: return the FCP, whose tag 80 is the EF's
	// size in bytes (ISO/IEC 7816-4 §7.4.3).
	fcp, err := ch.Do(ctx, apdu.Command{CLA: 0x00, INS: 0xA4, P1: 0x02, P2: 0x04, Data: []byte{byte(fid >> 8), byte(fid)}, Ne: apdu.MaxShortNe})
	if err != nil {
		return cuid, false, fmt.Errorf("SELECT EF %04X: %w", fid, err)
	}
	size := 0
	// Tag 80 is an unsigned integer of any length; up to four bytes
	// (leading zeros allowed) are read.
	if o, err := apdu.FindBER(fcp, 0x80); err == nil && len(o.Value) <= 4 {
		for _, b := range o.Value {
			size = size<<8 | int(b)
		}
	}
	if size > maxEF {
		// UPDATE BINARY reaches offsets up to 7FFF only (ISO/IEC 7816-4
		// §11.3.3): past it P1 bit 8 names a short EF identifier, so
		// padding up to such a size would write another file.
		return cuid, false, fmt.Errorf("%w: EF %04X of %d bytes is larger than the %d bytes 15-bit offsets reach", profile.ErrMalformed, fid, size, maxEF)
	}
	// Padding with 00 wipes any longer earlier content: an Identity
	// object is followed by 00 / FF only (docs/PROTOCOL.md §2.1).
	data := append(bytes.Clone(body), make([]byte, max(0, size-len(body)))...)
	if err := updateBinary(ctx, ch, data); err != nil {
		if errors.Is(err, apdu.ErrSecurityStatusNotSatisfied) {
			// Sealed: no change possible without the update key.
			return cuid, true, nil
		}
		return cuid, false, err
	}
	// ACTIVATE FILE of the current DF (ISO/IEC 7816-4 §11.2.6).
	if _, err := ch.Do(ctx, apdu.Command{CLA: 0x00, INS: 0x44}); err != nil {
		return cuid, false, fmt.Errorf("ACTIVATE FILE: %w", err)
	}
	return cuid, false, nil
}

// sealedTypeC compares a sealed Type C AP, readable without keys, with the
// request: same identity is AlreadySealed, another is ErrSealedDifferent;
// a CUID other than the one the write saw is ErrCardSwappedDuringRun.
func sealedTypeC(ctx context.Context, t apdu.Transport, cfg typec.Config, cuid profile.CUID, body []byte) (bool, error) {
	r, err := typec.Read(ctx, t, cfg)
	if err != nil {
		return false, err
	}
	if r.CUID != cuid {
		return false, ErrCardSwappedDuringRun
	}
	cur, err := r.Identity.MarshalBinary()
	if err != nil {
		return false, err
	}
	if !bytes.Equal(cur, body) {
		return false, ErrSealedDifferent
	}
	return true, nil
}

// maxEF is the largest transparent EF UPDATE BINARY with a 15-bit offset
// writes whole.
const maxEF = 0x7FFF

// updateBinary writes data at offset 0 in short APDUs.
func updateBinary(ctx context.Context, ch *apdu.Channel, data []byte) error {
	if len(data) > maxEF {
		return fmt.Errorf("%w: %d bytes exceed the %d bytes 15-bit offsets reach", profile.ErrMalformed, len(data), maxEF)
	}
	for off := 0; off < len(data); off += apdu.MaxShortLc {
		part := data[off:min(len(data), off+apdu.MaxShortLc)]
		if _, err := ch.Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsUpdateBinary, P1: byte(off >> 8), P2: byte(off), Data: part}); err != nil {
			return fmt.Errorf("UPDATE BINARY at %d: %w", off, err)
		}
	}
	return nil
}
