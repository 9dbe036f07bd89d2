// Command pclogin is the PC-login example of the freespace SDK: the card in
// the reader replaces the password. A mapping file ties card user IDs to
// local accounts (optionally pinned to one card by its CUID); the screen
// locks when the card leaves the reader.
//
// Usage:
//
//	pclogin                       (a demo on the built-in mock card)
//	pclogin pam      --config FILE (--mock-state FILE | --reader NAME) CARDS [--read-authtok]
//	pclogin watch    --config FILE (--mock-state FILE | --reader NAME) CARDS [--account NAME] [--password-env VAR]
//	pclogin identify              (--mock-state FILE | --reader NAME) CARDS [--config FILE] [--password-env VAR]
//
// CARDS is --keys FILE (the operator's key file: Type A cards are read after
// mutual authentication, so a card proves itself), --jpki-roots FILE[,FILE]
// (every My Number Card, through its public JPKI AP: the card signs a
// fresh challenge after the holder's 4-digit PIN, and its certificate must
// chain to these J-LIS authentication CA certificates, PEM or DER;
// package jpki), --allow-type-c (Type C cards, which prove nothing: their
// ID is readable by anyone and a copy on a blank card or a phone logs in
// as the original; a warning is printed with every decision), or several.
// A Type A AP with a password, and the JPKI PIN, get it from pam_exec's
// expose_authtok (--read-authtok: the PIN typed at the PC's login prompt)
// or from the environment variable named by --password-env, which is
// removed from the environment once read (children do not inherit it);
// the AP that identifies the card uses it. A JPKI card's user ID in the
// mapping file is its identity's 64 hex digits (pclogin identify prints
// it); it has no CUID to pin.
//
// pam is meant for pam_exec(8): it reads PAM_USER (and PAM_TYPE) from the
// environment, identifies the card, and exits 0 only when the card proved
// itself (unless --allow-type-c), maps to PAM_USER and is neither expired
// nor revoked; otherwise it exits 1 (2 for a usage or configuration error).
// It prints at most one line, the reason, to stderr (with --allow-type-c
// also the warning), and never a password, a key or a CUID. A PAM line:
//
//	auth  required  pam_exec.so quiet /usr/local/bin/pclogin pam --config /etc/freespace/pclogin.json --keys /etc/freespace/keys.json [--reader=ACS ACR1252 00 00]
//
// (PAM takes an argument with spaces in square brackets; see README.md.)
//
// watch polls the reader and runs the mapping file's lock_command when the
// card that was present leaves (or another card replaces it).
//
// identify prints the card's user ID, CUID and, with --config, the account
// it maps to: what an administrator needs to write the mapping file.
//
// Without --reader, --mock-state FILE uses the project's mock card kept in
// a state file (mockcard.Save): the card is in the reader while FILE exists.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mynacard/freespace/examples/internal/demo"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/examples/pclogin/internal/config"
	"github.com/mynacard/freespace/examples/pclogin/internal/login"
	"github.com/mynacard/freespace/jpki"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/securefile"
)

// Exit codes.
const (
	exitOK     = 0
	exitDenied = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], processEnviron, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// typeCWarning is printed with every decision of a run with --allow-type-c.
const typeCWarning = "pclogin: warning: --allow-type-c: Type C cards prove nothing (their ID is readable by anyone, and a copy on a blank card or a phone logs in as the original does)"

// options are the flags shared by the subcommands.
type options struct {
	config      string
	mockState   string
	readerName  string
	account     string
	keysFile    string
	jpkiRoots   string
	allowTypeC  bool
	passwordEnv string
	readAuthtok bool
	verbose     bool
}

func parseFlags(name string, args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("pclogin "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "mapping file (JSON)")
	fs.StringVar(&o.mockState, "mock-state", "", "mock card state file; the card is in the reader while it exists")
	fs.StringVar(&o.readerName, "reader", "", "PC/SC reader name")
	fs.StringVar(&o.account, "account", "", "watch: arm only for cards mapped to this account")
	fs.StringVar(&o.keysFile, "keys", "", "the operator's key `FILE` (JSON key store, mode 0600): Type A cards are read after mutual authentication with these master keys")
	fs.StringVar(&o.jpkiRoots, "jpki-roots", "", "J-LIS authentication CA certificate `FILES` (PEM or DER, comma-separated): also authenticate My Number Cards through their JPKI AP, with the 4-digit PIN (--read-authtok or --password-env)")
	fs.BoolVar(&o.allowTypeC, "allow-type-c", false, "also accept Type C cards, which prove nothing: their ID is readable by anyone and a copy on a blank card or a phone logs in as the original does. Prints a warning with every decision")
	fs.StringVar(&o.passwordEnv, "password-env", "", "identify, watch: the Type A cards' password, read from the environment variable `VAR` and removed from the environment")
	fs.BoolVar(&o.readAuthtok, "read-authtok", false, "pam: read the password pam_exec's expose_authtok writes to stdin (the Type A cards' password)")
	fs.BoolVar(&o.verbose, "v", false, "log to stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if (o.mockState == "") == (o.readerName == "") {
		return o, errors.New("give exactly one of --mock-state and --reader")
	}
	if o.keysFile == "" && o.jpkiRoots == "" && !o.allowTypeC {
		return o, errors.New("give --keys FILE (the operator's keys: Type A cards prove themselves), --jpki-roots FILES (My Number Cards through JPKI) or, to accept cards that prove nothing, --allow-type-c")
	}
	if o.readAuthtok && o.passwordEnv != "" {
		return o, errors.New("give at most one of --read-authtok and --password-env")
	}
	return o, nil
}

// cards is what a command reads cards with.
type cards struct {
	client   *cardap.Client
	password profile.Password // the Type A password, or nil
	keys     *keys.Store
}

// close wipes the password and the keys.
func (c *cards) close() {
	c.password.Zero()
	if c.keys != nil {
		c.keys.Zero()
	}
}

// errNoPIN is the PasswordFunc's answer when no password was given.
var errNoPIN = errors.New("the card needs a PIN and none was given (--read-authtok or --password-env)")

// passwordFunc hands the client a copy of the password (it wipes what it
// is given).
func (c *cards) passwordFunc(context.Context, cardap.PasswordRequest) (profile.Password, error) {
	if c.password == nil {
		return nil, errNoPIN
	}
	return append(profile.Password(nil), c.password...), nil
}

// openCards loads the keys and builds the client; password (nil: none) is
// the Type A AP's password, kept until close.
func openCards(o options, password profile.Password) (*cards, error) {
	c := &cards{password: password}
	cfg := login.ClientConfig{AllowTypeC: o.allowTypeC}
	if o.jpkiRoots != "" {
		roots, err := jpki.LoadCertificates(strings.Split(o.jpkiRoots, ",")...)
		if err != nil {
			c.close()
			return nil, err
		}
		cfg.JPKIRoots, cfg.JPKIPIN = roots, c.passwordFunc
	}
	if o.keysFile != "" {
		ks, err := keys.LoadFile(o.keysFile)
		if err != nil {
			c.close()
			return nil, err
		}
		c.keys, cfg.Keys = ks, ks
		if password != nil {
			cfg.Password = c.passwordFunc
		}
	}
	client, err := login.NewClient(cfg)
	if err != nil {
		c.close()
		return nil, err
	}
	c.client = client
	return c, nil
}

func (o options) identifier(c *cards) login.Identifier {
	if o.readerName != "" {
		return login.Reader{Name: o.readerName, Client: c.client}
	}
	return login.MockState{Path: o.mockState, Client: c.client}
}

// revocationChecker opens the revocation store the mapping file names, if
// any.
func revocationChecker(cfg *config.Config, log *slog.Logger) (cardap.RevocationChecker, func(), error) {
	if cfg.RevocationDir == "" {
		return nil, func() {}, nil
	}
	st, err := revocation.Open(cfg.RevocationDir, revocation.Options{Policy: revocation.Policy{MaxAge: cfg.RevocationMaxAge}, Logger: log, ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	closeStore := func() {
		if err := st.Close(); err != nil {
			log.Warn("closing the revocation store", "err", err)
		}
	}
	return cardap.RevocationStore(st), closeStore, nil
}

// run is the command with its arguments; environ returns the process
// environment as KEY=VALUE entries, duplicated names included
// (processEnviron).
func run(ctx context.Context, args []string, environ func() ([]string, error), stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// No arguments: the demo on the built-in mock card.
		if err := runDemo(ctx, stdout); err != nil {
			fmt.Fprintln(stderr, "pclogin: demo:", err)
			return exitDenied
		}
		return exitOK
	}
	o, err := parseFlags(args[0], args[1:], stderr)
	if err != nil {
		fmt.Fprintln(stderr, "pclogin:", err)
		return exitUsage
	}
	level := slog.LevelError + 4 // silent unless -v
	if o.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	switch args[0] {
	case "pam":
		return runPAM(ctx, o, environ, stdin, stderr, log)
	case "watch":
		return runWatch(ctx, o, stderr, log)
	case "identify":
		return runIdentify(ctx, o, stdout, stderr)
	}
	fmt.Fprintf(stderr, "pclogin: unknown command %q\n", args[0])
	return exitUsage
}

func loadConfig(o options, stderr io.Writer) (*config.Config, bool) {
	if o.config == "" {
		fmt.Fprintln(stderr, "pclogin: --config is required")
		return nil, false
	}
	cfg, err := config.Load(o.config)
	if err != nil {
		// The error says what is wrong; the command says how to fix it,
		// on the same line (pam_exec's log keeps one line per run).
		var se *securefile.Error
		if errors.As(err, &se) && se.Remedy() != "" {
			fmt.Fprintf(stderr, "pclogin: %v (to fix: %s)\n", err, se.Remedy())
		} else {
			fmt.Fprintln(stderr, "pclogin:", err)
		}
		return nil, false
	}
	return cfg, true
}

func runPAM(ctx context.Context, o options, environ func() ([]string, error), stdin io.Reader, stderr io.Writer, log *slog.Logger) int {
	var password profile.Password
	if o.readAuthtok {
		// Read first, so that pam_exec's write does not fail whatever
		// follows. Without keys (Type C) the password has no use: wiped
		// at once.
		tok, err := readAuthtok(stdin)
		if err == nil && (o.keysFile != "" || o.jpkiRoots != "") && len(tok.b) > 0 {
			password = append(profile.Password(nil), tok.b...)
		}
		tok.Wipe()
		if err != nil {
			fmt.Fprintln(stderr, "pclogin: reading the password from pam_exec failed")
			return exitUsage
		}
	}
	defer password.Zero()
	// pam_exec puts the PAM environment before its own PAM_USER and
	// PAM_TYPE: a module that set either (pam_env) would otherwise choose
	// the account checked, or skip the check as a "session".
	envList, err := environ()
	if err != nil {
		log.ErrorContext(ctx, "pam environment unreadable", "error", err)
		fmt.Fprintln(stderr, "pclogin: refused:", err)
		return exitDenied
	}
	pamVars, err := pamEnv(envList)
	if err != nil {
		log.ErrorContext(ctx, "pam environment refused", "error", err)
		fmt.Fprintln(stderr, "pclogin: refused:", err)
		return exitDenied
	}
	switch pt := pamVars["PAM_TYPE"]; pt {
	case "auth", "account", "":
	case "open_session", "close_session":
		return exitOK // nothing to do for sessions
	default:
		fmt.Fprintf(stderr, "pclogin: PAM_TYPE %.20q not supported\n", pt)
		return exitDenied
	}
	user := pamVars["PAM_USER"]
	if user == "" {
		fmt.Fprintln(stderr, "pclogin: PAM_USER is not set (run me from pam_exec)")
		return exitUsage
	}
	cfg, ok := loadConfig(o, stderr)
	if !ok {
		return exitUsage
	}
	rev, closeRev, err := revocationChecker(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "pclogin: revocation store:", err)
		return exitUsage
	}
	defer closeRev()
	cs, err := openCards(o, append(profile.Password(nil), password...))
	if err != nil {
		fmt.Fprintln(stderr, "pclogin:", err)
		return exitUsage
	}
	defer cs.close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res := login.Authorize(ctx, o.identifier(cs), cfg, login.Policy{Revocation: rev, AllowUnproven: o.allowTypeC}, user, time.Now())
	log.InfoContext(ctx, "pam decision", "pam_user", user, "card_user", res.Card.Identity.UserID, "decision", res.Reason.String(),
		"ap", res.Card.Proof.AP.String(), "proof", res.Card.Proof.Method.String(), "error", res.Err)
	if o.allowTypeC {
		log.WarnContext(ctx, typeCWarning)
		fmt.Fprintln(stderr, typeCWarning)
	}
	if !res.Allowed() {
		fmt.Fprintln(stderr, "pclogin: denied:", res.Reason)
		return exitDenied
	}
	return exitOK
}

func runWatch(ctx context.Context, o options, stderr io.Writer, log *slog.Logger) int {
	cfg, ok := loadConfig(o, stderr)
	if !ok {
		return exitUsage
	}
	if len(cfg.LockCommand) == 0 {
		fmt.Fprintln(stderr, "pclogin: the mapping file has no lock_command")
		return exitUsage
	}
	cs, code := openCardsEnv(o, stderr)
	if cs == nil {
		return code
	}
	defer cs.close()
	if o.allowTypeC {
		fmt.Fprintln(stderr, typeCWarning)
	}
	w := &login.Watcher{
		Card:     o.identifier(cs),
		Interval: cfg.PollInterval,
		Lock:     login.CommandLock(cfg.LockCommand, 30*time.Second),
		Log:      log,
		Accept: func(c login.Card) bool {
			if !c.Proof.Proven() && !o.allowTypeC {
				return false
			}
			m, ok := cfg.Lookup(c.Identity.UserID)
			accept := ok && (o.account == "" || m.Account == o.account) && (m.CUID == nil || *m.CUID == c.CUID)
			if accept && !c.Proof.Proven() {
				// Once per arming: the watcher asks again only after
				// the card left.
				log.Warn(typeCWarning)
				fmt.Fprintln(stderr, typeCWarning)
			}
			return accept
		},
	}
	if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "pclogin:", err)
		return exitDenied
	}
	return exitOK
}

// openCardsEnv is openCards with the password of --password-env (if
// given), which is removed from the environment. On failure it prints why
// and returns the exit code.
func openCardsEnv(o options, stderr io.Writer) (*cards, int) {
	var password profile.Password
	if o.passwordEnv != "" {
		var err error
		if password, err = demo.PasswordFromEnv(o.passwordEnv); err != nil {
			fmt.Fprintln(stderr, "pclogin: --password-env:", err)
			return nil, exitUsage
		}
	}
	cs, err := openCards(o, password)
	if err != nil {
		fmt.Fprintln(stderr, "pclogin:", err)
		return nil, exitUsage
	}
	return cs, exitOK
}

func runIdentify(ctx context.Context, o options, stdout, stderr io.Writer) int {
	var cfg *config.Config
	if o.config != "" {
		var ok bool
		if cfg, ok = loadConfig(o, stderr); !ok {
			return exitUsage
		}
	}
	cs, code := openCardsEnv(o, stderr)
	if cs == nil {
		return code
	}
	defer cs.close()
	c, err := o.identifier(cs).Identify(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "pclogin:", err)
		return exitDenied
	}
	var b strings.Builder
	if c.JPKI != nil {
		// No CUID: the user ID is the JPKI identity (docs/PROTOCOL.md §10.3).
		fmt.Fprintf(&b, "user_id\t%s\nproof\tJPKI, %s\nissuer\t%s\nserial\t%x\n", c.Identity.UserID, c.Proof.Method, c.JPKI.Issuer, c.JPKI.Serial)
	} else {
		fmt.Fprintf(&b, "user_id\t%s\ncuid\t%s\nproof\tType %s, %s\n", c.Identity.UserID, c.CUID, c.Proof.AP, c.Proof.Method)
	}
	if !c.Identity.Expires.IsZero() {
		fmt.Fprintf(&b, "expires\t%s\n", c.Identity.Expires.Format(time.DateOnly))
	}
	if cfg != nil {
		if m, ok := cfg.Lookup(c.Identity.UserID); ok {
			fmt.Fprintf(&b, "account\t%s\n", m.Account)
		} else {
			b.WriteString("account\t(not mapped)\n")
		}
	}
	// What an administrator copies into the mapping file: a failed write
	// (a closed pipe, a full disk) must not look like success.
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		fmt.Fprintln(stderr, "pclogin: writing the output:", err)
		return exitDenied
	}
	return exitOK
}
