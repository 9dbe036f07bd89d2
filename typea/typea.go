package typea

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
)

// AP is a selected Type A AP on one card. Each method runs in a PC/SC
// transaction of its own (apdu.WithTransaction). An AP is not safe for
// concurrent use.
//
// When the card-side session is lost (secure messaging ended, card reset)
// the next method first selects the AP again and compares the CUID: a
// different card gives ErrCardSwapped and nothing else is sent. The
// password is never kept and never resent on its own: after a lost session
// the caller verifies again.
type AP struct {
	cfg Config
	s   *apsession.Session
}

// Open selects the Type A AP, authenticates it with the read key and,
// when pw is not empty, verifies the password (before or after the
// authentication, as Config.Password says), all in one transaction: the
// AP is then ready to read. A wrong password is a *profile.PasswordError; one
// try left without Config.AllowLastTry is ErrLastTry. An empty pw
// verifies nothing: an AP that needs its password then refuses reads with
// ErrPasswordRequired. Open checks cfg first (Config.Validate).
func Open(ctx context.Context, t apdu.Transport, cfg Config, pw profile.Password) (*AP, error) {
	if len(pw) > 0 && cfg.Password == profile.PasswordNone {
		return nil, ErrNoPassword // before anything is sent
	}
	return open(ctx, t, cfg, func(ctx context.Context, a *AP) error { return a.authRead(ctx, pw) })
}

// OpenUnauthenticated selects the Type A AP (SELECT by DF name, CUID from
// the FCI) and authenticates nothing: for personalization of a fresh AP,
// the lifecycle probe (Sealed) and password administration, which
// authenticate the key they need (Authenticate).
func OpenUnauthenticated(ctx context.Context, t apdu.Transport, cfg Config) (*AP, error) {
	return open(ctx, t, cfg, nil)
}

// open selects the AP and, in the same transaction, runs then (nil: none).
func open(ctx context.Context, t apdu.Transport, cfg Config, then func(context.Context, *AP) error) (*AP, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &AP{cfg: cfg}
	err = apsession.WithTransaction(ctx, t, func(ctx context.Context) error {
		s, err := apsession.Open(ctx, t, cfg.session())
		a.s = s
		if err != nil || then == nil {
			return err
		}
		return then(ctx, a)
	})
	if err != nil {
		if a.s != nil {
			// Authentication may have succeeded before the step that
			// failed (a wrong password): drop the session keys now, the
			// caller gets no AP to Close.
			_ = a.s.Close()
		}
		return nil, apsession.Op("typea", "open", err)
	}
	return a, nil
}

// authRead authenticates the read key with pw verified in the configured
// order (docs/PROTOCOL.md §3.3); an empty pw verifies nothing.
func (a *AP) authRead(ctx context.Context, pw profile.Password) error {
	opts := VerifyOptions{AllowLastTry: a.cfg.AllowLastTry}
	if len(pw) > 0 && a.cfg.Password == profile.PasswordNone {
		return ErrNoPassword
	}
	if len(pw) > 0 && a.cfg.Password == profile.PasswordBeforeAuth {
		// Just selected: the CUID was read in this transaction, no new
		// check needed before the password goes.
		if err := a.verify(ctx, pw, opts, false); err != nil {
			return err
		}
	}
	if err := a.s.Authenticate(ctx, a.cfg.ReadKey); err != nil {
		return err
	}
	if len(pw) > 0 && a.cfg.Password == profile.PasswordAfterAuth {
		return a.verify(ctx, pw, opts, false)
	}
	return nil
}

// CUID returns the card-unique identifier read when the AP was opened.
func (a *AP) CUID() profile.CUID { return a.session().CUID() }

// Config returns the effective configuration, defaults filled in.
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

// do runs fn as the operation op (apsession.Session.Run: a transaction,
// resuming a lost session first).
func (a *AP) do(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	return apsession.Op("typea", op, a.session().Run(ctx, fn))
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

// passwordChannel returns the channel VERIFY goes through in the
// configured mode, or an error when the order is wrong. With checkCard it
// selects the AP again first and compares the CUID.
func (a *AP) passwordChannel(ctx context.Context, checkCard bool) (*apdu.Channel, error) {
	switch a.cfg.Password {
	case profile.PasswordNone:
		return nil, ErrNoPassword
	case profile.PasswordAfterAuth:
		if !a.s.Secure() {
			return nil, errors.New("the password is verified after mutual authentication, and no key is authenticated")
		}
	case profile.PasswordBeforeAuth:
		if a.s.Secure() {
			return nil, errors.New("the password is verified before mutual authentication, and a key is authenticated")
		}
	}
	if checkCard {
		if err := a.s.CheckCard(ctx); err != nil {
			return nil, err
		}
	}
	return a.s.Channel(), nil
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

// VerifyOptions tune Verify and ChangePassword.
type VerifyOptions struct {
	// AllowLastTry lets the password go when one try is left. Without it
	// the operation refuses with ErrLastTry: a wrong password would then
	// block the card.
	AllowLastTry bool
}

// Verify checks the password with the card, once: it asks the remaining
// tries first (no try spent), refuses when the password is blocked
// (*profile.PasswordError, Blocked) or has one try left (ErrLastTry, unless
// opts.AllowLastTry), then sends VERIFY. A wrong password gives a
// *profile.PasswordError with the remaining tries (it unwraps to *apdu.TriesError).
// In PasswordBeforeAuth mode the AP is selected again first and its CUID
// compared, so the password never goes to a swapped card (unless it was
// selected in the same transaction: then the card is the same); no
// SELECT follows before Authenticate, which would clear the password
// (docs/PROTOCOL.md §1.4, §6.4).
func (a *AP) Verify(ctx context.Context, pw profile.Password, opts VerifyOptions) error {
	return a.do(ctx, "verify password", func(ctx context.Context) error {
		return a.verify(ctx, pw, opts, a.cfg.Password == profile.PasswordBeforeAuth)
	})
}

func (a *AP) verify(ctx context.Context, pw profile.Password, opts VerifyOptions, checkCard bool) error {
	if err := apsession.CheckPassword(pw); err != nil {
		return err
	}
	ch, err := a.passwordChannel(ctx, checkCard)
	if err != nil {
		return err
	}
	verified, err := apsession.BeforeTry(ctx, ch, a.cfg.PasswordRef, opts.AllowLastTry)
	if err != nil || verified {
		return passwordErr(err)
	}
	return passwordErr(apsession.Verify(ctx, ch, a.cfg.PasswordRef, pw))
}

// passwordErr is apsession.PasswordErr: the card's tries answers as
// *profile.PasswordError.
func passwordErr(err error) error { return apsession.PasswordErr(err) }

// ChangePassword replaces the password (CHANGE REFERENCE DATA, P1 = 00,
// old || new). A wrong old password spends a try (*profile.PasswordError). The
// same one-try-left rule as Verify applies.
func (a *AP) ChangePassword(ctx context.Context, old, nw profile.Password, opts VerifyOptions) error {
	return a.do(ctx, "change password", func(ctx context.Context) error {
		if err := apsession.CheckPassword(old, nw); err != nil {
			return err
		}
		ch, err := a.passwordChannel(ctx, a.cfg.Password == profile.PasswordBeforeAuth)
		if err != nil {
			return err
		}
		if _, err := apsession.BeforeTry(ctx, ch, a.cfg.PasswordRef, opts.AllowLastTry); err != nil {
			return passwordErr(err)
		}
		return passwordErr(apsession.ChangePassword(ctx, ch, a.cfg.PasswordRef, old, nw))
	})
}

// UnblockPassword resets the password's retry counter (RESET RETRY
// COUNTER) under the administrative key, and sets nw as the new password
// when it is not empty. It authenticates with the administrative key
// unless that key is authenticated.
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

// recordP2 is P2 of the record commands: SFI of EF.Records, and b3-b1 =
// 100 (record number in P1) for READ/UPDATE, 000 for APPEND.
func (a *AP) recordP2(append bool) byte {
	if append {
		return a.cfg.RecordsSFI << 3
	}
	return a.cfg.RecordsSFI<<3 | 0x04
}

// maxRecord is the largest record the current mode carries in one APDU.
func (a *AP) maxRecord() int {
	return min(MaxRecordLen, a.s.MaxReadChunk(), a.s.MaxWriteChunk())
}

func (a *AP) readRecord(ctx context.Context, n int) ([]byte, error) {
	// ISO/IEC 7816-4 §11.4.3: P1 = record number, 00 and FF reserved.
	if n < 1 || n > 254 {
		return nil, fmt.Errorf("%w: record number %d out of range 1..254", ErrRecordFormat, n)
	}
	b, err := a.s.Channel().Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsReadRecord, P1: byte(n), P2: a.recordP2(false), Ne: a.maxRecord()})
	if errors.Is(err, apdu.ErrSecurityStatusNotSatisfied) && a.s.Authenticated() == a.cfg.ReadKey.Ref {
		// 6982 under the read key's session: the AP wants its password
		// verified (docs/PROTOCOL.md §6.4), whatever this host's mode.
		return nil, fmt.Errorf("%w: %w", ErrPasswordRequired, err)
	}
	if errors.Is(err, apdu.WarnEndOfFile) {
		// 6282: the record is shorter than Ne; the data is the record.
		return b, nil
	}
	return b, err
}

// ReadRecord reads record n of EF.Records (READ RECORD by SFI).
func (a *AP) ReadRecord(ctx context.Context, n int) ([]byte, error) {
	var out []byte
	err := a.do(ctx, fmt.Sprintf("read record %d", n), func(ctx context.Context) error {
		var err error
		out, err = a.readRecord(ctx, n)
		return err
	})
	return out, err
}

// ReadIdentity reads record 1 and returns the Identity it holds (without
// the attributes of later records; see ReadAll). One APDU.
func (a *AP) ReadIdentity(ctx context.Context) (profile.Identity, error) {
	var id profile.Identity
	err := a.do(ctx, "read identity", func(ctx context.Context) error {
		var err error
		id, err = a.readIdentity(ctx)
		return err
	})
	return id, err
}

// readIdentity reads and decodes record 1; 6A83 (record not found) means
// the AP holds no identity yet (docs/PROTOCOL.md §6.3).
func (a *AP) readIdentity(ctx context.Context) (profile.Identity, error) {
	r, err := a.readRecord(ctx, RecordIdentity)
	if errors.Is(err, apdu.ErrRecordNotFound) {
		return profile.Identity{}, fmt.Errorf("%w: %w", profile.ErrNotPersonalized, err)
	}
	if err != nil {
		return profile.Identity{}, err
	}
	return DecodeIdentityRecord(r)
}

// ReadAll reads every record (1, 2, ... until 6A83 record not found) and
// returns the Identity with its attributes.
func (a *AP) ReadAll(ctx context.Context) (profile.Identity, error) {
	var id profile.Identity
	err := a.do(ctx, "read records", func(ctx context.Context) error {
		var recs [][]byte
		for n := 1; n <= a.cfg.MaxRecords; n++ {
			r, err := a.readRecord(ctx, n)
			if errors.Is(err, apdu.ErrRecordNotFound) {
				break
			}
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		var err error
		id, err = DecodeRecords(recs)
		return err
	})
	return id, err
}

// UpdateRecord replaces record n (UPDATE RECORD). Once the AP is sealed the
// card requires the update key (Authenticate with Config.UpdateKey).
func (a *AP) UpdateRecord(ctx context.Context, n int, data []byte) error {
	return a.do(ctx, fmt.Sprintf("update record %d", n), func(ctx context.Context) error {
		return a.updateRecord(ctx, n, data)
	})
}

func (a *AP) updateRecord(ctx context.Context, n int, data []byte) error {
	// docs/PROTOCOL.md §6.3: one record per APDU, so a record is at most
	// what one protected APDU carries (§4.5); checked before sending.
	if len(data) == 0 || len(data) > a.maxRecord() {
		return &RecordSizeError{Record: n, Len: len(data), Max: a.maxRecord()}
	}
	// ISO/IEC 7816-4 §11.4.5: P1 = record number, 00 and FF reserved.
	if n < 1 || n > 254 {
		return fmt.Errorf("%w: record number %d out of range 1..254", ErrRecordFormat, n)
	}
	_, err := a.s.Channel().Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsUpdateRecord, P1: byte(n), P2: a.recordP2(false), Data: data})
	return err
}

// AppendRecord appends a record (APPEND RECORD). Once the AP is sealed the
// card requires the update key.
func (a *AP) AppendRecord(ctx context.Context, data []byte) error {
	return a.do(ctx, "append record", func(ctx context.Context) error { return a.appendRecord(ctx, data) })
}

func (a *AP) appendRecord(ctx context.Context, data []byte) error {
	if len(data) == 0 || len(data) > a.maxRecord() {
		return &RecordSizeError{Len: len(data), Max: a.maxRecord()}
	}
	_, err := a.s.Channel().Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsAppendRecord, P2: a.recordP2(true), Data: data})
	return err
}

// WriteIdentity writes id as the records of EF.Records: record 1, one
// record per attribute (UPDATE RECORD, or APPEND RECORD where the record
// does not exist yet), and marks the records after them free (00). Every
// record is encoded and checked before the first command, so an identity
// that does not fit fails with nothing written. It authenticates with the
// update key unless that key is already authenticated. Writing the same
// identity again is harmless (idempotent).
func (a *AP) WriteIdentity(ctx context.Context, id profile.Identity) error {
	if a.session() == nil {
		return apsession.Op("typea", "write identity", apsession.ErrNotOpen)
	}
	recs, err := EncodeRecords(id)
	if err != nil {
		return apsession.Op("typea", "write identity", err)
	}
	if len(recs) > a.cfg.MaxRecords {
		return apsession.Op("typea", "write identity", &CapacityError{Records: len(recs), Max: a.cfg.MaxRecords})
	}
	return a.do(ctx, "write identity", func(ctx context.Context) error {
		if k := a.s.Authenticated(); k != a.cfg.UpdateKey.Ref && k != a.cfg.AdminKey.Ref {
			if err := a.s.Authenticate(ctx, a.cfg.UpdateKey); err != nil {
				return err
			}
		}
		return a.writeRecords(ctx, recs)
	})
}

// writeRecords writes recs as records 1..n and frees the records after.
func (a *AP) writeRecords(ctx context.Context, recs [][]byte) error {
	for _, r := range recs {
		if len(r) > a.maxRecord() {
			return &RecordSizeError{Len: len(r), Max: a.maxRecord()}
		}
	}
	// The records of a linear file are numbered 1..n without gaps
	// (ISO/IEC 7816-4 §7.3.1, APPEND RECORD adds n+1): once record i is
	// not found, no later one exists, so the rest are appended without
	// trying UPDATE first and none is left to free.
	appending := false
	for i, r := range recs {
		var err error
		if !appending {
			err = a.updateRecord(ctx, i+1, r)
			appending = errors.Is(err, apdu.ErrRecordNotFound)
		}
		if appending {
			err = a.appendRecord(ctx, r)
		}
		if err != nil {
			return fmt.Errorf("record %d: %w", i+1, err)
		}
	}
	if appending {
		return nil
	}
	for n := len(recs) + 1; n <= a.cfg.MaxRecords; n++ {
		err := a.updateRecord(ctx, n, freeRecord)
		if errors.Is(err, apdu.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("record %d: %w", n, err)
		}
	}
	return nil
}

// Result is what Read returns.
type Result struct {
	// CUID is the card-unique identifier the AP gave in its FCI.
	CUID profile.CUID
	// Identity is record 1, without the attributes of later records.
	Identity profile.Identity
	// KeySet is the card-key set version the card authenticated with
	// (docs/PROTOCOL.md §5.3).
	KeySet int
}

// Read is the whole Type A transaction of a gate or kiosk, in one PC/SC
// transaction: Open (SELECT with the CUID from the FCI, GET CHALLENGE,
// MUTUAL AUTHENTICATE with the read key, VERIFY of pw when it is not
// empty) and READ RECORD 1 under secure messaging. Without a password
// that is 4 APDUs. Read checks cfg first (Config.Validate).
func Read(ctx context.Context, t apdu.Transport, cfg Config, pw profile.Password) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	if len(pw) > 0 && cfg.Password == profile.PasswordNone {
		return Result{}, ErrNoPassword // before anything is sent
	}
	var res Result
	err = apsession.WithTransaction(ctx, t, func(ctx context.Context) error {
		s, err := apsession.Open(ctx, t, cfg.session())
		if err != nil {
			return err
		}
		defer s.Close()
		a := &AP{cfg: cfg, s: s}
		res.CUID, res.KeySet = s.CUID(), s.KeySet()
		if err := a.authRead(ctx, pw); err != nil {
			return err
		}
		res.Identity, err = a.readIdentity(ctx)
		return err
	})
	if err != nil {
		return Result{}, apsession.Op("typea", "read", err)
	}
	return res, nil
}

// Seal seals personalization (ACTIVATE FILE on the AP): afterwards writes
// need the update key. The card requires the administrative key; Seal
// authenticates with it unless it is already authenticated. Sealing a
// sealed AP succeeds (no-op).
func (a *AP) Seal(ctx context.Context) error {
	return a.do(ctx, "seal", func(ctx context.Context) error { return a.s.Seal(ctx, a.cfg.AdminKey) })
}

// Sealed reports whether personalization is sealed, by a plain READ RECORD
// 1 (docs/PROTOCOL.md §8.2): the profile leaves EF.Records open before
// sealing (9000, 6282 or 6A83) and closed after it (6982). It selects the
// AP again first (CUID check), which ends any secure messaging session,
// unless the AP was selected in the same transaction with no key
// authenticated since (a flow such as personalization).
func (a *AP) Sealed(ctx context.Context) (bool, error) {
	var sealed bool
	err := a.do(ctx, "lifecycle probe", func(ctx context.Context) error {
		if err := a.s.CheckCard(ctx); err != nil {
			return err
		}
		_, err := a.s.Plain().Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsReadRecord, P1: RecordIdentity, P2: a.recordP2(false), Ne: apdu.MaxShortNe})
		sealed, err = apsession.SealedAnswer(err, apdu.ErrRecordNotFound)
		return err
	})
	return sealed, err
}
