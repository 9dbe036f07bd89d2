package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/mynacard/freespace/internal/cryptoprim"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/pkcs11"
)

// Key ceremonies: `cardap keys generate|import|list|rotate|export-public`
// on the two backends that can hold keys, a key file (--keys FILE) and a
// PKCS#11 token (--keys pkcs11:...). env: sources are read-only. Every
// operation, the read-only ones too, is appended to the durable audit log
// (--operator, --audit) before success is reported; no record holds key
// bytes.
//
// Two-person control: import (a key that existed outside the backend)
// needs --witness, a second operator ID that differs from --operator,
// and both are recorded. This is a procedural control the log makes
// auditable, not a cryptographic one (no key splitting): the token's own
// policy (an HSM's M-of-N login) is what enforces it cryptographically.
// Generation inside a token needs no witness: no one ever sees the key.

// keysUsage is the synopsis of `cardap keys`.
const keysUsage = "keys generate|import|list|rotate|export-public ... " + auditUsage + " [--json]\n" +
	"       generate:      --keys FILE|pkcs11:URI --name NAME[,NAME...] [--version N] [--alg aes|3des|ed25519] [--len 16|24|32]\n" +
	"       import:        --keys FILE|pkcs11:URI --from KEYFILE [--name NAME[,NAME...]] [--version N] --witness ID\n" +
	"       list:          --keys FILE|pkcs11:URI\n" +
	"       rotate:        --keys FILE|pkcs11:URI (--name NAME[,NAME...] | --prefix PREFIX): add version n+1 of each\n" +
	"       export-public: --key pkcs11:URI|SEEDFILE (the feed signing key's Ed25519 public key)"

// keyInfo is one key in a listing (never its bytes).
type keyInfo struct {
	Name        string `json:"name"`
	Version     int    `json:"version"`
	Alg         string `json:"alg"`
	Len         int    `json:"len,omitempty"`
	Class       string `json:"class,omitempty"`
	Extractable *bool  `json:"extractable,omitempty"`
}

// keyBackend is where cardap keys creates and lists keys.
type keyBackend interface {
	// describe names the backend for the audit log and output.
	describe() string
	list(ctx context.Context) ([]keyInfo, error)
	generate(ctx context.Context, ref keys.KeyRef, alg keys.Algorithm, n int) error
	importKey(ctx context.Context, ref keys.KeyRef, k keys.Key) error
	// commit makes the changes durable (the file backend writes the file).
	commit() error
	// immediate reports whether each change is durable at once (a token)
	// rather than at commit (a file).
	immediate() bool
	Close() error
}

// openKeyBackend opens --keys SPEC for a ceremony; create allows a key
// file that does not exist yet.
func openKeyBackend(ctx context.Context, spec string, create bool) (keyBackend, error) {
	ks, err := parseKeySource(spec)
	if err != nil {
		return nil, err
	}
	switch ks.scheme {
	case "pkcs11":
		p, u, err := openToken(ctx, ks.uri, stdinOf(ctx))
		if err != nil {
			return nil, fmt.Errorf("--keys: %w", err)
		}
		return &tokenBackend{p: p, token: u.Token}, nil
	case "file":
		st, err := keys.LoadFile(ks.path)
		if errors.Is(err, os.ErrNotExist) && create {
			st, err = keys.NewStore(), nil
		}
		if err != nil {
			return nil, err
		}
		return &fileBackend{path: ks.path, st: st}, nil
	}
	return nil, usageError("--keys env:... is read-only: key ceremonies need a key file or a pkcs11: token")
}

// fileBackend is a key file, rewritten atomically on commit.
type fileBackend struct {
	path  string
	st    *keys.Store
	dirty bool
}

func (f *fileBackend) describe() string { return "file:" + f.path }

func (f *fileBackend) list(ctx context.Context) ([]keyInfo, error) {
	var out []keyInfo
	for _, ref := range f.st.Refs() {
		k, err := f.st.Key(ctx, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, keyInfo{Name: ref.Name, Version: ref.Version, Alg: k.Algorithm().String(), Len: k.Len(), Class: "secret"})
		k.Zero()
	}
	return out, nil
}

func (f *fileBackend) exists(ref keys.KeyRef) bool { return slices.Contains(f.st.Refs(), ref) }

func (f *fileBackend) generate(_ context.Context, ref keys.KeyRef, alg keys.Algorithm, n int) error {
	if f.exists(ref) {
		return fmt.Errorf("%w: %s is already in %s", pkcs11.ErrObjectExists, ref, f.path)
	}
	raw := make([]byte, n)
	defer clear(raw)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	if alg == keys.TDES {
		cryptoprim.SetDESParity(raw)
	}
	k, err := keys.NewKey(alg, raw)
	if err != nil {
		return err
	}
	f.dirty = true
	return f.st.Add(ref, k)
}

func (f *fileBackend) importKey(_ context.Context, ref keys.KeyRef, k keys.Key) error {
	if f.exists(ref) {
		return fmt.Errorf("%w: %s is already in %s", pkcs11.ErrObjectExists, ref, f.path)
	}
	c, err := keys.NewKey(k.Algorithm(), k.Bytes())
	if err != nil {
		return err
	}
	f.dirty = true
	return f.st.Add(ref, c)
}

func (f *fileBackend) commit() error {
	if !f.dirty {
		return nil
	}
	return f.st.WriteFile(f.path)
}

func (f *fileBackend) immediate() bool { return false }

func (f *fileBackend) Close() error {
	f.st.Zero()
	return nil
}

// tokenBackend is a PKCS#11 token: keys are generated inside and never
// leave it.
type tokenBackend struct {
	p     *pkcs11.Provider
	token string
}

func (t *tokenBackend) describe() string { return "pkcs11:token=" + t.token }

func (t *tokenBackend) list(ctx context.Context) ([]keyInfo, error) {
	objs, err := t.p.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]keyInfo, 0, len(objs))
	for _, o := range objs {
		ki := keyInfo{Name: o.Label, Version: o.Version, Alg: o.Algorithm, Len: o.Len, Class: o.Class}
		if o.Class != "public" {
			ki.Extractable = &o.Extractable
		}
		out = append(out, ki)
	}
	return out, nil
}

func (t *tokenBackend) generate(ctx context.Context, ref keys.KeyRef, alg keys.Algorithm, n int) error {
	return t.p.Generate(ctx, ref, alg, n)
}

func (t *tokenBackend) importKey(ctx context.Context, ref keys.KeyRef, k keys.Key) error {
	return t.p.Import(ctx, ref, k)
}

func (t *tokenBackend) commit() error { return nil }

func (t *tokenBackend) immediate() bool { return true }

func (t *tokenBackend) Close() error { return t.p.Close() }

// keysFlags are the flags of every keys subcommand.
type keysFlags struct {
	aud     auditFlags
	json    bool
	spec    string
	names   string
	prefix  string
	version int
	alg     string
	length  int
	from    string
	witness string
	key     string
}

// cmdKeys is `cardap keys <subcommand>`.
func cmdKeys(ctx context.Context, c *cli, args []string) (code int) {
	sub, code := subcommand(c, keysUsage, args, "generate", "import", "list", "rotate", "export-public")
	if code >= 0 {
		return code
	}
	var kf keysFlags
	fs := newFlagSet(c, "keys "+sub, keysUsage)
	kf.aud.register(fs)
	fs.BoolVar(&kf.json, "json", false, "machine-readable JSON output")
	switch sub {
	case "export-public":
		fs.StringVar(&kf.key, "key", "", "the feed signing key: a pkcs11: URI (object= label, default feed-signing) or a seed file (64 hex digits)")
	default:
		fs.StringVar(&kf.spec, "keys", "", "the backend `SPEC`: a key file or pkcs11:token=LABEL?module-path=...&pin-source=env:VAR")
	}
	switch sub {
	case "generate", "import", "rotate":
		fs.StringVar(&kf.names, "name", "", "key `NAME`s, comma-separated (e.g. typea-auth-enc,typea-auth-mac)")
	}
	switch sub {
	case "generate":
		fs.IntVar(&kf.version, "version", 0, "version `N` to create (default: one more than the newest of the named keys, 1 for new keys)")
		fs.StringVar(&kf.alg, "alg", "aes", "algorithm: aes, 3des, or ed25519 (a feed signing key pair; pkcs11 only)")
		fs.IntVar(&kf.length, "len", 16, "AES key length in bytes: 16, 24 or 32")
	case "import":
		fs.StringVar(&kf.from, "from", "", "the key `FILE` to import from (a key file, opened as a secret)")
		fs.IntVar(&kf.version, "version", 0, "import only this version (default: every version of the selected keys)")
		fs.StringVar(&kf.witness, "witness", "", "the second operator `ID` present at the import (two-person control; must differ from --operator)")
	case "rotate":
		fs.StringVar(&kf.prefix, "prefix", "", "rotate every key whose name starts with `PREFIX` (e.g. typea-)")
	}
	if code := parseFlags(c, fs, args[1:]); code >= 0 {
		return code
	}
	// The audit log is opened before anything is done: an operation that
	// cannot be logged is not started.
	audit, err := kf.aud.open(ctx, "keys "+sub)
	if err != nil {
		return fail(c, kf.json, err)
	}
	defer c.closeAfter(&code, "audit log", audit)
	ev := auditEvent{operation: "keys-" + sub}
	if sub == "export-public" {
		return keysExportPublic(ctx, c, &kf, audit, ev)
	}
	if kf.spec == "" {
		return fail(c, kf.json, usageError("--keys SPEC is required (a key file or a pkcs11: token)"))
	}
	if sub == "import" {
		if kf.from == "" {
			return fail(c, kf.json, usageError("--from FILE is required"))
		}
		if kf.witness == "" || kf.witness == kf.aud.operator {
			return fail(c, kf.json, usageError("import is a two-person operation: --witness ID is required and must differ from --operator"))
		}
		if err := checkOperator(kf.witness); err != nil {
			return fail(c, kf.json, usageErrorf("--witness: %v", strings.TrimPrefix(err.Error(), "--operator: ")))
		}
		ev.witness = kf.witness
	}
	be, err := openKeyBackend(ctx, kf.spec, sub == "generate" || sub == "import")
	if err != nil {
		return failAudited(c, kf.json, audit, ev, err)
	}
	defer c.closeAfter(&code, "key backend", be)
	ev.backend = be.describe()
	switch sub {
	case "list":
		return keysList(ctx, c, &kf, be, audit, ev)
	case "generate":
		return keysGenerate(ctx, c, &kf, be, audit, ev)
	case "import":
		return keysImport(ctx, c, &kf, be, audit, ev)
	default:
		return keysRotate(ctx, c, &kf, be, audit, ev)
	}
}

// splitNames parses --name.
func splitNames(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// createdKey is one key a ceremony created, for the output.
type createdKey struct {
	Name      string `json:"name"`
	Version   int    `json:"version"`
	Alg       string `json:"alg"`
	PublicKey string `json:"public_key,omitempty"`
}

// reportCreated writes the created keys (one JSON object) or lines.
func reportCreated(c *cli, asJSON bool, verb, backend string, made []createdKey) int {
	if asJSON {
		return done(c, writeJSON(c.stdout, map[string]any{"backend": backend, verb: made}))
	}
	for _, k := range made {
		line := fmt.Sprintf("%s %s v%d (%s) in %s", verb, k.Name, k.Version, k.Alg, backend)
		if k.PublicKey != "" {
			line += ": public key " + k.PublicKey
		}
		if _, err := fmt.Fprintln(c.stdout, line); err != nil {
			return done(c, err)
		}
	}
	return exitOK
}

// record appends the audit record of one key's operation; a failure to
// record fails the command.
func recordKey(c *cli, asJSON bool, audit *auditLog, ev auditEvent, ref keys.KeyRef, opErr error) (int, bool) {
	ev.key = ref.String()
	if opErr != nil {
		return failAudited(c, asJSON, audit, ev, opErr), false
	}
	return succeedAudited(c, asJSON, audit, ev, outcomeSuccess)
}

func keysList(ctx context.Context, c *cli, kf *keysFlags, be keyBackend, audit *auditLog, ev auditEvent) int {
	ks, err := be.list(ctx)
	if err != nil {
		return failAudited(c, kf.json, audit, ev, err)
	}
	if code, ok := succeedAudited(c, kf.json, audit, ev, outcomeSuccess); !ok {
		return code
	}
	if kf.json {
		if ks == nil {
			ks = []keyInfo{}
		}
		return done(c, writeJSON(c.stdout, map[string]any{"backend": be.describe(), "keys": ks}))
	}
	for _, k := range ks {
		extra := ""
		if k.Extractable != nil {
			extra = ", not extractable"
			if *k.Extractable {
				extra = ", EXTRACTABLE"
			}
		}
		if _, err := fmt.Fprintf(c.stdout, "%s v%d %s %d bytes %s%s\n", k.Name, k.Version, k.Alg, k.Len, k.Class, extra); err != nil {
			return done(c, err)
		}
	}
	return exitOK
}

// nextVersion is one more than the newest version of any of names (1
// when none exists), so that every key of a set moves to the same n+1.
func nextVersion(ks []keyInfo, names []string) int {
	v := 0
	for _, k := range ks {
		if slices.Contains(names, k.Name) {
			v = max(v, k.Version)
		}
	}
	return v + 1
}

func keysGenerate(ctx context.Context, c *cli, kf *keysFlags, be keyBackend, audit *auditLog, ev auditEvent) int {
	names := splitNames(kf.names)
	if len(names) == 0 {
		return fail(c, kf.json, usageError("--name NAME is required"))
	}
	alg := strings.ToLower(kf.alg)
	if alg == "ed25519" {
		return keysGenerateEd25519(ctx, c, kf, be, audit, ev, names)
	}
	a, err := keys.ParseAlgorithm(alg)
	if err != nil {
		return fail(c, kf.json, usageError(err.Error()))
	}
	n := kf.length
	if a == keys.TDES {
		n = 16
	}
	if _, err := keys.NewKey(a, make([]byte, n)); err != nil {
		return fail(c, kf.json, usageErrorf("--len %d: %s keys are 16 (3DES) or 16, 24, 32 (AES) bytes", kf.length, a))
	}
	v := kf.version
	if v == 0 {
		ks, err := be.list(ctx)
		if err != nil {
			return failAudited(c, kf.json, audit, ev, err)
		}
		v = nextVersion(ks, names)
	}
	if v < 1 {
		return fail(c, kf.json, usageError("--version must be ≥ 1"))
	}
	return createKeys(ctx, c, kf, be, audit, ev, "generated", func(ref keys.KeyRef) (string, error) {
		return a.String(), be.generate(ctx, ref, a, n)
	}, names, v)
}

// createKeys runs create for every name at version v and commits the
// backend. Each key gets its audit record when it is durable: at once in
// a token, after the file is written for a key file (a failure before
// then leaves the file as it was, and only the failure is recorded).
func createKeys(ctx context.Context, c *cli, kf *keysFlags, be keyBackend, audit *auditLog, ev auditEvent, verb string,
	create func(ref keys.KeyRef) (string, error), names []string, v int) int {
	refs := make([]keys.KeyRef, len(names))
	for i, n := range names {
		refs[i] = keys.KeyRef{Name: n, Version: v}
	}
	return createRefs(ctx, c, kf, be, audit, ev, verb, create, refs)
}

// createRefs is createKeys for explicit references.
func createRefs(ctx context.Context, c *cli, kf *keysFlags, be keyBackend, audit *auditLog, ev auditEvent, verb string,
	create func(ref keys.KeyRef) (string, error), refs []keys.KeyRef) int {
	var made []createdKey
	for _, ref := range refs {
		alg, err := create(ref)
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil || be.immediate() {
			if code, ok := recordKey(c, kf.json, audit, ev, ref, err); !ok {
				return code
			}
		}
		made = append(made, createdKey{Name: ref.Name, Version: ref.Version, Alg: alg})
	}
	if err := be.commit(); err != nil {
		return failAudited(c, kf.json, audit, ev, fmt.Errorf("writing %s: %w", be.describe(), err))
	}
	if !be.immediate() {
		for _, k := range made {
			if code, ok := recordKey(c, kf.json, audit, ev, keys.KeyRef{Name: k.Name, Version: k.Version}, nil); !ok {
				return code
			}
		}
	}
	return reportCreated(c, kf.json, verb, be.describe(), made)
}

func keysGenerateEd25519(ctx context.Context, c *cli, kf *keysFlags, be keyBackend, audit *auditLog, ev auditEvent, names []string) int {
	tb, ok := be.(*tokenBackend)
	if !ok {
		return fail(c, kf.json, usageError("--alg ed25519 generates inside a pkcs11: token; for a seed file use 'cardap revocation publish --new-key FILE'"))
	}
	v := max(kf.version, 1)
	var made []createdKey
	for _, name := range names {
		ref := keys.KeyRef{Name: name, Version: v}
		pub, err := tb.p.GenerateEd25519(ctx, name, v)
		if code, ok := recordKey(c, kf.json, audit, ev, ref, err); !ok {
			return code
		}
		made = append(made, createdKey{Name: name, Version: v, Alg: "ed25519", PublicKey: hex.EncodeToString(pub)})
	}
	return reportCreated(c, kf.json, "generated", be.describe(), made)
}

func keysImport(ctx context.Context, c *cli, kf *keysFlags, be keyBackend, audit *auditLog, ev auditEvent) int {
	src, err := keys.LoadFile(kf.from)
	if err != nil {
		return failAudited(c, kf.json, audit, ev, fmt.Errorf("--from: %w", err))
	}
	defer src.Zero()
	names := splitNames(kf.names)
	var refs []keys.KeyRef
	for _, ref := range src.Refs() {
		if (len(names) == 0 || slices.Contains(names, ref.Name)) && (kf.version == 0 || ref.Version == kf.version) {
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 {
		return failAudited(c, kf.json, audit, ev, fmt.Errorf("%w: no key of %s matches --name/--version", keys.ErrKeyNotFound, kf.from))
	}
	return createRefs(ctx, c, kf, be, audit, ev, "imported", func(ref keys.KeyRef) (string, error) {
		k, err := src.Key(ctx, ref)
		if err != nil {
			return "", err
		}
		defer k.Zero()
		return k.Algorithm().String(), be.importKey(ctx, ref, k)
	}, refs)
}

func keysRotate(ctx context.Context, c *cli, kf *keysFlags, be keyBackend, audit *auditLog, ev auditEvent) int {
	names := splitNames(kf.names)
	if (len(names) == 0) == (kf.prefix == "") {
		return fail(c, kf.json, usageError("rotate: give --name NAME[,NAME...] or --prefix PREFIX"))
	}
	ks, err := be.list(ctx)
	if err != nil {
		return failAudited(c, kf.json, audit, ev, err)
	}
	latest := map[string]keyInfo{}
	for _, k := range ks {
		if k.Class != "" && k.Class != "secret" {
			continue
		}
		if kf.prefix != "" && strings.HasPrefix(k.Name, kf.prefix) && !slices.Contains(names, k.Name) {
			names = append(names, k.Name)
		}
		if cur, ok := latest[k.Name]; !ok || k.Version > cur.Version {
			latest[k.Name] = k
		}
	}
	slices.Sort(names)
	for _, n := range names {
		if _, ok := latest[n]; !ok {
			return failAudited(c, kf.json, audit, ev, fmt.Errorf("%w: %s has no version to rotate from in %s", keys.ErrKeyNotFound, n, be.describe()))
		}
	}
	if len(names) == 0 {
		return failAudited(c, kf.json, audit, ev, fmt.Errorf("%w: no key name starts with %q in %s", keys.ErrKeyNotFound, kf.prefix, be.describe()))
	}
	v := nextVersion(ks, names)
	return createKeys(ctx, c, kf, be, audit, ev, "rotated", func(ref keys.KeyRef) (string, error) {
		cur := latest[ref.Name]
		a, err := keys.ParseAlgorithm(cur.Alg)
		if err != nil {
			return cur.Alg, err
		}
		return a.String(), be.generate(ctx, ref, a, cur.Len)
	}, names, v)
}

func keysExportPublic(ctx context.Context, c *cli, kf *keysFlags, audit *auditLog, ev auditEvent) int {
	if kf.key == "" {
		return fail(c, kf.json, usageError("--key pkcs11:URI|SEEDFILE is required"))
	}
	var pub ed25519.PublicKey
	if isPKCS11(kf.key) {
		s, closer, err := tokenSigner(ctx, kf.key)
		if err != nil {
			return failAudited(c, kf.json, audit, ev, fmt.Errorf("--key: %w", err))
		}
		pub = s.Public().(ed25519.PublicKey)
		closer.Close()
		ev.backend = "pkcs11"
	} else {
		priv, err := readPrivateKey(kf.key)
		if err != nil {
			return failAudited(c, kf.json, audit, ev, fmt.Errorf("--key: %w", err))
		}
		pub = append(ed25519.PublicKey(nil), priv.Public().(ed25519.PublicKey)...)
		clear(priv)
		ev.backend = "file:" + kf.key
	}
	ev.key = "feed signing key"
	if code, ok := succeedAudited(c, kf.json, audit, ev, outcomeSuccess); !ok {
		return code
	}
	if kf.json {
		return done(c, writeJSON(c.stdout, map[string]string{"public_key": hex.EncodeToString(pub)}))
	}
	_, err := fmt.Fprintln(c.stdout, hex.EncodeToString(pub))
	return done(c, err)
}
