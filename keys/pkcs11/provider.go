//go:build cgo

package pkcs11

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	p11 "github.com/miekg/pkcs11"

	"github.com/mynacard/freespace/internal/cryptoprim"
	"github.com/mynacard/freespace/keys"
)

// Config says which token the provider uses and how it logs in.
type Config struct {
	// ModulePath is the absolute path of the PKCS#11 module (for SoftHSM2
	// on Debian: /usr/lib/softhsm/libsofthsm2.so). It is checked like a
	// secret's directory before it is loaded: owner root or the running
	// user, not writable by others.
	ModulePath string
	// Token is the label of the token (CK_TOKEN_INFO.label).
	Token string
	// Serial, when set, must match the token's serial number too.
	Serial string
	// PIN is the user PIN. Open copies it (the caller may wipe its own
	// copy) and Close wipes the copy; it is kept so that the provider can
	// log in again after the token came back.
	PIN []byte
	// Sessions bounds the PKCS#11 sessions open at once (concurrent
	// taps); 0 means DefaultSessions.
	Sessions int
	// IndexTTL is how long the list of master key names and versions
	// (KeyVersions, and Version 0 meaning the latest) is reused before the
	// token is searched again; 0 means DefaultIndexTTL, a negative value
	// searches every time. A token search costs about 1 ms per call on
	// SoftHSM2, more than the diversification itself; versions added by
	// another process become visible within IndexTTL (this Provider's own
	// Generate and Import refresh it at once).
	IndexTTL time.Duration
	// AllowFinalTry lets the provider log in when the token reports that
	// the next wrong PIN locks it (CKF_USER_PIN_FINAL_TRY); without it
	// Open fails with ErrPINFinalTry and no try is spent.
	AllowFinalTry bool
	// Logger receives recovery events (token lost, logged in again);
	// nil discards them. No PIN or key material is ever logged.
	Logger *slog.Logger

	// load replaces loadModule in tests (fault injection).
	load func(path string) (module, error)
}

// DefaultSessions is the session pool size when Config.Sessions is 0.
const DefaultSessions = 4

// DefaultIndexTTL is Config.IndexTTL's default.
const DefaultIndexTTL = 5 * time.Second

// Provider is a keys.Provider and keys.LabelDiversifier whose master keys
// are non-extractable objects on a PKCS#11 token: diversification (NIST
// SP 800-108 counter mode, CMAC PRF, docs/PROTOCOL.md §5.1) runs inside
// the token with CKM_AES_CMAC or CKM_DES3_CMAC, and only the card keys
// reach the host. It is safe for concurrent use: a pool of up to
// Config.Sessions sessions serves concurrent taps. When the token goes
// away (device removed, sessions closed, token not present), the
// operation in flight is retried once on a new session after a new login;
// while the token is away, operations fail with ErrTokenAbsent, and the
// first operation after it came back logs in again. A refused PIN is
// never tried again by the provider (it would use up the token's tries):
// every later operation returns the same error until a new Open.
type Provider struct {
	cfg Config
	pin []byte
	mod module
	log *slog.Logger
	sem chan struct{}

	mu     sync.Mutex
	closed bool
	gen    uint64
	up     bool
	slot   uint
	mechs  map[uint]bool
	idle   []p11.SessionHandle
	objs   map[keys.KeyRef]master
	pinErr error
	// idx lists the versions of every master key name (CKA_LABEL →
	// versions from CKA_ID), read with one search and kept for
	// Config.IndexTTL; nil when not read yet or invalidated.
	idx   map[string][]int
	idxAt time.Time
}

// The interfaces a Provider implements.
var (
	_ keys.Provider         = (*Provider)(nil)
	_ keys.LabelDiversifier = (*Provider)(nil)
	_ keys.VersionLister    = (*Provider)(nil)
)

// master is what the provider knows of a master key object.
type master struct {
	h   p11.ObjectHandle
	alg keys.Algorithm
	n   int
}

// Mechanisms and key types of PKCS#11 3.0 the vendored header lacks.
const (
	ckkECEdwards            = 0x40
	ckmECEdwardsKeyPairGen  = 0x1055
	ckmEdDSA                = 0x1057
	ckaCopyable             = 0x171
	versionIDLen            = 4
	ckrUserAlreadyLoggedIn  = p11.CKR_USER_ALREADY_LOGGED_IN
	ckrCryptokiAlreadyInitd = p11.CKR_CRYPTOKI_ALREADY_INITIALIZED
)

// Open loads the module, finds the token, checks that it has CKM_AES_CMAC
// (ErrMechanism otherwise; CKM_DES3_CMAC is checked when a 3DES master is
// first used), and logs in with the PIN. Close releases it.
func Open(ctx context.Context, cfg Config) (*Provider, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, &Error{Op: "open", Kind: ErrURI, Detail: "no token label"}
	}
	if len(cfg.PIN) == 0 {
		return nil, &Error{Op: "open", Token: cfg.Token, Kind: ErrPINSource, Detail: "no PIN"}
	}
	n := cfg.Sessions
	if n <= 0 {
		n = DefaultSessions
	}
	load := cfg.load
	if load == nil {
		load = loadModule
	}
	mod, err := load(cfg.ModulePath)
	if err != nil {
		return nil, err
	}
	if err := mod.Initialize(); err != nil && rvOf(err) != ckrCryptokiAlreadyInitd {
		return nil, p11err("open", cfg.Token, "", ErrModule, err)
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	p := &Provider{cfg: cfg, pin: append([]byte(nil), cfg.PIN...), mod: mod, log: lg, sem: make(chan struct{}, n)}
	p.cfg.PIN = nil
	p.mu.Lock()
	err = p.connect()
	p.mu.Unlock()
	if err == nil && !p.mechs[p11.CKM_AES_CMAC] {
		err = &Error{Op: "open", Token: cfg.Token, Kind: ErrMechanism, Detail: "CKM_AES_CMAC missing"}
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close closes the provider's sessions and wipes its copy of the PIN. The
// module stays initialized for the other users in the process (see the
// package documentation).
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	p.dropLocked()
	clear(p.pin)
	return nil
}

// String names the token, never the PIN.
func (p *Provider) String() string {
	return fmt.Sprintf("pkcs11.Provider{token %q}", p.cfg.Token)
}

// HasMechanism reports whether the token listed mechanism m (CKM_*) when
// the provider last logged in.
func (p *Provider) HasMechanism(m uint) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mechs[m]
}

// connect finds the token, reads its mechanisms, opens a session and logs
// in. p.mu is held.
func (p *Provider) connect() error {
	if p.pinErr != nil {
		return p.pinErr
	}
	slots, err := p.mod.GetSlotList(true)
	if rvOf(err) == p11.CKR_CRYPTOKI_NOT_INITIALIZED {
		_ = p.mod.Finalize()
		if err = p.mod.Initialize(); err == nil {
			slots, err = p.mod.GetSlotList(true)
		}
	}
	if err != nil {
		return p11err("open", p.cfg.Token, "", ErrTokenAbsent, err)
	}
	found, flags := false, uint(0)
	for _, s := range slots {
		ti, err := p.mod.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if strings.TrimRight(ti.Label, " \x00") != p.cfg.Token {
			continue
		}
		if p.cfg.Serial != "" && strings.TrimRight(ti.SerialNumber, " \x00") != p.cfg.Serial {
			continue
		}
		p.slot, found, flags = s, true, ti.Flags
		break
	}
	if !found {
		return &Error{Op: "open", Token: p.cfg.Token, Kind: ErrTokenAbsent, Detail: fmt.Sprintf("no token with this label in %d slot(s) with a token", len(slots))}
	}
	if flags&p11.CKF_USER_PIN_LOCKED != 0 {
		p.pinErr = &Error{Op: "login", Token: p.cfg.Token, Kind: ErrPINLocked, Detail: "the token reports the user PIN locked"}
		return p.pinErr
	}
	if flags&p11.CKF_USER_PIN_FINAL_TRY != 0 && !p.cfg.AllowFinalTry {
		p.pinErr = &Error{Op: "login", Token: p.cfg.Token, Kind: ErrPINFinalTry, Detail: "one wrong PIN more locks the token; no try spent"}
		return p.pinErr
	}
	ml, err := p.mod.GetMechanismList(p.slot)
	if err != nil {
		return p11err("open", p.cfg.Token, "", ErrToken, err)
	}
	p.mechs = map[uint]bool{}
	for _, m := range ml {
		p.mechs[m.Mechanism] = true
	}
	sh, err := p.mod.OpenSession(p.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return p11err("open", p.cfg.Token, "", ErrTokenAbsent, err)
	}
	// The PIN is passed without a Go string copy; the module's C copy is
	// freed by the binding (Go cannot wipe it).
	err = p.mod.Login(sh, p11.CKU_USER, unsafe.String(unsafe.SliceData(p.pin), len(p.pin)))
	if err != nil && rvOf(err) != ckrUserAlreadyLoggedIn {
		_ = p.mod.CloseSession(sh)
		switch rvOf(err) {
		case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_LEN_RANGE, p11.CKR_PIN_INVALID:
			p.pinErr = p11err("login", p.cfg.Token, "", ErrPINIncorrect, err)
			return p.pinErr
		case p11.CKR_PIN_LOCKED, p11.CKR_PIN_EXPIRED:
			p.pinErr = p11err("login", p.cfg.Token, "", ErrPINLocked, err)
			return p.pinErr
		}
		return p11err("login", p.cfg.Token, "", classify(err, ErrToken), err)
	}
	p.idle = append(p.idle, sh)
	p.objs = map[keys.KeyRef]master{}
	p.up = true
	p.log.Info("pkcs11: logged in", "token", p.cfg.Token, "slot", p.slot)
	return nil
}

// dropLocked forgets the sessions and cached handles (the token went away
// or the provider closes). p.mu is held.
func (p *Provider) dropLocked() {
	if p.up {
		// Only this provider's sessions: C_CloseAllSessions would close
		// those of every other user of the module in the process. Sessions
		// in use are closed when they are released (their generation is
		// then old).
		for _, sh := range p.idle {
			_ = p.mod.CloseSession(sh)
		}
	}
	p.idle, p.objs, p.up, p.idx = nil, nil, false, nil
	p.gen++
}

// acquire takes a session from the pool (logging in first when needed).
func (p *Provider) acquire(ctx context.Context) (p11.SessionHandle, uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fail := func(err error) (p11.SessionHandle, uint64, error) {
		<-p.sem
		return 0, 0, err
	}
	if p.closed {
		return fail(&Error{Op: "session", Token: p.cfg.Token, Kind: ErrClosed})
	}
	if !p.up {
		if err := p.connect(); err != nil {
			return fail(err)
		}
	}
	if n := len(p.idle); n > 0 {
		sh := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return sh, p.gen, nil
	}
	sh, err := p.mod.OpenSession(p.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		if gone(err) {
			p.lostLocked(err)
		}
		return fail(p11err("session", p.cfg.Token, "", classify(err, ErrToken), err))
	}
	return sh, p.gen, nil
}

// release returns a session to the pool, or drops the pool when the
// session's operation found the token gone.
func (p *Provider) release(sh p11.SessionHandle, gen uint64, broken error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() { <-p.sem }()
	switch {
	case gen != p.gen || p.closed:
		_ = p.mod.CloseSession(sh)
	case broken != nil:
		_ = p.mod.CloseSession(sh)
		p.lostLocked(broken)
	default:
		p.idle = append(p.idle, sh)
	}
}

// lostLocked records that the token went away. p.mu is held.
func (p *Provider) lostLocked(cause error) {
	if !p.up {
		return
	}
	p.log.Warn("pkcs11: token lost; will log in again", "token", p.cfg.Token, "rv", rvName(rvOf(cause)))
	p.dropLocked()
}

// with runs fn on a pooled session. If fn finds the token gone, the pool
// is dropped and fn runs once more on a new session after a new login.
func (p *Provider) with(ctx context.Context, op, object string, fn func(sh p11.SessionHandle) error) error {
	for attempt := 0; ; attempt++ {
		sh, gen, err := p.acquire(ctx)
		if err != nil {
			return err
		}
		err = fn(sh)
		if err != nil && gone(err) {
			p.release(sh, gen, err)
			if attempt == 0 && ctx.Err() == nil {
				continue
			}
			return p11err(op, p.cfg.Token, object, ErrTokenAbsent, err)
		}
		p.release(sh, gen, nil)
		var pe p11.Error
		if err != nil && errors.As(err, &pe) {
			return p11err(op, p.cfg.Token, object, classify(err, ErrToken), err)
		}
		if err != nil {
			return err // already an *Error, a keys error or the context's
		}
		return nil
	}
}

// rvOf returns the CKR_ value of err (0 when none).
func rvOf(err error) uint {
	var pe p11.Error
	if errors.As(err, &pe) {
		return uint(pe)
	}
	var e *Error
	if errors.As(err, &e) {
		return e.RV
	}
	return 0
}

// gone reports whether err means the token or the login went away: the
// session pool must be dropped and the operation retried after a login.
func gone(err error) bool {
	switch rvOf(err) {
	case p11.CKR_DEVICE_REMOVED, p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_SESSION_HANDLE_INVALID,
		p11.CKR_SESSION_CLOSED, p11.CKR_DEVICE_ERROR, p11.CKR_CRYPTOKI_NOT_INITIALIZED,
		p11.CKR_USER_NOT_LOGGED_IN, p11.CKR_TOKEN_NOT_RECOGNIZED, p11.CKR_SLOT_ID_INVALID:
		return true
	}
	return false
}

// classify maps a module error to a sentinel (def when nothing fits).
func classify(err error, def error) error {
	switch rvOf(err) {
	case p11.CKR_MECHANISM_INVALID, p11.CKR_MECHANISM_PARAM_INVALID:
		return ErrMechanism
	case p11.CKR_PIN_INCORRECT:
		return ErrPINIncorrect
	case p11.CKR_PIN_LOCKED, p11.CKR_PIN_EXPIRED:
		return ErrPINLocked
	case p11.CKR_OBJECT_HANDLE_INVALID, p11.CKR_KEY_HANDLE_INVALID:
		return ErrObjectMissing
	}
	if gone(err) {
		return ErrTokenAbsent
	}
	return def
}

// p11err wraps a module error (only its CKR_ value is kept).
func p11err(op, token, object string, kind, err error) error {
	return &Error{Op: op, Token: token, Object: object, RV: rvOf(err), Kind: kind}
}

// versionID is the CKA_ID of version v: 4 bytes, big-endian.
func versionID(v int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// idVersion reads a version from a CKA_ID (0 when it is not one).
func idVersion(id []byte) int {
	if len(id) != versionIDLen {
		return 0
	}
	v := binary.BigEndian.Uint32(id)
	if v == 0 || v > 1<<31-1 {
		return 0
	}
	return int(v)
}

// find returns the handles of the objects matching temp.
func (p *Provider) find(sh p11.SessionHandle, temp []*p11.Attribute) ([]p11.ObjectHandle, error) {
	if err := p.mod.FindObjectsInit(sh, temp); err != nil {
		return nil, err
	}
	var all []p11.ObjectHandle
	for {
		hs, _, err := p.mod.FindObjects(sh, 64)
		if err != nil {
			_ = p.mod.FindObjectsFinal(sh)
			return nil, err
		}
		all = append(all, hs...)
		if len(hs) == 0 || len(all) > 4096 {
			break
		}
	}
	return all, p.mod.FindObjectsFinal(sh)
}

// resolve turns a version-0 reference into the latest version on the
// token.
func (p *Provider) resolve(sh p11.SessionHandle, class uint, ref keys.KeyRef) (keys.KeyRef, error) {
	if ref.Version != 0 {
		return ref, nil
	}
	if class == p11.CKO_SECRET_KEY {
		vs, err := p.indexed(sh, ref.Name)
		if err != nil {
			return ref, err
		}
		if len(vs) == 0 {
			return ref, &Error{Op: "find", Token: p.cfg.Token, Object: ref.String(), Kind: ErrObjectMissing}
		}
		ref.Version = vs[len(vs)-1]
		return ref, nil
	}
	hs, err := p.find(sh, []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, class), p11.NewAttribute(p11.CKA_LABEL, ref.Name)})
	if err != nil {
		return ref, err
	}
	for _, h := range hs {
		a, err := p.mod.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_ID, nil)})
		if err != nil {
			return ref, err
		}
		ref.Version = max(ref.Version, idVersion(a[0].Value))
	}
	if ref.Version == 0 {
		return ref, &Error{Op: "find", Token: p.cfg.Token, Object: ref.String(), Kind: ErrObjectMissing}
	}
	return ref, nil
}

// indexed returns the versions of master key name, ascending, from the
// index (read again when older than IndexTTL).
func (p *Provider) indexed(sh p11.SessionHandle, name string) ([]int, error) {
	ttl := p.cfg.IndexTTL
	if ttl == 0 {
		ttl = DefaultIndexTTL
	}
	p.mu.Lock()
	if p.idx != nil && time.Since(p.idxAt) < ttl {
		vs := slices.Clone(p.idx[name])
		p.mu.Unlock()
		return vs, nil
	}
	gen := p.gen
	p.mu.Unlock()
	hs, err := p.find(sh, []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY)})
	if err != nil {
		return nil, err
	}
	idx := map[string][]int{}
	for _, h := range hs {
		a, err := p.mod.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, nil), p11.NewAttribute(p11.CKA_ID, nil)})
		if err != nil {
			return nil, err
		}
		if v := idVersion(a[1].Value); v > 0 {
			idx[string(a[0].Value)] = append(idx[string(a[0].Value)], v)
		}
	}
	for _, vs := range idx {
		slices.Sort(vs)
	}
	p.mu.Lock()
	if gen == p.gen && ttl > 0 {
		p.idx, p.idxAt = idx, time.Now()
	}
	p.mu.Unlock()
	return idx[name], nil
}

// invalidateIndex makes the next lookup search the token again.
func (p *Provider) invalidateIndex() {
	p.mu.Lock()
	p.idx = nil
	p.mu.Unlock()
}

// master finds the master key object of ref and checks it.
func (p *Provider) master(sh p11.SessionHandle, ref keys.KeyRef) (master, keys.KeyRef, error) {
	ref, err := p.resolve(sh, p11.CKO_SECRET_KEY, ref)
	if err != nil {
		return master{}, ref, err
	}
	p.mu.Lock()
	m, ok := p.objs[ref]
	p.mu.Unlock()
	if ok {
		return m, ref, nil
	}
	obj := ref.String()
	hs, err := p.find(sh, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_LABEL, ref.Name),
		p11.NewAttribute(p11.CKA_ID, versionID(ref.Version)),
	})
	if err != nil {
		return master{}, ref, err
	}
	switch len(hs) {
	case 0:
		return master{}, ref, &Error{Op: "find", Token: p.cfg.Token, Object: obj, Kind: ErrObjectMissing}
	case 1:
	default:
		return master{}, ref, &Error{Op: "find", Token: p.cfg.Token, Object: obj, Kind: ErrUnsafeObject, Detail: fmt.Sprintf("%d objects with this label and ID", len(hs))}
	}
	a, err := p.mod.GetAttributeValue(sh, hs[0], []*p11.Attribute{
		p11.NewAttribute(p11.CKA_KEY_TYPE, nil),
		p11.NewAttribute(p11.CKA_SENSITIVE, nil),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, nil),
		p11.NewAttribute(p11.CKA_SIGN, nil),
	})
	if err != nil {
		return master{}, ref, err
	}
	unsafeObj := func(d string) (master, keys.KeyRef, error) {
		return master{}, ref, &Error{Op: "find", Token: p.cfg.Token, Object: obj, Kind: ErrUnsafeObject, Detail: d}
	}
	if !attrBool(a[1]) || attrBool(a[2]) {
		return unsafeObj("extractable or not sensitive")
	}
	if !attrBool(a[3]) {
		return unsafeObj("CKA_SIGN is false")
	}
	m = master{h: hs[0]}
	var mech uint
	switch attrUint(a[0]) {
	case p11.CKK_AES:
		vl, err := p.mod.GetAttributeValue(sh, hs[0], []*p11.Attribute{p11.NewAttribute(p11.CKA_VALUE_LEN, nil)})
		if err != nil {
			return master{}, ref, err
		}
		m.alg, m.n, mech = keys.AES, int(attrUint(vl[0])), p11.CKM_AES_CMAC
		if m.n != 16 && m.n != 24 && m.n != 32 {
			return unsafeObj(fmt.Sprintf("AES key of %d bytes", m.n))
		}
	case p11.CKK_DES2:
		m.alg, m.n, mech = keys.TDES, 16, p11.CKM_DES3_CMAC
	default:
		return unsafeObj(fmt.Sprintf("key type 0x%X (want CKK_AES or CKK_DES2)", attrUint(a[0])))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mechs[mech] {
		return master{}, ref, &Error{Op: "diversify", Token: p.cfg.Token, Object: obj, Kind: ErrMechanism, Detail: mechName(mech) + " missing"}
	}
	if p.objs != nil {
		p.objs[ref] = m
	}
	return m, ref, nil
}

func mechName(m uint) string {
	switch m {
	case p11.CKM_AES_CMAC:
		return "CKM_AES_CMAC"
	case p11.CKM_DES3_CMAC:
		return "CKM_DES3_CMAC"
	case ckmEdDSA:
		return "CKM_EDDSA"
	case ckmECEdwardsKeyPairGen:
		return "CKM_EC_EDWARDS_KEY_PAIR_GEN"
	case p11.CKM_AES_KEY_GEN:
		return "CKM_AES_KEY_GEN"
	case p11.CKM_DES2_KEY_GEN:
		return "CKM_DES2_KEY_GEN"
	}
	return fmt.Sprintf("CKM 0x%X", m)
}

func attrBool(a *p11.Attribute) bool { return len(a.Value) == 1 && a.Value[0] != 0 }

func attrUint(a *p11.Attribute) uint {
	var v uint64
	switch len(a.Value) {
	case 8:
		v = binary.NativeEndian.Uint64(a.Value)
	case 4:
		v = uint64(binary.NativeEndian.Uint32(a.Value))
	}
	return uint(v)
}

// Key implements keys.Provider: master keys never leave the token, so it
// always fails with ErrNotExtractable (callers derive with Diversify or
// keys.DiversifyFor).
func (p *Provider) Key(_ context.Context, ref keys.KeyRef) (keys.Key, error) {
	return keys.Key{}, &Error{Op: "key", Token: p.cfg.Token, Object: ref.String(), Kind: ErrNotExtractable}
}

// Diversify implements keys.Provider inside the token.
func (p *Provider) Diversify(ctx context.Context, ref keys.KeyRef, cuid, aid []byte) (keys.Key, error) {
	return p.DiversifyLabel(ctx, ref, keys.DiversificationLabel, cuid, aid)
}

// DiversifyLabel implements keys.LabelDiversifier: the SP 800-108 counter
// mode KDF of docs/PROTOCOL.md §5.1 with the token computing each CMAC
// block (C_SignInit/C_Sign with CKM_AES_CMAC or CKM_DES3_CMAC on the
// master key object). The returned card key is the only key material on
// the host; the caller zeroes it.
func (p *Provider) DiversifyLabel(ctx context.Context, ref keys.KeyRef, label string, cuid, aid []byte) (keys.Key, error) {
	if err := checkInput(label, cuid, aid); err != nil {
		return keys.Key{}, err
	}
	var out keys.Key
	err := p.with(ctx, "diversify", ref.String(), func(sh p11.SessionHandle) error {
		m, res, err := p.master(sh, ref)
		if err != nil {
			return err
		}
		out, err = p.derive(sh, m, label, cuid, aid)
		if rv := rvOf(err); rv == p11.CKR_KEY_HANDLE_INVALID || rv == p11.CKR_OBJECT_HANDLE_INVALID {
			// The object was replaced since it was cached: look it up again.
			p.mu.Lock()
			delete(p.objs, res)
			p.mu.Unlock()
			if m, _, err = p.master(sh, ref); err != nil {
				return err
			}
			out, err = p.derive(sh, m, label, cuid, aid)
		}
		return err
	})
	return out, err
}

// checkInput validates what keys.DiversifyLabel validates.
func checkInput(label string, cuid, aid []byte) error {
	if len(label) == 0 || len(label) > 64 || strings.IndexByte(label, 0) >= 0 {
		return fmt.Errorf("%w: label of %d bytes, want 1 to 64 bytes without 00", keys.ErrInvalidInput, len(label))
	}
	if len(cuid) != keys.CUIDLen {
		return fmt.Errorf("%w: CUID of %d bytes, want %d", keys.ErrInvalidInput, len(cuid), keys.CUIDLen)
	}
	if len(aid) < 5 || len(aid) > 16 {
		return fmt.Errorf("%w: AID of %d bytes, want 5..16", keys.ErrInvalidInput, len(aid))
	}
	return nil
}

// derive runs the KDF with the token as PRF.
func (p *Provider) derive(sh p11.SessionHandle, m master, label string, cuid, aid []byte) (keys.Key, error) {
	bs, mech := 16, uint(p11.CKM_AES_CMAC)
	if m.alg == keys.TDES {
		bs, mech = 8, p11.CKM_DES3_CMAC
	}
	ctxData := append(append(make([]byte, 0, len(cuid)+len(aid)), cuid...), aid...)
	fixed := cryptoprim.FixedInput([]byte(label), ctxData, m.n)
	msg := make([]byte, 4+len(fixed))
	copy(msg[4:], fixed)
	out := make([]byte, 0, m.n+bs)
	defer func() { clear(out[:cap(out)]) }()
	for i := uint32(1); len(out) < m.n; i++ {
		binary.BigEndian.PutUint32(msg, i)
		if err := p.mod.SignInit(sh, []*p11.Mechanism{p11.NewMechanism(mech, nil)}, m.h); err != nil {
			return keys.Key{}, err
		}
		mac, err := p.mod.Sign(sh, msg)
		if err != nil {
			return keys.Key{}, err
		}
		if len(mac) != bs {
			clear(mac)
			return keys.Key{}, &Error{Op: "diversify", Token: p.cfg.Token, Kind: ErrToken, Detail: fmt.Sprintf("CMAC of %d bytes, want %d", len(mac), bs)}
		}
		out = append(out, mac...)
		clear(mac)
	}
	k := out[:m.n]
	if m.alg == keys.TDES {
		cryptoprim.SetDESParity(k)
	}
	return keys.NewKey(m.alg, k)
}
