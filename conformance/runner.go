package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
)

// Outcome is the result of one requirement.
type Outcome uint8

const (
	// Pass: the card answered as the profile requires.
	Pass Outcome = iota + 1
	// Fail: it did not (Result.Observed says what it did).
	Fail
	// Skip: not run (Result.Reason says why: destructive, no keys, another
	// lifecycle state or password configuration, the card left).
	Skip
)

// String returns "PASS", "FAIL" or "SKIP".
func (o Outcome) String() string {
	switch o {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	case Skip:
		return "SKIP"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText makes an Outcome "PASS", "FAIL" or "SKIP" in JSON.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Options configure Run.
type Options struct {
	// Type is the AP type to check: profile.TypeA, TypeC or TypeD.
	Type profile.APType
	// AID of the AP (nil: profile.DefaultAID(Type)).
	AID profile.AID
	// Keys are the operator's master keys ("typea-<role>-enc|mac",
	// "typed-<role>-enc|mac"), diversified with the card's CUID and the
	// AID. Nil: requirements that need a session are skipped.
	Keys keys.Provider
	// Suite of the AP's keys (nil: secure.AES128).
	Suite secure.Suite
	// KeyVersion is the key-set version asked of Keys when the FCI
	// announces none (0: profile.DefaultKeySet, 1; docs/PROTOCOL.md §5.3).
	// A version the FCI announces is always the one used.
	KeyVersion int
	// Password is the AP's password, when known: requirements that need it
	// verified run, and tries spent by destructive requirements are
	// restored with it. Never logged or reported.
	Password profile.Password
	// BeforeAuth says the AP takes its password before authentication
	// (Type A, §3.3): the after-authentication requirements are skipped.
	BeforeAuth bool
	// Destructive runs the requirements that write or that would spend a
	// try on a card that does not conform. Run refuses (ErrNotTestCard)
	// unless the card's FCI carries the test-card marker or
	// NotTestCardConfirmed is set.
	Destructive bool
	// NotTestCardConfirmed allows Destructive on a card without the
	// test-card marker (the operator confirmed it explicitly).
	NotTestCardConfirmed bool
	// Only restricts the run to these requirement IDs (empty: all).
	Only []string
	// BeforeCommand, when set, is called right before a requirement's
	// command is sent, after its state is set up (tests inject faults
	// there).
	BeforeCommand func(Requirement)
	// Logger receives one debug record per requirement (nil: none).
	Logger *slog.Logger
}

// Result is the outcome of one requirement.
type Result struct {
	Requirement Requirement
	Outcome     Outcome
	// Observed is what the card answered: "9000, 16 bytes", "6A82", or the
	// transport's error.
	Observed string
	// Reason says why it failed or was skipped.
	Reason string
}

// Report is the outcome of a run.
type Report struct {
	// Type and AID of the AP checked; CUID as read.
	Type profile.APType
	AID  profile.AID
	CUID profile.CUID
	// TestCard reports the test-card marker in the FCI.
	TestCard bool
	// KeySetVersion is the FCI's key-set version (0: none announced).
	KeySetVersion int
	// Lifecycle as the probe of §8.2 found it (AnyLifecycle: unknown,
	// always for Type C).
	Lifecycle Lifecycle
	// HasPassword reports a password 81 (VERIFY status not 6A88).
	HasPassword bool
	// Results in table order.
	Results []Result
	// Pass, Fail and Skip count the results.
	Pass, Fail, Skip int
}

// Errors of Run (the requirements' failures are in the Report).
var (
	// ErrNoAP: the card has no AP at the AID (SELECT answered other than
	// 9000); nothing was checked.
	ErrNoAP = errors.New("conformance: the card has no such AP")
	// ErrNotTestCard: Destructive on a card without the test-card marker
	// and without NotTestCardConfirmed; nothing but SELECT was sent.
	ErrNotTestCard = errors.New("conformance: destructive run refused: the card carries no test-card marker")
	// ErrOptions: the options are invalid.
	ErrOptions = errors.New("conformance: invalid options")
)

// Run checks the card behind t against the requirements of Table that
// apply to opts.Type and returns the report. Read-only by default: it
// never writes and never spends a password or key try unless
// opts.Destructive. Errors are only a bad configuration, a card without
// the AP, a destructive run refused, or ctx; a card leaving the reader
// fails the requirement it happened in and skips the rest.
func Run(ctx context.Context, t apdu.Transport, opts Options) (*Report, error) {
	var letter byte
	switch opts.Type {
	case profile.TypeA:
		letter = 'A'
	case profile.TypeC:
		letter = 'C'
	case profile.TypeD:
		letter = 'D'
	default:
		return nil, fmt.Errorf("%w: AP type %v", ErrOptions, opts.Type)
	}
	if opts.AID == nil {
		opts.AID = profile.DefaultAID(opts.Type)
	}
	if err := opts.AID.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	if opts.Suite == nil {
		opts.Suite = secure.AES128
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &runner{t: &recorder{next: t}, opts: opts, log: log}
	rep := &Report{Type: opts.Type, AID: opts.AID}
	if err := r.probe(ctx, rep); err != nil {
		return nil, err
	}
	if opts.Destructive && !rep.TestCard && !opts.NotTestCardConfirmed {
		return nil, ErrNotTestCard
	}
	gone := ""
	for _, req := range Table() {
		if !req.AppliesTo(letter) || (len(opts.Only) > 0 && !slices.Contains(opts.Only, req.ID)) {
			continue
		}
		var res Result
		if gone != "" {
			res = Result{Requirement: req, Outcome: Skip, Reason: "not run: " + gone}
		} else {
			res = r.run(ctx, req, rep)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if res.Outcome == Fail && errors.Is(r.lastErr, apdu.ErrCardRemoved) {
			gone = "the card left the reader"
		}
		log.DebugContext(ctx, "conformance", "id", req.ID, "outcome", res.Outcome.String(), "observed", res.Observed)
		rep.Results = append(rep.Results, res)
		switch res.Outcome {
		case Pass:
			rep.Pass++
		case Fail:
			rep.Fail++
		case Skip:
			rep.Skip++
		}
	}
	return rep, nil
}

// runner holds what a run learnt about the card.
type runner struct {
	t       *recorder
	opts    Options
	log     *slog.Logger
	v       vars
	version int
	lastErr error
}

// probe selects the AP, reads the CUID, the FCI's A5 template, the
// lifecycle (§8.2) and whether the AP has a password.
func (r *runner) probe(ctx context.Context, rep *Report) error {
	sel := append([]byte{0x00, 0xA4, 0x04, 0x00, byte(len(r.opts.AID))}, r.opts.AID...)
	resp, err := r.t.Transmit(ctx, append(sel, 0x00))
	if err != nil {
		return fmt.Errorf("conformance: SELECT AP: %w", err)
	}
	data, sw := split(resp)
	if sw != apdu.SWSuccess {
		return fmt.Errorf("%w: SELECT %s answered %04X", ErrNoAP, r.opts.AID, uint16(sw))
	}
	cuid, marker, version := parseFCI(data)
	rep.TestCard, rep.KeySetVersion = marker, version
	r.version = version
	if r.version == 0 {
		r.version = r.opts.KeyVersion
	}
	if r.version == 0 {
		r.version = profile.DefaultKeySet
	}
	if cuid == nil {
		resp, err := r.t.Transmit(ctx, []byte{0x00, 0xB0, 0x81, 0x00, 0x10})
		if err != nil {
			return fmt.Errorf("conformance: READ BINARY EF.CUID: %w", err)
		}
		d, sw := split(resp)
		if sw != apdu.SWSuccess || len(d) != profile.CUIDLen {
			return fmt.Errorf("%w: EF.CUID answered %04X with %d bytes", ErrNoAP, uint16(sw), len(d))
		}
		cuid = d
	}
	copy(rep.CUID[:], cuid)
	r.v = vars{aid: r.opts.AID, cuid: append([]byte(nil), cuid...), maLen: 2*secure.NonceLen + r.opts.Suite.KeyHalfLen() + secure.MACLen}
	if r.opts.Type == profile.TypeC {
		return nil
	}
	probe := []byte{0x00, 0xB2, 0x01, 0x1C, 0x00}
	if r.opts.Type == profile.TypeD {
		probe = []byte{0x00, 0xB0, 0x84, 0x00, 0x01}
	}
	if resp, err = r.t.Transmit(ctx, probe); err != nil {
		return fmt.Errorf("conformance: lifecycle probe: %w", err)
	}
	switch _, sw := split(resp); sw {
	case apdu.ErrSecurityStatusNotSatisfied:
		rep.Lifecycle = Sealed
	case apdu.SWSuccess, apdu.WarnEndOfFile, apdu.ErrRecordNotFound:
		rep.Lifecycle = Personalization
	}
	if resp, err = r.t.Transmit(ctx, []byte{0x00, 0x20, 0x00, 0x81}); err != nil {
		return fmt.Errorf("conformance: VERIFY status: %w", err)
	}
	_, sw = split(resp)
	rep.HasPassword = sw != apdu.ErrReferencedDataNotFound
	return nil
}

// parseFCI finds 85 (CUID) and, inside A5, C1 (key-set version) and C2
// "TEST" in a 6F template; anything unexpected is ignored (requirements
// check the FCI's form).
func parseFCI(fci []byte) (cuid []byte, marker bool, version int) {
	obj, _, err := apdu.ParseBER(fci)
	if err != nil || obj.Tag != 0x6F {
		return nil, false, 0
	}
	for o, err := range apdu.BERObjects(obj.Value) {
		if err != nil {
			break
		}
		switch o.Tag {
		case 0x85:
			if len(o.Value) == profile.CUIDLen {
				cuid = o.Value
			}
		case profile.TagFCIProprietary:
			for p, err := range apdu.BERObjects(o.Value) {
				if err != nil {
					break
				}
				switch {
				case p.Tag == profile.TagKeySetVersion && len(p.Value) == 1 && p.Value[0] != 0:
					version = int(p.Value[0])
				case p.Tag == profile.TagTestCard && string(p.Value) == profile.TestCardMarker:
					marker = true
				}
			}
		}
	}
	return cuid, marker, version
}

// skipReason says why req does not run on this card, or "".
func (r *runner) skipReason(req Requirement, rep *Report) string {
	switch {
	case req.Lifecycle != AnyLifecycle && rep.Lifecycle == AnyLifecycle:
		return "the AP's lifecycle state is unknown"
	case req.Lifecycle != AnyLifecycle && req.Lifecycle != rep.Lifecycle:
		return "applies to a " + req.Lifecycle.String() + " AP"
	case req.Password == NoPassword && rep.HasPassword:
		return "applies to an AP without a password"
	case (req.Password == WithPassword || req.Password == AfterAuthPassword) && !rep.HasPassword:
		return "applies to an AP with a password"
	case req.Password == AfterAuthPassword && r.opts.BeforeAuth:
		return "applies to an AP that takes its password after authentication"
	case req.Destructive && !r.opts.Destructive:
		return "destructive: writes or may spend a try (--destructive)"
	case req.NeedsKeys() && r.opts.Keys == nil:
		return "needs the operator's keys (--keys)"
	case req.State.Verified && r.opts.Password == nil:
		return "needs the AP's password"
	}
	return ""
}

// run checks one requirement.
func (r *runner) run(ctx context.Context, req Requirement, rep *Report) Result {
	r.lastErr = nil
	if why := r.skipReason(req, rep); why != "" {
		return Result{Requirement: req, Outcome: Skip, Reason: why}
	}
	res := Result{Requirement: req}
	sess, err := r.setUp(ctx, req.State)
	if err != nil {
		r.lastErr = err
		res.Outcome, res.Observed, res.Reason = Fail, errText(err), "setting up the state: "+errText(err)
		return res
	}
	if r.opts.BeforeCommand != nil {
		r.opts.BeforeCommand(req)
	}
	obs, sess, why := r.step(ctx, req.Step, sess)
	res.Observed = obs
	if why == "" && req.Then != nil {
		var thenObs string
		thenObs, _, why = r.step(ctx, *req.Then, sess)
		res.Observed += "; then " + thenObs
	}
	res.Outcome = Pass
	if why != "" {
		res.Outcome, res.Reason = Fail, why
	}
	if req.Destructive {
		r.restore(ctx, rep)
	}
	return res
}

// setUp establishes a requirement's state from scratch and returns the
// session it opened, if any.
func (r *runner) setUp(ctx context.Context, st State) (*secure.Session, error) {
	if st.MF {
		return nil, r.expect(ctx, []byte{0x00, 0xA4, 0x00, 0x0C}, "SELECT MF")
	}
	if err := r.expect(ctx, append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(r.v.aid))}, r.v.aid...), "SELECT AP"); err != nil {
		return nil, err
	}
	var sess *secure.Session
	var err error
	if st.Key != 0 {
		if sess, err = r.authenticate(ctx, st.Key, r.t); err != nil {
			return nil, err
		}
	}
	if st.Verified {
		cmd := append([]byte{0x00, 0x20, 0x00, 0x81, byte(len(r.opts.Password))}, r.opts.Password...)
		resp, err := sess.Transmit(apdu.WithSecret(ctx), cmd)
		clear(cmd)
		if err != nil {
			return nil, fmt.Errorf("VERIFY: %w", err)
		}
		if _, sw := split(resp); sw != apdu.SWSuccess {
			return nil, fmt.Errorf("VERIFY answered %04X", uint16(sw))
		}
	}
	if st.Reauth {
		if sess, err = r.authenticate(ctx, st.Key, r.t); err != nil {
			return nil, err
		}
	}
	if st.EF != 0 {
		cmd := []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, byte(st.EF >> 8), byte(st.EF)}
		if sess != nil {
			resp, err := sess.Transmit(ctx, cmd)
			if err != nil {
				return nil, fmt.Errorf("SELECT EF %04X: %w", st.EF, err)
			}
			if _, sw := split(resp); sw != apdu.SWSuccess {
				return nil, fmt.Errorf("SELECT EF %04X answered %04X", st.EF, uint16(sw))
			}
		} else if err := r.expect(ctx, cmd, fmt.Sprintf("SELECT EF %04X", st.EF)); err != nil {
			return nil, err
		}
	}
	if st.Challenge {
		resp, err := r.t.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08})
		if err != nil {
			return nil, fmt.Errorf("GET CHALLENGE: %w", err)
		}
		if _, sw := split(resp); sw != apdu.SWSuccess {
			return nil, fmt.Errorf("GET CHALLENGE answered %04X", uint16(sw))
		}
	}
	return sess, nil
}

// expect sends a plain command that must answer 9000.
func (r *runner) expect(ctx context.Context, cmd []byte, what string) error {
	resp, err := r.t.Transmit(ctx, cmd)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, sw := split(resp); sw != apdu.SWSuccess {
		return fmt.Errorf("%s answered %04X", what, uint16(sw))
	}
	return nil
}

// roles maps a key reference to the master key role (docs/PROTOCOL.md §6.2).
var roles = map[byte]string{0x01: "auth", 0x02: "update", 0x03: "admin"}

// authenticate runs GET CHALLENGE and MUTUAL AUTHENTICATE with the card
// key ref over t.
func (r *runner) authenticate(ctx context.Context, ref byte, t apdu.Transport) (*secure.Session, error) {
	role, ok := roles[ref]
	if !ok || r.opts.Keys == nil {
		return nil, fmt.Errorf("no operator key for key reference %02X", ref)
	}
	prefix := "typea"
	if r.opts.Type == profile.TypeD {
		prefix = "typed"
	}
	var ks [2]keys.Key
	for i, half := range []string{"enc", "mac"} {
		k, err := r.opts.Keys.Diversify(ctx, keys.KeyRef{Name: prefix + "-" + role + "-" + half, Version: r.version}, r.v.cuid, r.v.aid)
		if err != nil {
			ks[0].Zero()
			return nil, fmt.Errorf("card key %02X: %w", ref, err)
		}
		ks[i] = k
	}
	defer ks[0].Zero()
	defer ks[1].Zero()
	sess, err := secure.MutualAuthenticate(ctx, t, secure.Config{Suite: r.opts.Suite, KEnc: ks[0].Bytes(), KMac: ks[1].Bytes(), KeyRef: ref})
	if err != nil {
		return nil, fmt.Errorf("mutual authentication with key %02X: %w", ref, err)
	}
	return sess, nil
}

// step sends a step's command (plain, protected or an action) and checks
// the answer; it returns what was observed, the session now open, and why
// the answer is wrong ("" when right).
func (r *runner) step(ctx context.Context, s Step, sess *secure.Session) (string, *secure.Session, string) {
	var data []byte
	var sw apdu.StatusWord
	mark := r.t.count()
	switch {
	case strings.HasPrefix(s.Command, "{AUTH:") || strings.HasPrefix(s.Command, "{REPLAY:"):
		ref, err := strconv.ParseUint(s.Command[strings.IndexByte(s.Command, ':')+1:len(s.Command)-1], 16, 8)
		if err != nil {
			return "", sess, "bad action " + s.Command
		}
		var t apdu.Transport = r.t
		if strings.HasPrefix(s.Command, "{REPLAY:") {
			t = &challengeLiar{next: r.t}
		}
		ns, err := r.authenticate(ctx, byte(ref), t)
		if err == nil {
			// The card's cryptogram was checked by package secure.
			sess, sw = ns, apdu.SWSuccess
		} else if !errors.As(err, &sw) {
			r.lastErr = err
			return errText(err), sess, "mutual authentication: " + errText(err)
		}
	default:
		cmd, err := expandCommand(s.Command, r.v)
		if err != nil {
			return "", sess, err.Error()
		}
		var resp []byte
		if s.Protected {
			if sess == nil {
				return "", sess, "no session to protect the command"
			}
			resp, err = sess.Transmit(ctx, cmd)
		} else {
			resp, err = r.t.Transmit(ctx, cmd)
		}
		if err != nil {
			if !s.Protected || !errors.As(err, &sw) {
				r.lastErr = err
				return errText(err), sess, errText(err)
			}
		} else {
			data, sw = split(resp)
		}
	}
	obs := fmt.Sprintf("%04X", uint16(sw))
	if len(data) > 0 {
		obs += fmt.Sprintf(", %d bytes", len(data))
	}
	first, fits, seen := r.t.firstAnswerSince(mark)
	if seen && first>>8 == 0x61 {
		obs = fmt.Sprintf("%04X then ", uint16(first)) + obs
	}
	switch {
	case !matchSW(s.SW, sw):
		return obs, sess, "status word " + fmt.Sprintf("%04X", uint16(sw)) + ", want " + s.SW
	case s.Via61 && (!seen || first>>8 != 0x61):
		return obs, sess, "a response of more than 256 bytes to a short APDU came without 61xx (§1.4)"
	case !s.Via61 && seen && first>>8 == 0x61 && fits:
		return obs, sess, "61xx for a response that fits one short APDU (§1.4)"
	}
	if !strings.HasPrefix(s.Command, "{") {
		ok, err := matchData(s.Data, data, r.v)
		if err != nil {
			return obs, sess, err.Error()
		}
		if !ok {
			want := s.Data
			if want == "" {
				want = "no data"
			}
			return obs, sess, "data " + fmt.Sprintf("% X", data) + ", want " + want
		}
	}
	return obs, sess, ""
}

// restore undoes what a destructive requirement may have spent on a
// conforming card: a successful authentication with key 01 resets its
// failure counter, a VERIFY with the known password the password's.
func (r *runner) restore(ctx context.Context, rep *Report) {
	if r.opts.Keys == nil || r.opts.Type == profile.TypeC {
		return
	}
	if r.expect(ctx, append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(r.v.aid))}, r.v.aid...), "SELECT AP") != nil {
		return
	}
	sess, err := r.authenticate(ctx, 0x01, r.t)
	if err != nil || !rep.HasPassword || r.opts.Password == nil {
		return
	}
	cmd := append([]byte{0x00, 0x20, 0x00, 0x81, byte(len(r.opts.Password))}, r.opts.Password...)
	_, _ = sess.Transmit(apdu.WithSecret(ctx), cmd)
	clear(cmd)
}

// split returns a response's data and status word.
func split(resp []byte) ([]byte, apdu.StatusWord) {
	if len(resp) < 2 {
		return nil, 0
	}
	n := len(resp)
	return resp[:n-2], apdu.StatusWord(uint16(resp[n-2])<<8 | uint16(resp[n-1]))
}

// errText is err's message.
func errText(err error) string { return err.Error() }

// exchange is one command through the recorder: the card's first answer
// and the length of the assembled response.
type exchange struct {
	first  apdu.StatusWord
	length int // data bytes of the assembled response
	short  bool
}

// recorder is the runner's transport: it follows 61xx with GET RESPONSE
// (as every host does, §1.4) and remembers the card's first answer, so a
// requirement can tell whether 61xx came and whether it was needed.
type recorder struct {
	next apdu.Transport
	log  []exchange
}

// maxGetResponse bounds the GET RESPONSE rounds of one command.
const maxGetResponse = 64

// Transmit implements apdu.Transport.
func (r *recorder) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	resp, err := r.next.Transmit(ctx, cmd)
	if err != nil {
		return nil, err
	}
	_, sw := split(resp)
	ex := exchange{first: sw, short: isShort(cmd)}
	var all []byte
	for i := 0; sw>>8 == 0x61; i++ {
		if i == maxGetResponse {
			return nil, fmt.Errorf("conformance: %w", apdu.ErrTooManyGetResponses)
		}
		d, _ := split(resp)
		all = append(all, d...)
		le := byte(sw)
		resp, err = r.next.Transmit(ctx, []byte{0x00, 0xC0, 0x00, 0x00, le})
		if err != nil {
			return nil, err
		}
		_, sw = split(resp)
	}
	if ex.first>>8 == 0x61 {
		d, _ := split(resp)
		all = append(all, d...)
		resp = append(all, byte(sw>>8), byte(sw))
	}
	ex.length = len(resp) - 2
	r.log = append(r.log, ex)
	return resp, nil
}

// count is the number of commands so far.
func (r *recorder) count() int { return len(r.log) }

// firstAnswerSince returns the first answer to the last command sent
// after mark (the step's command is the last one the step sends), and
// whether the assembled response fits one short APDU.
func (r *recorder) firstAnswerSince(mark int) (apdu.StatusWord, bool, bool) {
	if len(r.log) <= mark {
		return 0, false, false
	}
	e := r.log[len(r.log)-1]
	return e.first, !e.short || e.length <= apdu.MaxShortNe, true
}

// isShort reports whether a command APDU uses short length fields.
func isShort(cmd []byte) bool {
	c, err := apdu.ParseCommand(cmd)
	return err != nil || !c.Extended
}

// challengeLiar changes the RND.ICC the card sends, so that the terminal
// computes a correctly MACed S over another nonce: a replayed cryptogram
// as the card sees it (§3.1 step 9).
type challengeLiar struct{ next apdu.Transport }

// Transmit implements apdu.Transport.
func (l *challengeLiar) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	resp, err := l.next.Transmit(ctx, cmd)
	if err == nil && len(cmd) >= 2 && cmd[1] == byte(apdu.InsGetChallenge) && len(resp) == secure.NonceLen+2 {
		resp = bytes.Clone(resp)
		resp[0] ^= 0xFF
	}
	return resp, err
}
