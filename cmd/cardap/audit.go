package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/mynacard/freespace/internal/jsonlog"
	"github.com/mynacard/freespace/profile"
)

// The commands that change a card at the loading terminal (personalize,
// password unblock, typed write) keep an operation log (issue 10 §9: the
// card-AP loading terminal must keep operation logs): one durable JSON
// line per operation, appended and fsynced before the command reports
// success. The log is required: without an operator ID and a log file
// these commands stop with a usage error before touching the card, unless
// --no-audit says explicitly that no log is kept (tests, demos).

// Environment variables that give the defaults of --operator and --audit,
// so that a loading terminal sets them once for its operator's session.
const (
	envOperator = "CARDAP_OPERATOR"
	envAudit    = "CARDAP_AUDIT"
)

// maxOperatorLen bounds an operator ID.
const maxOperatorLen = 64

// auditFlags are --operator, --audit and --no-audit.
type auditFlags struct {
	operator string
	file     string
	disabled bool
	fs       *flag.FlagSet
}

// auditUsage is the part of a usage line for the audit flags.
const auditUsage = "--operator ID --audit FILE | --no-audit"

func (a *auditFlags) register(fs *flag.FlagSet) {
	a.fs = fs
	fs.StringVar(&a.operator, "operator", os.Getenv(envOperator), "operator `ID` recorded in the audit log (default $"+envOperator+")")
	fs.StringVar(&a.file, "audit", os.Getenv(envAudit), "append a durable audit record of the operation to `FILE`, JSON lines, fsynced before success is reported (default $"+envAudit+")")
	fs.BoolVar(&a.disabled, "no-audit", false, "keep no audit record (tests, demos; a loading terminal must keep one)")
}

// checkOperator refuses an operator ID that is empty, too long or holds
// control characters (which would forge lines or terminal output where
// the log is shown).
func checkOperator(id string) error {
	if id == "" {
		return usageError("--operator ID is required to keep the audit log (or --no-audit)")
	}
	if len(id) > maxOperatorLen {
		return usageError(fmt.Sprintf("--operator: %d bytes, at most %d", len(id), maxOperatorLen))
	}
	for _, r := range id {
		if unicode.IsControl(r) || r == '\uFFFD' {
			return usageError("--operator: control characters are not allowed")
		}
	}
	return nil
}

// open checks the flags and opens the audit log (securefile: no symlink,
// no FIFO, owner root or the running user, not writable by others). With
// --no-audit it returns a log that records nothing.
func (a *auditFlags) open(ctx context.Context, command string) (*auditLog, error) {
	if a.disabled {
		both := false
		a.fs.Visit(func(f *flag.Flag) { both = both || f.Name == "audit" })
		if both {
			return nil, usageError("--audit FILE and --no-audit together")
		}
		return &auditLog{}, nil
	}
	if err := checkOperator(a.operator); err != nil {
		return nil, err
	}
	if a.file == "" {
		return nil, usageError(command + " keeps an audit log: --audit FILE is required (or --no-audit)")
	}
	wrap, _ := ctx.Value(auditWrapKey{}).(func(*os.File) jsonlog.File)
	l, _, err := jsonlog.OpenTrustedWrapped(a.file, nil, wrap)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	host, _ := os.Hostname()
	return &auditLog{log: l, operator: a.operator, host: host}, nil
}

// auditWrapKey carries, in the context given to run, a test's wrapper of
// the audit log's file (jsonlog.OpenTrustedWrapped), to inject write and
// fsync failures without a package-level hook.
type auditWrapKey struct{}

// auditLog is an open audit log, or none (log nil) with --no-audit.
type auditLog struct {
	log      *jsonlog.Log
	operator string
	host     string
}

// auditRecord is one line of the audit log. It never holds a secret: no
// password, key or card data, nor the user ID written (the CUID ties the
// record to the card).
type auditRecord struct {
	Time      string `json:"time"`      // RFC 3339, UTC, nanoseconds
	Operator  string `json:"operator"`  // --operator
	Host      string `json:"host"`      // the terminal's host name
	Operation string `json:"operation"` // personalize, password-unblock, typed-write
	AP        string `json:"ap"`        // A, C or D
	Reader    string `json:"reader,omitempty"`
	CUID      string `json:"cuid,omitempty"` // when the card was read
	Outcome   string `json:"outcome"`        // success, already-sealed, failure
	Error     string `json:"error,omitempty"`
	// Key ceremonies (cardap keys): the key (name and version, never its
	// bytes), the backend (file or pkcs11 and the token), the witness of
	// a two-person operation.
	Key     string `json:"key,omitempty"`
	Backend string `json:"backend,omitempty"`
	Witness string `json:"witness,omitempty"`
}

// auditEvent is what a command knows of its operation.
type auditEvent struct {
	operation string
	ap        string
	reader    string
	cuid      profile.CUID
	key       string
	backend   string
	witness   string
}

// Outcomes of an operation.
const (
	outcomeSuccess       = "success"
	outcomeAlreadySealed = "already-sealed"
	outcomeFailure       = "failure"
)

// record appends one record and fsyncs it. An error means the operation
// must not be reported as done.
func (l *auditLog) record(ev auditEvent, outcome string, opErr error) error {
	if l == nil || l.log == nil {
		return nil
	}
	r := auditRecord{
		Time:      time.Now().UTC().Format(time.RFC3339Nano),
		Operator:  l.operator,
		Host:      l.host,
		Operation: ev.operation,
		AP:        ev.ap,
		Reader:    ev.reader,
		Outcome:   outcome,
		Key:       ev.key,
		Backend:   ev.backend,
		Witness:   ev.witness,
	}
	if !ev.cuid.IsZero() {
		r.CUID = ev.cuid.String()
	}
	if opErr != nil {
		r.Error = oneLine(opErr.Error())
	}
	if err := l.log.Append(r); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// Close closes the log file.
func (l *auditLog) Close() error {
	if l == nil || l.log == nil {
		return nil
	}
	return l.log.Close()
}

// oneLine puts an error message on one line, control characters escaped.
func oneLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteString("; ")
		case unicode.IsControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// failAudited records a failed operation, then reports err as fail does.
// A failure to record is reported too.
func failAudited(c *cli, asJSON bool, l *auditLog, ev auditEvent, err error) int {
	if rerr := l.record(ev, outcomeFailure, err); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return fail(c, asJSON, err)
}

// succeedAudited records a successful operation before anything reports
// it. When the record cannot be written the command fails: the card has
// changed, but an operation the loading terminal cannot account for is
// not reported as done.
func succeedAudited(c *cli, asJSON bool, l *auditLog, ev auditEvent, outcome string) (int, bool) {
	if err := l.record(ev, outcome, nil); err != nil {
		return fail(c, asJSON, fmt.Errorf("the card operation (%s) completed, but %w", ev.operation, err)), false
	}
	return exitOK, true
}
