package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/revocation/feed"
	"github.com/mynacard/freespace/securefile"
)

const revocationUsage = `usage: cardap revocation <subcommand> [flags]

subcommands:
  sync     bring the local store up to date from a signed feed (--from) or import a file (--import)
  check    check identifiers (cuid:<hex>, serial:<hex> or 32 hex digits); exit 4 if revoked or the list is too old
  stop     stop an identifier locally at once (urgent stop), recording who and why
  unstop   lift a local stop, recording who and why
  status   show the list's sequence, age, size and local stops (--audit: the stop journal)
  publish  turn the master list into a signed feed for a static host or CDN (--new-key: make a key pair)

Run 'cardap revocation <subcommand> -h' for its flags.
`

// runRevocation implements "cardap revocation".
func runRevocation(ctx context.Context, c *cli, args []string) int {
	if len(args) == 0 || isHelp(args[0]) {
		w, code := c.helpOrUsage(args)
		fmt.Fprint(w, revocationUsage)
		return code
	}
	subs := map[string]func(context.Context, *cli, []string) int{
		"sync": revSync, "check": revCheck, "stop": revStop, "unstop": revUnstop, "status": revStatus, "publish": revPublish,
	}
	fn, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "cardap revocation: unknown subcommand %q\n\n%s", args[0], revocationUsage)
		c.usageJSON(args, fmt.Errorf("revocation: unknown subcommand %q", args[0]))
		return exitUsage
	}
	return fn(ctx, c, args[1:])
}

// revFlags holds the flags shared by the subcommands.
type revFlags struct {
	fs       *flag.FlagSet
	store    string
	json     bool
	progress bool
	// meter shows the long phases (sync, import, publish); nil elsewhere.
	meter  *progressMeter
	maxAge time.Duration
	allow  bool
	// requireBy: --by is required (stop, unstop).
	requireBy bool
}

func newRevFlags(c *cli, name, args string) *revFlags {
	f := &revFlags{fs: flag.NewFlagSet("cardap revocation "+name, flag.ContinueOnError)}
	f.fs.SetOutput(c.stderr)
	f.fs.Usage = func() {
		fmt.Fprintf(f.fs.Output(), "usage: cardap revocation %s [flags] %s\n\nflags:\n", name, args)
		f.fs.PrintDefaults()
	}
	f.fs.BoolVar(&f.json, "json", false, "print the result as JSON")
	return f
}

func (f *revFlags) storeFlags() {
	f.fs.StringVar(&f.store, "store", os.Getenv("CARDAP_REVOCATION_STORE"), "store directory (default $CARDAP_REVOCATION_STORE)")
	f.fs.DurationVar(&f.maxAge, "max-age", revocation.DefaultMaxAge, "oldest list accepted before checks fail closed")
	f.fs.BoolVar(&f.allow, "allow-stale", false, "allow checks on a list older than --max-age, with a warning (never on a store that holds no list)")
}

// parse parses args; it returns a non-negative exit code when done.
func (f *revFlags) parse(c *cli, args []string, nArgs int) int {
	if err := parseInterspersed(c, f.fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if nArgs >= 0 && f.fs.NArg() != nArgs {
		f.fs.Usage()
		return f.fail(c, usageErrorf("%s: want %d argument(s), got %d", f.fs.Name(), nArgs, f.fs.NArg()))
	}
	if by := f.fs.Lookup("by"); f.requireBy && by != nil && by.Value.String() == "" {
		return f.fail(c, usageErrorf("%s: --by (the operator making the change) is required", f.fs.Name()))
	}
	if f.fs.Lookup("store") != nil && f.store == "" {
		return f.fail(c, usageErrorf("%s: --store (or $CARDAP_REVOCATION_STORE) is required", f.fs.Name()))
	}
	return -1
}

// open opens the store; readOnly for the subcommands that only read
// (check, status), so that they create nothing and never wait for a
// writer such as a sync running in another process.
func (f *revFlags) open(c *cli, readOnly bool) (*revocation.Store, int) {
	var progress revocation.ProgressFunc
	if f.meter != nil {
		progress = f.meter.report
	}
	s, err := revocation.Open(f.store, revocation.Options{
		Progress:        progress,
		Policy:          revocation.Policy{MaxAge: f.maxAge, AllowStale: f.allow},
		ReadOnly:        readOnly,
		RefreshInterval: -1, // one-shot commands: no background refresh
		// A one-shot command checks nothing while it applies a list: a
		// full list replaces the old one in the memory of about one.
		ReleaseOnReplace: !readOnly,
		// Warnings (a corrupt file skipped, a stale list accepted) go to
		// the operator's terminal; a nil Logger would discard them.
		Logger: slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, f.fail(c, err)
	}
	return s, -1
}

// fail reports err through the one error path (fail), as JSON with --json.
func (f *revFlags) fail(c *cli, err error) int {
	return fail(c, f.json, err)
}

// escapeText makes text that came from files or the command line safe to
// print on a terminal or in a log line: control characters (newlines,
// escape sequences, C1 controls) and invalid UTF-8 are shown as Go
// escapes (strconv.Quote style) instead of being written raw, so a forged
// journal line cannot fake audit lines or drive the terminal. Other text,
// Japanese included, prints unchanged.
func escapeText(s string) string {
	if !hasControl(s) && utf8.ValidString(s) {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// hasControl reports whether s holds a control character (C0, DEL or C1)
// or a Unicode format character used to reorder text (bidi overrides).
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

// checkOperatorText refuses --by or --why text holding control characters
// (newlines, escape sequences): what an operator records must print as
// one plain line in the journal's readers.
func checkOperatorText(name, flagName, v string) error {
	if hasControl(v) || !utf8.ValidString(v) {
		return usageErrorf("%s: --%s holds control characters or invalid UTF-8 (%s): give plain text on one line", name, flagName, strconv.QuoteToGraphic(v))
	}
	return nil
}

func revSync(ctx context.Context, c *cli, args []string) (code int) {
	f := newRevFlags(c, "sync", "")
	f.storeFlags()
	from := f.fs.String("from", "", "signed feed: an http(s) URL or a directory")
	pubkey := f.fs.String("pubkey", "", "the feed's Ed25519 public key: 64 hex digits")
	pubkeyFile := f.fs.String("pubkey-file", "", "a file holding the feed's Ed25519 public key as 64 hex digits (instead of --pubkey)")
	imp := f.fs.String("import", "", "import a local file instead of a feed (unsigned: only for files from a trusted channel)")
	format := f.fs.String("format", "text", "format of --import: text (CSV/TSV list or delta), crl (DER X.509 CRL, keyed by serial) or jpki-crl (a JPKI CA's DER CRL keyed by certificate revocation key, docs/PROTOCOL.md §10.4; needs --crl-issuer)")
	issuer := f.fs.String("crl-issuer", "", "PEM or DER certificate whose signature the CRL must carry")
	timeout := f.fs.Duration("timeout", 60*time.Second, "timeout of one HTTP attempt")
	maxFuture := f.fs.Duration("max-future", feed.DefaultMaxFuture, "refuse a feed dated further ahead of this machine's clock (negative: no limit)")
	f.fs.BoolVar(&f.progress, "progress", false, "show progress (rate, time left) even when stderr is not a terminal")
	if code := f.parse(c, args, 0); code >= 0 {
		return code
	}
	if (*from == "") == (*imp == "") {
		return f.fail(c, usageError("revocation sync: give exactly one of --from and --import"))
	}
	f.meter = newProgressMeter(c.stderr, f.progress)
	defer f.meter.done()
	s, code := f.open(c, false)
	if s == nil {
		return code
	}
	defer c.closeAfter(&code, "revocation store", s)
	if *imp != "" {
		return revImport(ctx, c, f, s, *imp, *format, *issuer)
	}
	pub, err := readPublicKey(*pubkey, *pubkeyFile)
	if err != nil {
		return f.fail(c, err)
	}
	var src feed.Source
	if strings.HasPrefix(*from, "http://") || strings.HasPrefix(*from, "https://") {
		src = &feed.HTTPSource{BaseURL: *from, Timeout: *timeout}
	} else {
		src = &feed.DirSource{Dir: *from}
	}
	// The syncer reports each file as it is downloaded and verified
	// (from a web host or a directory alike), the store as it applies it.
	res, err := (&feed.Syncer{Store: s, Source: src, PublicKey: pub, MaxFuture: *maxFuture, Progress: f.meter.report}).Sync(ctx)
	f.meter.done()
	if err != nil {
		return f.fail(c, err)
	}
	if f.json {
		if res.Files == nil {
			res.Files = []string{}
		}
		if err := writeJSON(c.stdout, res); err != nil {
			return f.fail(c, err)
		}
	} else if res.From == res.To {
		fmt.Fprintf(c.stdout, "up to date at sequence %d\n", res.To)
	} else {
		fmt.Fprintf(c.stdout, "synced from sequence %d to %d (%s)\n", res.From, res.To, strings.Join(res.Files, ", "))
	}
	return exitOK
}

func revImport(ctx context.Context, c *cli, f *revFlags, s *revocation.Store, path, format, issuer string) int {
	var p revocation.Parser
	switch format {
	case "text":
		// A full list is sorted on disk beside the store, not in memory.
		p = revocation.TextParser{SpoolDir: s.Dir()}
	case "crl":
		cp := feed.CRLParser{}
		if issuer != "" {
			cert, err := readCert(issuer)
			if err != nil {
				return f.fail(c, fmt.Errorf("--crl-issuer: %w", err))
			}
			cp.Issuer = cert
		}
		p = cp
	case "jpki-crl":
		// Keys over the CRL's issuer name: only from a CRL whose signature
		// and issuer were checked against the CA.
		if issuer == "" {
			return f.fail(c, usageError("--format jpki-crl needs --crl-issuer (the CA certificate the CRL is checked against)"))
		}
		cert, err := readCert(issuer)
		if err != nil {
			return f.fail(c, fmt.Errorf("--crl-issuer: %w", err))
		}
		p = feed.CRLParser{Issuer: cert, CertificateKeys: true}
	default:
		return f.fail(c, usageErrorf("--format %q: want text, crl or jpki-crl", format))
	}
	// An unsigned import is trusted as it stands: the file must be one
	// only root or this user can have written (and never a FIFO that
	// blocks the sync).
	in, err := securefile.Open(path, securefile.Policy{})
	if err != nil {
		return f.fail(c, fmt.Errorf("--import: %w", err))
	}
	defer in.Close()
	var total int64 = -1
	if st, err := in.Stat(); err == nil {
		total = st.Size()
	}
	u, err := p.Parse(&progressReader{r: in, report: f.meter.bytesReport(revocation.PhaseRead, filepath.Base(path), total)})
	if err != nil {
		return f.fail(c, fmt.Errorf("%s: %w (nothing applied)", path, err))
	}
	defer u.Close()
	before := s.Snapshot().Seq()
	err = s.Apply(ctx, u)
	f.meter.done()
	if err != nil {
		return f.fail(c, err)
	}
	if f.json {
		if err := writeJSON(c.stdout, feed.SyncResult{From: before, To: u.Seq, Files: []string{path}}); err != nil {
			return f.fail(c, err)
		}
	} else {
		fmt.Fprintf(c.stdout, "imported %s: sequence %d -> %d, %d entries\n", path, before, u.Seq, s.Snapshot().Len())
	}
	return exitOK
}

// checkOutcome is the exit code of one check, and the error text to show
// with it. A revoked identifier is exitRevoked even when the lookup also
// failed (the store found it but could not read its details): a positive
// answer is never weakened to a plain failure. A list too old to decide is
// exitRevoked too (fail closed); another error is exitFailure.
func checkOutcome(r revocation.Result, err error) (string, int) {
	var msg string
	if err != nil {
		msg = err.Error()
	}
	switch {
	case r.Revoked:
		return msg, exitRevoked
	case err != nil:
		return msg, exitCode(err)
	}
	return "", exitOK
}

// worseCode combines the exit codes of several checks: exitRevoked over
// exitFailure over exitOK.
func worseCode(a, b int) int {
	rank := func(c int) int {
		switch c {
		case exitRevoked:
			return 2
		case exitOK:
			return 0
		}
		return 1
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func revCheck(ctx context.Context, c *cli, args []string) (code int) {
	f := newRevFlags(c, "check", "<id>...")
	f.storeFlags()
	if code := f.parse(c, args, -1); code >= 0 {
		return code
	}
	if f.fs.NArg() == 0 {
		f.fs.Usage()
		return f.fail(c, usageError("revocation check: give at least one identifier"))
	}
	keys := make([]revocation.Key, 0, f.fs.NArg())
	for _, a := range f.fs.Args() {
		k, err := parseKeyArg(a)
		if err != nil {
			return f.fail(c, usageError(err.Error()))
		}
		keys = append(keys, k)
	}
	s, code := f.open(c, true)
	if s == nil {
		return code
	}
	defer c.closeAfter(&code, "revocation store", s)
	type out struct {
		revocation.Result
		Error string `json:"error,omitempty"`
		Code  string `json:"code,omitempty"`
	}
	var outs []out
	code = exitOK
	for _, k := range keys {
		r, err := s.Check(k)
		o := out{Result: r}
		var c int
		o.Error, c = checkOutcome(r, err)
		if err != nil {
			o.Code, _ = classify(err)
		}
		code = worseCode(code, c)
		outs = append(outs, o)
	}
	if f.json {
		// One object per identifier, one per line (JSON lines).
		for _, o := range outs {
			if err := writeJSON(c.stdout, o); err != nil {
				fmt.Fprintf(c.stderr, "cardap: %v\n", err)
				return worseCode(code, exitFailure)
			}
		}
		return code
	}
	for _, o := range outs {
		age := "never synced"
		if !o.AsOf.IsZero() {
			age = o.Age.Round(time.Second).String()
		}
		switch {
		case o.Revoked:
			e := o.Entry
			fmt.Fprintf(c.stdout, "%s REVOKED (%s, %s, since %s", o.Key, e.Origin, e.Reason, e.RevokedAt.Format(time.RFC3339))
			if e.By != "" {
				fmt.Fprintf(c.stdout, ", by %s: %s", escapeText(e.By), escapeText(e.Why))
			}
			fmt.Fprintf(c.stdout, ") list seq %d, age %s\n", o.Seq, age)
		case o.Error != "":
			fmt.Fprintf(c.stdout, "%s UNDECIDED: %s\n", o.Key, escapeText(o.Error))
		default:
			stale := ""
			if o.Stale {
				stale = " (STALE, allowed by --allow-stale)"
			}
			fmt.Fprintf(c.stdout, "%s ok: not revoked; list seq %d, age %s%s\n", o.Key, o.Seq, age, stale)
		}
	}
	return code
}

func stopFlags(c *cli, name string) (*revFlags, *string, *string) {
	f := newRevFlags(c, name, "<id>")
	f.storeFlags()
	f.requireBy = true
	by := f.fs.String("by", "", "operator making the change (required; plain text, no control characters)")
	why := f.fs.String("why", "", "why (recorded in the audit journal; plain text on one line)")
	return f, by, why
}

func revStop(ctx context.Context, c *cli, args []string) (code int) {
	f, by, why := stopFlags(c, "stop")
	reason := f.fs.String("reason", "lost", "reason: lost, stolen, suspended, holder-request, deceased, other, ...")
	if code := f.parse(c, args, 1); code >= 0 {
		return code
	}
	if err := errors.Join(checkOperatorText(f.fs.Name(), "by", *by), checkOperatorText(f.fs.Name(), "why", *why)); err != nil {
		return f.fail(c, usageError(err.Error()))
	}
	k, err := parseKeyArg(f.fs.Arg(0))
	if err != nil {
		return f.fail(c, usageError(err.Error()))
	}
	r, err := revocation.ParseReason(*reason)
	if err != nil {
		return f.fail(c, usageError(err.Error()))
	}
	s, code := f.open(c, false)
	if s == nil {
		return code
	}
	defer c.closeAfter(&code, "revocation store", s)
	if err := s.Stop(ctx, k, revocation.StopOptions{Reason: r, By: *by, Why: *why}); err != nil {
		return f.fail(c, err)
	}
	if f.json {
		if err := writeJSON(c.stdout, map[string]any{"stopped": k, "by": *by, "why": *why, "reason": r}); err != nil {
			return f.fail(c, err)
		}
	} else {
		fmt.Fprintf(c.stdout, "%s stopped locally (%s) by %s\n", k, r, escapeText(*by))
	}
	return exitOK
}

func revUnstop(ctx context.Context, c *cli, args []string) (code int) {
	f, by, why := stopFlags(c, "unstop")
	if code := f.parse(c, args, 1); code >= 0 {
		return code
	}
	if err := errors.Join(checkOperatorText(f.fs.Name(), "by", *by), checkOperatorText(f.fs.Name(), "why", *why)); err != nil {
		return f.fail(c, usageError(err.Error()))
	}
	k, err := parseKeyArg(f.fs.Arg(0))
	if err != nil {
		return f.fail(c, usageError(err.Error()))
	}
	s, code := f.open(c, false)
	if s == nil {
		return code
	}
	defer c.closeAfter(&code, "revocation store", s)
	if err := s.Unstop(ctx, k, revocation.UnstopOptions{By: *by, Why: *why}); err != nil {
		return f.fail(c, err)
	}
	if f.json {
		if err := writeJSON(c.stdout, map[string]any{"unstopped": k, "by": *by, "why": *why}); err != nil {
			return f.fail(c, err)
		}
	} else {
		fmt.Fprintf(c.stdout, "%s: local stop lifted by %s\n", k, escapeText(*by))
	}
	return exitOK
}

func revStatus(ctx context.Context, c *cli, args []string) (code int) {
	f := newRevFlags(c, "status", "")
	f.storeFlags()
	audit := f.fs.Bool("audit", false, "also print the journal of local stops and unstops")
	if code := f.parse(c, args, 0); code >= 0 {
		return code
	}
	s, code := f.open(c, true)
	if s == nil {
		return code
	}
	defer c.closeAfter(&code, "revocation store", s)
	snap := s.Snapshot()
	st := struct {
		Store      string                   `json:"store"`
		Seq        uint64                   `json:"seq"`
		AsOf       time.Time                `json:"as_of"`
		AgeSeconds float64                  `json:"age_seconds"`
		Stale      bool                     `json:"stale"`
		Entries    int                      `json:"entries"`
		LocalStops []revocation.Entry       `json:"local_stops"`
		Audit      []revocation.AuditRecord `json:"audit,omitempty"`
	}{Store: s.Dir(), Seq: snap.Seq(), AsOf: snap.AsOf(), Entries: snap.Len(), LocalStops: s.Stops()}
	age := time.Since(snap.AsOf())
	st.AgeSeconds = age.Seconds()
	st.Stale = snap.AsOf().IsZero() || age > f.maxAge
	if *audit {
		var err error
		if st.Audit, err = s.Audit(); err != nil {
			return f.fail(c, err)
		}
	}
	if f.json {
		if err := writeJSON(c.stdout, st); err != nil {
			return f.fail(c, err)
		}
	} else {
		ages := "never synced"
		if !snap.AsOf().IsZero() {
			ages = fmt.Sprintf("as of %s, age %s", snap.AsOf().Format(time.RFC3339), age.Round(time.Second))
		}
		fmt.Fprintf(c.stdout, "store %s\nlist sequence %d, %s, %d entries\n", escapeText(st.Store), st.Seq, ages, st.Entries)
		switch {
		case snap.AsOf().IsZero():
			fmt.Fprintln(c.stdout, "NEVER SYNCED: checks fail closed until a list is synced or imported")
		case st.Stale:
			fmt.Fprintf(c.stdout, "STALE: older than %s; checks fail closed unless --allow-stale\n", f.maxAge)
		}
		fmt.Fprintf(c.stdout, "%d local stop(s)\n", len(st.LocalStops))
		for _, e := range st.LocalStops {
			fmt.Fprintf(c.stdout, "  %s %s since %s by %s: %s\n", e.Key, e.Reason, e.RevokedAt.Format(time.RFC3339), escapeText(e.By), escapeText(e.Why))
		}
		for _, a := range st.Audit {
			fmt.Fprintf(c.stdout, "%s %-6s %s by %s: %s\n", a.At.Format(time.RFC3339), escapeText(a.Op), a.Key, escapeText(a.By), escapeText(a.Why))
		}
	}
	if st.Stale {
		return exitRevoked
	}
	return exitOK
}

func revPublish(ctx context.Context, c *cli, args []string) int {
	f := newRevFlags(c, "publish", "")
	master := f.fs.String("master", "", "the operator's master list (CSV/TSV list form)")
	out := f.fs.String("out", "", "feed directory to write (the web root)")
	keyFile := f.fs.String("key", "", "file holding the Ed25519 private key seed (64 hex digits; mode 0600, owned by you or root), or a pkcs11: URI of the key in a token (object= label, default feed-signing)")
	newKey := f.fs.String("new-key", "", "generate a key pair: create this file (new, mode 0600; an existing file or symlink is refused) with the private seed, or generate it inside the token of a pkcs11: URI; print the public key")
	keep := f.fs.Int("keep-deltas", 14, "number of recent deltas listed in the feed")
	asOf := f.fs.String("as-of", "", "as-of time (RFC 3339); default: the master list's #as-of")
	f.fs.BoolVar(&f.progress, "progress", false, "show progress (rate, time left) even when stderr is not a terminal")
	if code := f.parse(c, args, 0); code >= 0 {
		return code
	}
	if isPKCS11(*newKey) {
		pub, err := tokenNewFeedKey(ctx, *newKey)
		if err != nil {
			return f.fail(c, fmt.Errorf("--new-key: %w", err))
		}
		if f.json {
			if err := writeJSON(c.stdout, map[string]string{"public_key": hex.EncodeToString(pub)}); err != nil {
				return f.fail(c, err)
			}
		} else {
			fmt.Fprintf(c.stdout, "public key %s\nprivate key generated in the token (not extractable)\n", hex.EncodeToString(pub))
		}
		return exitOK
	}
	if *newKey != "" {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return f.fail(c, err)
		}
		seed := []byte(hex.EncodeToString(priv.Seed()) + "\n")
		err = securefile.WriteSecret(*newKey, seed)
		clear(seed)
		clear(priv)
		if err != nil {
			return f.fail(c, fmt.Errorf("--new-key: %w", err))
		}
		if f.json {
			if err := writeJSON(c.stdout, map[string]string{"public_key": hex.EncodeToString(pub), "private_key_file": *newKey}); err != nil {
				return f.fail(c, err)
			}
		} else {
			fmt.Fprintf(c.stdout, "public key %s\nprivate key written to %s\n", hex.EncodeToString(pub), *newKey)
		}
		return exitOK
	}
	if *master == "" || *out == "" || *keyFile == "" {
		return f.fail(c, usageError("revocation publish: --master, --out and --key are required"))
	}
	var priv ed25519.PrivateKey
	var signer crypto.Signer
	if isPKCS11(*keyFile) {
		s, closer, err := tokenSigner(ctx, *keyFile)
		if err != nil {
			return f.fail(c, fmt.Errorf("--key: %w", err))
		}
		defer closer.Close()
		signer = s
	} else {
		var err error
		if priv, err = readPrivateKey(*keyFile); err != nil {
			return f.fail(c, fmt.Errorf("--key: %w", err))
		}
		defer clear(priv)
	}
	// The master list decides what every terminal refuses: it is
	// checked like any file a privileged process trusts.
	in, err := securefile.Open(*master, securefile.Policy{})
	if err != nil {
		return f.fail(c, fmt.Errorf("--master: %w", err))
	}
	defer in.Close()
	var total int64 = -1
	if st, err := in.Stat(); err == nil {
		total = st.Size()
	}
	// The list is sorted in bounded memory, its runs spilled into the
	// feed directory (hidden temporary files, unlinked at once on Unix);
	// a directory made for them and left empty by a failure is removed.
	_, statErr := os.Stat(*out)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return f.fail(c, err)
	}
	ok := false
	defer func() {
		if !ok && errors.Is(statErr, os.ErrNotExist) {
			os.Remove(*out)
		}
	}()
	meter := newProgressMeter(c.stderr, f.progress)
	defer meter.done()
	u, err := revocation.TextParser{SpoolDir: *out}.Parse(&progressReader{r: in, report: meter.bytesReport(revocation.PhaseRead, filepath.Base(*master), total)})
	if err != nil {
		return f.fail(c, fmt.Errorf("%s: %w", *master, err))
	}
	defer u.Close()
	if !u.Full {
		return f.fail(c, errors.New("the master list must be a full list, not a delta"))
	}
	when := u.AsOf
	if *asOf != "" {
		if when, err = time.Parse(time.RFC3339, *asOf); err != nil {
			return f.fail(c, usageErrorf("--as-of: %v", err))
		}
	}
	head, err := (&feed.Publisher{Dir: *out, Key: priv, Signer: signer, KeepDeltas: *keep, Progress: meter.report}).PublishList(ctx, u, when)
	meter.done()
	if err != nil {
		return f.fail(c, err)
	}
	ok = true
	if f.json {
		if err := writeJSON(c.stdout, head); err != nil {
			return f.fail(c, err)
		}
	} else {
		fmt.Fprintf(c.stdout, "published sequence %d as of %s: %s, %d delta(s)\n", head.Seq, head.AsOf.Format(time.RFC3339), head.List.Name, len(head.Deltas))
	}
	return exitOK
}

// maxKeyFile bounds a key file read: 64 hex digits and some white space.
const maxKeyFile = 4096

// readKeyFile reads a small key file opened through securefile under p
// (no symlink followed, no FIFO, owner root or the running user; with
// p.Secret, no access for group or others).
func readKeyFile(path string, p securefile.Policy) ([]byte, error) {
	fh, err := securefile.Open(path, p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		clear(data)
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxKeyFile)
	}
	return data, nil
}

// readPublicKey decodes the feed's public key: inline hex (--pubkey)
// only, never a file of that name (a file planted in the working
// directory under the key's hex would otherwise replace the trust
// anchor), or a file named by --pubkey-file.
func readPublicKey(inline, file string) (ed25519.PublicKey, error) {
	var s string
	switch {
	case inline != "" && file != "":
		return nil, usageError("give --pubkey or --pubkey-file, not both")
	case inline != "":
		s = inline
	case file != "":
		data, err := readKeyFile(file, securefile.Policy{})
		if err != nil {
			return nil, fmt.Errorf("--pubkey-file: %w", err)
		}
		s = string(data)
	default:
		return nil, usageError("--pubkey or --pubkey-file is required with --from")
	}
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		if file != "" {
			return nil, fmt.Errorf("--pubkey-file %s: want %d hex digits: %w", file, 2*ed25519.PublicKeySize, revocation.ErrMalformedKey)
		}
		return nil, usageErrorf("--pubkey: want %d hex digits", 2*ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// readPrivateKey reads the feed signing seed: the file must be a regular
// file (no symlink followed) owned by root or the running user with no
// access for group or others, as --keys files are.
func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := readKeyFile(path, securefile.Policy{Secret: true})
	if err != nil {
		return nil, err
	}
	defer clear(data)
	seed := make([]byte, ed25519.SeedSize)
	defer clear(seed)
	t := bytes.TrimSpace(data)
	if len(t) != 2*ed25519.SeedSize {
		return nil, fmt.Errorf("%s: want the %d-byte seed as hex", path, ed25519.SeedSize)
	}
	if _, err := hex.Decode(seed, t); err != nil {
		return nil, fmt.Errorf("%s: want the %d-byte seed as hex", path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// maxCertFile bounds a --crl-issuer certificate file.
const maxCertFile = 64 << 10

// readCert reads the CRL issuer's certificate (PEM or DER), a trust
// anchor: opened through securefile and bounded.
func readCert(path string) (*x509.Certificate, error) {
	fh, err := securefile.Open(path, securefile.Policy{})
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxCertFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCertFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxCertFile)
	}
	if blk, _ := pem.Decode(data); blk != nil {
		data = blk.Bytes
	}
	return x509.ParseCertificate(data)
}

// sizeString prints a byte count: 512 B, 1.5 KiB, 12.0 MiB, 1.2 GiB.
func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// parseKeyArg parses a key given on the command line. Hex digits may be
// upper-case there (as profile.ParseCUID and card readers print them);
// feeds keep the canonical lower-case form revocation.ParseKey requires.
func parseKeyArg(s string) (revocation.Key, error) {
	return revocation.ParseKey(strings.ToLower(s))
}
