package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// identityJSON is the JSON form of an Identity read from a card.
type identityJSON struct {
	Reader     string              `json:"reader"`
	Type       string              `json:"type"`
	AID        string              `json:"aid"`
	CUID       profile.CUID        `json:"cuid"`
	UserID     string              `json:"user_id"`
	Expires    string              `json:"expires,omitempty"`
	Attributes []profile.Attribute `json:"attributes,omitempty"`
	Data       []byte              `json:"data,omitempty"`
	APDUs      int                 `json:"apdus"`
	// KeySet is the card-key set the card authenticated with (Type A,
	// D; docs/PROTOCOL.md §5.3).
	KeySet int `json:"key_set,omitempty"`
}

func newIdentityJSON(readerName, typ string, aid profile.AID, cuid profile.CUID, id profile.Identity) identityJSON {
	out := identityJSON{Reader: readerName, Type: typ, AID: aid.String(), CUID: cuid, UserID: id.UserID, Attributes: id.Attributes}
	if !id.Expires.IsZero() {
		out.Expires = id.Expires.Format(time.DateOnly)
	}
	return out
}

// printIdentity writes out (as JSON with asJSON) to stdout.
func printIdentity(c *cli, asJSON bool, out identityJSON) error {
	if asJSON {
		return writeJSON(c.stdout, out)
	}
	fmt.Fprintf(c.stdout, "Type %s AP %s\nCUID     %s\nuser ID  %s\n", out.Type, out.AID, out.CUID, out.UserID)
	if out.Expires != "" {
		fmt.Fprintf(c.stdout, "expires  %s\n", out.Expires)
	}
	for _, a := range out.Attributes {
		// The value is the card's: any UTF-8, control characters included.
		// Quoted, a hostile card cannot send escape sequences to the
		// terminal (as typec read prints it).
		fmt.Fprintf(c.stdout, "%-8s %q\n", a.Name, a.Value)
	}
	if len(out.Data) > 0 {
		fmt.Fprintf(c.stdout, "data     %d bytes\n", len(out.Data))
	}
	_, err := fmt.Fprintf(c.stdout, "(%d APDUs)\n", out.APDUs)
	return err
}

// countingTransport counts the APDUs of a command for its output. It
// unwraps to the card, so PC/SC transactions still apply.
type countingTransport struct {
	apdu.Counter
	// src and card, when set, are closed by Close.
	src  cardSource
	card card
}

// connectCounted connects to the card of --reader (see connect) and
// returns it behind the --trace wrapper, counting APDUs. The caller
// closes it.
func connectCounted(ctx context.Context, c *cli, f common) (*countingTransport, error) {
	src, cd, err := connect(ctx, f.reader)
	if err != nil {
		return nil, err
	}
	return &countingTransport{Counter: apdu.Counter{Next: f.transport(c, cd)}, src: src, card: cd}, nil
}

// Reader names the card's reader.
func (t *countingTransport) Reader() string { return t.card.Reader() }

// Close closes the card and its source.
func (t *countingTransport) Close() error {
	return errors.Join(t.card.Close(), t.src.Close())
}

// cmdTypeA is `cardap typea read`.
func cmdTypeA(ctx context.Context, c *cli, args []string) (code int) {
	const usage = "typea read --keys SPEC [--suite SUITE] [--reader NAME] [--aid AID] [--password-mode after-auth|before-auth|none] [--password-env VAR | --stdin] [--allow-last-try] [--all] " + keySetUsage + " [--json] [--trace]"
	if _, code := subcommand(c, usage, args, "read"); code >= 0 {
		return code
	}
	var f common
	var sec secretFlags
	defer sec.Zero() // what --stdin read, taken or not
	aid := &aidFlag{profile.DefaultAID(profile.TypeA)}
	mode := &modeFlag{mode: profile.PasswordAfterAuth}
	var all, allowLast bool
	var ksf keySetFlags
	fs := newFlagSet(c, "typea read", usage)
	ksf.register(fs)
	f.register(fs)
	sec.registerKeys(fs)
	sec.registerSuite(fs)
	sec.registerSecret(fs, "password", "password")
	sec.registerStdin(fs, "the password")
	fs.Var(aid, "aid", "`AID` of the Type A AP (default: the placeholder)")
	fs.Var(mode, "password-mode", "after-auth (default), before-auth (weaker: the password goes in plain to a card not yet authenticated) or none")
	fs.BoolVar(&all, "all", false, "read every record (attributes too), not just record 1")
	fs.BoolVar(&allowLast, "allow-last-try", false, "send the password even when one try is left")
	if code := parseFlags(c, fs, args[1:]); code >= 0 {
		return code
	}
	keySets, err := ksf.policy()
	if err != nil {
		return fail(c, f.json, err)
	}
	st, pw, code := sec.keysAndSecret(ctx, c, f.json, "password")
	if code >= 0 {
		return code
	}
	defer st.Close()
	defer pw.Zero()
	if mode.mode != profile.PasswordNone && pw == nil {
		return fail(c, f.json, usageError("the AP has a password: give it with --password-env VAR or --stdin (or --password-mode none)"))
	}
	cnt, err := connectCounted(ctx, c, f)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer c.closeAfter(&code, "card", cnt)
	// --password-mode before-auth is the operator's explicit choice of the
	// weaker mode (the password in plain to a card not yet authenticated).
	cfg := typea.Config{AID: aid.aid, Keys: st, Suite: sec.suite.suite, Password: mode.mode, AllowPasswordBeforeAuth: mode.mode == profile.PasswordBeforeAuth, AllowLastTry: allowLast}
	cfg.KeySets = keySets
	opts := typea.VerifyOptions{AllowLastTry: allowLast}
	var res typea.Result
	if !all {
		res, err = typea.Read(ctx, cnt, cfg, pw)
	} else {
		res, err = readAllTypeA(ctx, cnt, cfg, pw, opts)
	}
	if err != nil {
		return fail(c, f.json, err)
	}
	out := newIdentityJSON(cnt.Reader(), "A", aid.aid, res.CUID, res.Identity)
	out.APDUs, out.KeySet = cnt.APDUs, res.KeySet
	return done(c, printIdentity(c, f.json, out))
}

// readAllTypeA selects, authenticates, verifies and reads every record.
func readAllTypeA(ctx context.Context, t *countingTransport, cfg typea.Config, pw profile.Password, opts typea.VerifyOptions) (_ typea.Result, err error) {
	ap, err := typea.OpenUnauthenticated(ctx, t, cfg)
	if err != nil {
		return typea.Result{}, err
	}
	defer func() { err = errors.Join(err, ap.Close()) }()
	if cfg.Password == profile.PasswordBeforeAuth {
		if err := ap.Verify(ctx, pw, opts); err != nil {
			return typea.Result{}, err
		}
	}
	if err := ap.Authenticate(ctx, ap.Config().ReadKey); err != nil {
		return typea.Result{}, err
	}
	if cfg.Password == profile.PasswordAfterAuth {
		if err := ap.Verify(ctx, pw, opts); err != nil {
			return typea.Result{}, err
		}
	}
	id, err := ap.ReadAll(ctx)
	return typea.Result{CUID: ap.CUID(), Identity: id, KeySet: ap.KeySet()}, err
}
