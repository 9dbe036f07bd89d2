// Command pclogin is the PC-login example of the freespace SDK: the card in
// the reader replaces the password. A mapping file ties card user IDs to
// local accounts (optionally pinned to one card by its CUID); the screen
// locks when the card leaves the reader.
//
// Usage:
//
//	pclogin pam      --config FILE (--mock-state FILE | --reader NAME) [--read-authtok]
//	pclogin watch    --config FILE (--mock-state FILE | --reader NAME) [--account NAME]
//	pclogin identify              (--mock-state FILE | --reader NAME) [--config FILE]
//
// pam is meant for pam_exec(8): it reads PAM_USER (and PAM_TYPE) from the
// environment, identifies the card, and exits 0 only when the card maps to
// PAM_USER and is neither expired nor revoked; otherwise it exits 1 (2 for
// a usage or configuration error). It prints at most one line, the reason,
// to stderr, and never a password, a key or a CUID. A PAM line:
//
//	auth  required  pam_exec.so quiet /usr/local/bin/pclogin pam --config /etc/freespace/pclogin.json [--reader=ACS ACR1252 00 00]
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

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/examples/pclogin/internal/config"
	"github.com/mynacard/freespace/examples/pclogin/internal/login"
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

// options are the flags shared by the subcommands.
type options struct {
	config      string
	mockState   string
	readerName  string
	account     string
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
	fs.BoolVar(&o.readAuthtok, "read-authtok", false, "pam: read the password pam_exec's expose_authtok writes to stdin")
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
	return o, nil
}

func (o options) identifier() login.Identifier {
	if o.readerName != "" {
		return login.Reader{Name: o.readerName}
	}
	return login.MockState{Path: o.mockState}
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
		fmt.Fprintln(stderr, "usage: pclogin pam|watch|identify [flags]")
		return exitUsage
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
	if o.readAuthtok {
		// The Type C AP has no password: the token is read (so that
		// pam_exec's write does not fail) and wiped at once.
		tok, err := readAuthtok(stdin)
		tok.Wipe()
		if err != nil {
			fmt.Fprintln(stderr, "pclogin: reading the password from pam_exec failed")
			return exitUsage
		}
	}
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
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res := login.Authorize(ctx, o.identifier(), cfg, rev, user, time.Now())
	log.InfoContext(ctx, "pam decision", "pam_user", user, "card_user", res.Card.Identity.UserID, "decision", res.Reason.String(), "error", res.Err)
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
	w := &login.Watcher{
		Card:     o.identifier(),
		Interval: cfg.PollInterval,
		Lock:     login.CommandLock(cfg.LockCommand, 30*time.Second),
		Log:      log,
		Accept: func(c login.Card) bool {
			m, ok := cfg.Lookup(c.Identity.UserID)
			return ok && (o.account == "" || m.Account == o.account) && (m.CUID == nil || *m.CUID == c.CUID)
		},
	}
	if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "pclogin:", err)
		return exitDenied
	}
	return exitOK
}

func runIdentify(ctx context.Context, o options, stdout, stderr io.Writer) int {
	var cfg *config.Config
	if o.config != "" {
		var ok bool
		if cfg, ok = loadConfig(o, stderr); !ok {
			return exitUsage
		}
	}
	c, err := o.identifier().Identify(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "pclogin:", err)
		return exitDenied
	}
	var b strings.Builder
	fmt.Fprintf(&b, "user_id\t%s\ncuid\t%s\n", c.Identity.UserID, c.CUID)
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
