package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// stdinKey carries a test's stdin in the context given to run.
type stdinKey struct{}

// stdinOf returns the test's stdin from ctx, or os.Stdin.
func stdinOf(ctx context.Context) io.Reader {
	if r, ok := ctx.Value(stdinKey{}).(io.Reader); ok {
		return r
	}
	return os.Stdin
}

// secretFlags are the ways a command takes passwords without putting them
// on the command line (where ps and shell history would show them): an
// environment variable, or lines on stdin.
type secretFlags struct {
	keysSpec string
	suite    suiteFlag // --suite, when the command registers it
	env      map[string]*string
	stdin    bool
	// buf holds stdin once read (--stdin); lines are the lines not yet
	// taken, slices of buf. Zero wipes buf.
	buf   []byte
	lines [][]byte
	read  bool
}

// maxStdin bounds the secrets read from stdin.
const maxStdin = 4096

// errStdinTooLong: stdin holds more than maxStdin bytes; a secret cut
// short is never sent.
var errStdinTooLong = fmt.Errorf("stdin: more than %d bytes", maxStdin)

// registerKeys adds --keys.
func (s *secretFlags) registerKeys(fs *flag.FlagSet) {
	fs.StringVar(&s.keysSpec, "keys", "", keySourceUsage)
}

// registerSecret adds --NAME-env VAR for one secret.
func (s *secretFlags) registerSecret(fs *flag.FlagSet, name, what string) {
	if s.env == nil {
		s.env = map[string]*string{}
	}
	s.env[name] = fs.String(name+"-env", "", "read the "+what+" from environment variable `VAR`, then remove VAR from the environment (child processes do not inherit it; the kernel's copy of the initial environment in /proc stays: prefer --stdin)")
}

// registerStdin adds --stdin.
func (s *secretFlags) registerStdin(fs *flag.FlagSet, what string) {
	fs.BoolVar(&s.stdin, "stdin", false, "read "+what+" from stdin, one per line")
}

// loadKeys opens the --keys source; the caller closes it.
func (s *secretFlags) loadKeys(ctx context.Context) (openedKeys, error) {
	return openKeys(ctx, s.keysSpec)
}

// secret returns the secret called name: from its environment variable,
// else the next stdin line when --stdin is set, else nil. A stdin secret
// is a slice of the stdin buffer, never a string: the caller's Zero wipes
// it there, and Zero wipes the whole buffer (lines not taken too).
//
// The environment variable is removed from the process's environment
// once read, so no child process inherits it. What the kernel keeps of
// the initial environment (/proc/PID/environ, readable by the same user
// and root) stays as it was, and so does the Go string the value was read
// into until the garbage collector reuses it: stdin is the safer way.
func (s *secretFlags) secret(ctx context.Context, name string) (profile.Password, error) {
	if v := s.env[name]; v != nil && *v != "" {
		val, ok := os.LookupEnv(*v)
		if !ok {
			return nil, fmt.Errorf("--%s-env: environment variable %s is not set", name, *v)
		}
		if err := os.Unsetenv(*v); err != nil {
			return nil, fmt.Errorf("--%s-env: removing %s from the environment: %w", name, *v, err)
		}
		return profile.Password(val), nil
	}
	if !s.stdin {
		return nil, nil
	}
	if !s.read {
		if err := s.readStdin(stdinOf(ctx)); err != nil {
			return nil, err
		}
	}
	if len(s.lines) == 0 {
		return nil, fmt.Errorf("stdin: no line left for the %s", name)
	}
	p := profile.Password(s.lines[0])
	s.lines = s.lines[1:]
	return p, nil
}

// readStdin reads r to its end into one buffer of fixed size (so that no
// copy of a secret is left behind by a growing buffer) and splits it into
// lines ("\n" or "\r\n"; a final newline ends the last line).
func (s *secretFlags) readStdin(r io.Reader) error {
	s.read = true
	s.buf = make([]byte, maxStdin+1)
	n, err := io.ReadFull(r, s.buf)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
	case err != nil:
		s.Zero()
		return fmt.Errorf("reading stdin: %w", err)
	default:
		s.Zero()
		return errStdinTooLong
	}
	rest := s.buf[:n]
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		s.lines = append(s.lines, line[:len(line):len(line)])
	}
	return nil
}

// Zero wipes what was read from stdin, taken or not.
func (s *secretFlags) Zero() {
	clear(s.buf)
	s.lines = nil
}

// keysAndSecret loads the --keys store and then the secret called name
// (see secret). On failure it reports the error and returns the exit code
// (a usage error for the secret); otherwise the code is -1. The caller
// zeroes both.
func (s *secretFlags) keysAndSecret(ctx context.Context, c *cli, asJSON bool, name string) (openedKeys, profile.Password, int) {
	st, err := s.loadKeys(ctx)
	if err != nil {
		return nil, nil, fail(c, asJSON, err)
	}
	pw, err := s.secret(ctx, name)
	if err != nil {
		st.Close()
		return nil, nil, fail(c, asJSON, usageError(err.Error()))
	}
	return st, pw, -1
}

// subcommand checks that args start with one of subs and returns it; else
// it prints the usage and returns the exit code to stop with (0 for help),
// otherwise the code is -1.
func subcommand(c *cli, usage string, args []string, subs ...string) (string, int) {
	if len(args) > 0 && slices.Contains(subs, args[0]) {
		return args[0], -1
	}
	w, code := c.helpOrUsage(args)
	fmt.Fprintln(w, "usage: cardap "+usage)
	if code == exitUsage {
		what := "missing subcommand"
		if len(args) > 0 {
			what = fmt.Sprintf("unknown subcommand %q", args[0])
		}
		c.usageJSON(args, errors.New(what))
	}
	return "", code
}

// cmdPassword is `cardap password status|change|unblock`.
func cmdPassword(ctx context.Context, c *cli, args []string) (code int) {
	const usage = "password status|change|unblock --type a|d --keys SPEC [--suite SUITE] [--reader NAME] [--aid AID] [--password-mode after-auth|before-auth] [--json] [--trace]\n" +
		"       change:  --old-env VAR --new-env VAR | --stdin (the current, then the new password, one per line) [--allow-last-try]\n" +
		"       unblock: " + auditUsage + " [--new-env VAR | --stdin] (a new password; without it, unblock only)"
	sub, code := subcommand(c, usage, args, "status", "change", "unblock")
	if code >= 0 {
		return code
	}
	pf := passwordFlags{typ: "a", aid: &aidFlag{}, mode: &modeFlag{mode: profile.PasswordAfterAuth}}
	defer pf.sec.Zero() // what --stdin read, taken or not
	if code := pf.parse(c, sub, usage, args[1:]); code >= 0 {
		return code
	}
	f := pf.common
	st, err := pf.sec.loadKeys(ctx)
	if err != nil {
		return fail(c, f.json, err)
	}
	defer st.Close()
	old, nw, err := passwordSecrets(ctx, sub, &pf.sec)
	if err != nil {
		return fail(c, f.json, usageError(err.Error()))
	}
	defer old.Zero()
	defer nw.Zero()
	// unblock is an operation of the loading terminal: it is logged, and
	// the log is opened before the card is touched. status and change are
	// the holder's and keep no log (audit records nothing).
	audit := &auditLog{}
	if sub == "unblock" {
		if audit, err = pf.aud.open(ctx, "password unblock"); err != nil {
			return fail(c, f.json, err)
		}
		defer c.closeAfter(&code, "audit log", audit)
	}
	ev := auditEvent{operation: "password-unblock", ap: strings.ToUpper(pf.typ), reader: f.reader}
	// failOp reports a failure, recorded in the audit log for unblock.
	failOp := func(err error) int { return failAudited(c, f.json, audit, ev, err) }

	t, err := connectCounted(ctx, c, f)
	if err != nil {
		return failOp(err)
	}
	defer c.closeAfter(&code, "card", t)
	ev.reader = t.Reader()
	out := map[string]any{"reader": t.Reader(), "type": strings.ToUpper(pf.typ)}
	ap, ops, err := openPasswordAP(ctx, t, &pf, st, old, nw)
	if err != nil {
		return failOp(err)
	}
	defer c.closeAfter(&code, "AP session", ap)
	out["cuid"] = ap.CUID().String()
	ev.cuid = ap.CUID()
	switch sub {
	case "status":
		s, err := ap.PasswordStatus(ctx)
		if err != nil {
			return fail(c, f.json, err)
		}
		return printStatus(c, f.json, out, s)
	case "change":
		err = ops.change(ctx)
	case "unblock":
		err = ops.unblock(ctx)
	}
	if err != nil {
		return failOp(err)
	}
	if code, ok := succeedAudited(c, f.json, audit, ev, outcomeSuccess); !ok {
		return code
	}
	return printPasswordResult(c, f.json, out, sub, nw)
}

// passwordFlags are the flags of `cardap password`.
type passwordFlags struct {
	common
	aud       auditFlags
	sec       secretFlags
	typ       string
	aid       *aidFlag
	mode      *modeFlag
	allowLast bool
}

// parse registers the flags of subcommand sub, parses args and checks
// --type. It returns the exit code to stop with, or -1.
func (pf *passwordFlags) parse(c *cli, sub, usage string, args []string) int {
	fs := newFlagSet(c, "password "+sub, usage)
	pf.common.register(fs)
	pf.sec.registerKeys(fs)
	pf.sec.registerSuite(fs)
	fs.StringVar(&pf.typ, "type", "a", "AP type: a or d")
	fs.Var(pf.aid, "aid", "`AID` of the AP (default: the placeholder of its type)")
	fs.Var(pf.mode, "password-mode", "Type A: when the password is verified: after-auth (default) or before-auth (weaker: in plain, to a card not yet authenticated)")
	switch sub {
	case "change":
		pf.sec.registerSecret(fs, "old", "current password")
		pf.sec.registerSecret(fs, "new", "new password")
		pf.sec.registerStdin(fs, "the current and the new password")
		fs.BoolVar(&pf.allowLast, "allow-last-try", false, "send the password even when one try is left")
	case "unblock":
		pf.aud.register(fs)
		pf.sec.registerSecret(fs, "new", "new password (optional: unblock only)")
		pf.sec.registerStdin(fs, "the new password")
	}
	if code := parseFlags(c, fs, args); code >= 0 {
		return code
	}
	if pf.typ != "a" && pf.typ != "d" {
		return fail(c, pf.json, usageError("--type must be a or d"))
	}
	return -1
}

// passwordSecrets returns the current and the new password subcommand sub
// needs (change: both; unblock: the new one, optional; status: none).
// The caller zeroes both.
func passwordSecrets(ctx context.Context, sub string, sec *secretFlags) (old, nw profile.Password, err error) {
	switch sub {
	case "change":
		if old, err = sec.secret(ctx, "old"); err == nil {
			nw, err = sec.secret(ctx, "new")
		}
		if err == nil && (old == nil || nw == nil) {
			err = errors.New("change needs the current and the new password (--old-env/--new-env or --stdin)")
		}
	case "unblock":
		nw, err = sec.secret(ctx, "new")
	}
	if err != nil {
		old.Zero()
		nw.Zero()
		return nil, nil, err
	}
	return old, nw, nil
}

// passwordOps are the password operations of an opened AP.
type passwordOps struct {
	change, unblock func(ctx context.Context) error
}

// openPasswordAP opens the AP of --type without authenticating and
// returns its password operations with old and nw.
func openPasswordAP(ctx context.Context, t *countingTransport, pf *passwordFlags, st keys.Provider, old, nw profile.Password) (passwordAP, passwordOps, error) {
	switch pf.typ {
	case "a":
		// --password-mode before-auth is the operator's explicit choice of
		// the weaker mode.
		mode := pf.mode.mode
		a, err := typea.OpenUnauthenticated(ctx, t, typea.Config{AID: pf.aid.aid, Keys: st, Suite: pf.sec.suite.suite, Password: mode, AllowPasswordBeforeAuth: mode == profile.PasswordBeforeAuth})
		if err != nil {
			return nil, passwordOps{}, err
		}
		return a, passwordOps{
			change: func(ctx context.Context) error {
				if mode == profile.PasswordAfterAuth {
					if err := a.Authenticate(ctx, a.Config().ReadKey); err != nil {
						return err
					}
				}
				return a.ChangePassword(ctx, old, nw, typea.VerifyOptions{AllowLastTry: pf.allowLast})
			},
			unblock: func(ctx context.Context) error { return a.UnblockPassword(ctx, nw) },
		}, nil
	default: // "d", checked by parse
		d, err := typed.OpenUnauthenticated(ctx, t, typed.Config{AID: pf.aid.aid, Keys: st, Suite: pf.sec.suite.suite, Password: profile.PasswordAfterAuth})
		if err != nil {
			return nil, passwordOps{}, err
		}
		return d, passwordOps{
			change: func(ctx context.Context) error {
				return d.ChangePassword(ctx, old, nw, typed.VerifyOptions{AllowLastTry: pf.allowLast})
			},
			unblock: func(ctx context.Context) error { return d.UnblockPassword(ctx, nw) },
		}, nil
	}
}

// printPasswordResult prints the result of change or unblock.
func printPasswordResult(c *cli, asJSON bool, out map[string]any, sub string, nw profile.Password) int {
	out["result"] = map[string]string{"change": "password changed", "unblock": "password unblocked"}[sub]
	if len(nw) > 0 && sub == "unblock" {
		out["result"] = "password unblocked and set"
	}
	if asJSON {
		return done(c, writeJSON(c.stdout, out))
	}
	_, err := fmt.Fprintf(c.stdout, "%s (Type %s, CUID %s)\n", out["result"], out["type"], out["cuid"])
	return done(c, err)
}

// passwordAP is an opened Type A or Type D AP as the password command
// sees it.
type passwordAP interface {
	CUID() profile.CUID
	Close() error
	PasswordStatus(ctx context.Context) (profile.PasswordStatus, error)
}

func printStatus(c *cli, asJSON bool, out map[string]any, s profile.PasswordStatus) int {
	out["verified"], out["blocked"] = s.Verified, s.Blocked
	if !s.Verified {
		out["remaining"] = s.Remaining
	}
	if asJSON {
		return done(c, writeJSON(c.stdout, out))
	}
	_, err := fmt.Fprintf(c.stdout, "password: %s (Type %s, CUID %s)\n", s, out["type"], out["cuid"])
	return done(c, err)
}

// identityFlags collect an Identity from flags.
type identityFlags struct {
	userID  string
	expires string
	attrs   attrFlag
}

func (i *identityFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&i.userID, "user-id", "", "the user's `ID` (1-64 printable ASCII)")
	fs.StringVar(&i.expires, "expires", "", "expiry date `YYYYMMDD` (optional)")
	fs.Var(&i.attrs, "attr", "attribute `NAME=VALUE` (repeatable)")
}

func (i *identityFlags) identity() (profile.Identity, error) {
	id := profile.Identity{UserID: i.userID, Attributes: i.attrs}
	if i.expires != "" {
		var err error
		if id.Expires, err = parseDate(i.expires); err != nil {
			return id, err
		}
	}
	return id, id.Validate()
}

// attrFlag is a repeatable NAME=VALUE flag.
type attrFlag []profile.Attribute

// String lists the attributes.
func (a *attrFlag) String() string { return fmt.Sprint([]profile.Attribute(*a)) }

// Set adds one NAME=VALUE attribute.
func (a *attrFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("attribute %q is not NAME=VALUE", v)
	}
	*a = append(*a, profile.Attribute{Name: name, Value: value})
	return nil
}

// modeFlag is a profile.PasswordMode flag.
type modeFlag struct{ mode profile.PasswordMode }

// String names the mode.
func (m *modeFlag) String() string {
	if m == nil {
		return ""
	}
	return m.mode.String()
}

// Set parses a mode name.
func (m *modeFlag) Set(v string) error {
	mode, err := profile.ParsePasswordMode(v)
	m.mode = mode
	return err
}

// parseDate parses YYYYMMDD.
func parseDate(s string) (time.Time, error) {
	d, err := time.Parse("20060102", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q is not YYYYMMDD", s)
	}
	return d, nil
}
