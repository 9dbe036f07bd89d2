package cardap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap/internal/servekit"
	"github.com/mynacard/freespace/jpki"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// Identity is what Identify learned of an accepted card.
type Identity struct {
	AP         profile.APType      // the AP that answered
	AID        profile.AID         // its AID
	CUID       profile.CUID        // the card-unique identifier
	UserID     string              // the operator's user ID
	Attributes []profile.Attribute // attributes stored beside the ID (Type A, D)
	Expires    time.Time           // zero: no expiry
	// Proof says how the card proved itself: the AP, the method (none
	// for Type C, mutual authentication for Type A and D) and whether
	// the holder's password was verified. An identity with
	// Proof.Proven() false is returned only with Config.AllowUnproven.
	// In the partial Identity of a refusal, a read that did not finish
	// claims nothing (ProofNone); a refusal after the read (revoked,
	// expired, unproven) carries the read's Proof.
	Proof Proof
	// RevocationListAge is how old the revocation list was when the card
	// was checked; -1 when the client runs without a revocation list.
	RevocationListAge time.Duration
	// RevocationWarning is set when the list was older than the policy
	// allows and the policy allows with a warning.
	RevocationWarning string
	// APDUs is the number of command APDUs sent for this identification.
	APDUs int
	// JPKI is the identity proven through the JPKI AP (AP profile.JPKI):
	// the hash of the authentication certificate's key, its issuer,
	// serial and revocation key; nil for the other APs. It holds nothing
	// personal (docs/PROTOCOL.md §10.3).
	JPKI *jpki.Identity
}

// Profile returns the Identity object the card holds (user ID, expiry,
// attributes), as package profile defines it.
func (id *Identity) Profile() profile.Identity {
	return profile.Identity{UserID: id.UserID, Expires: id.Expires, Attributes: id.Attributes}
}

// AP is one card AP the client accepts. TypeC, TypeA and TypeD build the
// standard ones; an operator with its own AP implements the interface.
type AP interface {
	// Type is the AP type reported in Identity.AP.
	Type() profile.APType
	// Read selects the AP on the card behind t and reads its identity. It
	// returns an error matching ErrUnknownCard when the card does not carry
	// the AP, so that the client tries the next one; other failures should
	// match the package's sentinels (or be *Error) so they map to a Reason.
	Read(ctx context.Context, t apdu.Transport) (Identity, error)
}

// RevocationChecker tells whether a card is revoked. The revocation
// package's store satisfies it through RevocationStore.
type RevocationChecker interface {
	// CheckCUID returns the revocation status of cuid. An error means the
	// status cannot be decided (the list is too old for the freshness
	// policy, unreadable, ...): the client then refuses the card (fail
	// closed) with ReasonRevocationUnknown. Identify may call it twice
	// for one card: before a password prompt and after the read.
	CheckCUID(ctx context.Context, cuid profile.CUID) (RevocationStatus, error)
}

// Config configures a Client.
type Config struct {
	// APs are tried in order; the first one the card carries decides.
	// At least one is required: New refuses an empty list (there is no
	// default AP). Terminals that decide on the identity (doors, logins,
	// payments) configure TypeA or TypeD with the operator's keys.
	APs []AP
	// AllowUnproven accepts cards that proved nothing: the Type C AP (or
	// a custom AP that is not a Prover). Off by default, and then New
	// refuses a configuration whose every AP proves nothing, and Identify
	// refuses an unproven card with ReasonUnproven. A Type C ID is
	// readable by anyone and copyable to a blank card or a phone: set it
	// only where identifying the holder is enough (a library desk, loyalty
	// points), never to grant access or money.
	AllowUnproven bool
	// Revocation is the revocation list. Nil is refused by New unless
	// NoRevocation is set: terminals must refuse revoked cards.
	Revocation RevocationChecker
	// NoRevocation explicitly runs without a revocation list (libraries,
	// demos). Identity.RevocationListAge is then -1.
	NoRevocation bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RequireExpiry refuses identities that carry no expiry date.
	RequireExpiry bool
	// ExpiryGrace accepts an identity this long after its expiry date.
	ExpiryGrace time.Duration
	// Logger receives one record per decision (CUID and reason, never the
	// user ID, passwords or keys; a refusal's underlying error, on one
	// line, as the "error" attribute). Nil discards.
	Logger *slog.Logger
}

// Client identifies cards. It is made by New; a zero Client has no
// configuration to apply, and its methods return an error wrapping
// ErrConfig. It is safe for concurrent use by several goroutines (one per
// reader).
type Client struct {
	aps []AP
	// allowUnproven is Config.AllowUnproven.
	allowUnproven bool
	rev           RevocationChecker
	now           func() time.Time
	reqExp        bool
	grace         time.Duration
	log           *slog.Logger
}

// New checks cfg and returns a Client. Every problem is an error
// wrapping ErrConfig and naming the field, before any card is seen: no
// AP; only APs that prove nothing without AllowUnproven; an AP whose own
// configuration is invalid (TypeAConfig.Validate, TypeDConfig.Validate: no
// key provider, a password mode without a PasswordFunc or a PasswordFunc
// without a password, a password verified before authentication without
// AllowPasswordBeforeAuth, ...); no revocation list without NoRevocation.
func New(cfg Config) (*Client, error) {
	if err := cfg.validateAPs(); err != nil {
		return nil, err
	}
	if cfg.Revocation == nil && !cfg.NoRevocation {
		return nil, configErr("Revocation", "nil and NoRevocation is false")
	}
	if err := checkRevocationConfig(cfg.Revocation); err != nil {
		return nil, err
	}
	if cfg.Revocation != nil && cfg.NoRevocation {
		return nil, configErr("NoRevocation", "true and Revocation is set")
	}
	if cfg.ExpiryGrace < 0 {
		return nil, configErr("ExpiryGrace", "negative (%v)", cfg.ExpiryGrace)
	}
	c := &Client{
		aps:           append([]AP(nil), cfg.APs...),
		allowUnproven: cfg.AllowUnproven,
		rev:           cfg.Revocation,
		now:           cfg.Now,
		reqExp:        cfg.RequireExpiry,
		grace:         cfg.ExpiryGrace,
		log:           cfg.Logger,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// validateAPs checks Config.APs: at least one, none nil, each AP's own
// configuration valid, and one that proves the card unless AllowUnproven.
func (cfg *Config) validateAPs() error {
	if len(cfg.APs) == 0 {
		return configErr("APs", "empty")
	}
	proving := false
	for i, ap := range cfg.APs {
		if ap == nil {
			return configErr(fmt.Sprintf("APs[%d]", i), "nil")
		}
		if v, ok := ap.(interface{ validate() error }); ok {
			if err := v.validate(); err != nil {
				return within(fmt.Sprintf("APs[%d] (Type %s)", i, ap.Type()), err)
			}
		}
		if declaredProof(ap) != ProofNone {
			proving = true
		}
	}
	if !proving && !cfg.AllowUnproven {
		return configErr("APs", "every AP proves nothing (reads without authentication) and AllowUnproven is false")
	}
	return nil
}

// Identify reads the card behind t and decides: it returns the holder's
// Identity, or an *Error whose Reason says why the card is refused
// (errors.Is(err, cardap.ErrRevoked) and so on). In order:
//
//   - the APs are tried in the configured order, the first the card
//     carries decides (ReasonUnknownCard when none);
//   - a card that proved nothing (Identity.Proof) is refused with
//     ReasonUnproven, unless Config.AllowUnproven is set;
//   - the revocation list, failing closed: an error of the list, or an AP
//     that reported no CUID, is ReasonRevocationUnknown; a revoked answer
//     is ReasonRevoked even when the list also reported an error. The
//     standard Type A and D APs check the list already before a password
//     prompt, so a revoked card is refused without asking its holder;
//   - the expiry date, as a calendar date in the clock's time zone.
//
// A ctx that ends before the decision is ReasonCanceled: the card was not
// judged. A Client not created by New is an error wrapping ErrConfig.
func (c *Client) Identify(ctx context.Context, t apdu.Transport) (*Identity, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errors.New("cardap: Identify: nil transport")
	}
	id, err := c.identify(ctx, t)
	if err != nil {
		err = canceledWins(ctx, err)
		r := ReasonOf(err)
		attrs := []any{"reason", r.String()}
		var e *Error
		if errors.As(err, &e) && e.Identity != nil && !e.Identity.CUID.IsZero() {
			attrs = append(attrs, "cuid", e.Identity.CUID.String())
		}
		if e != nil && e.Identity != nil && e.Identity.JPKI != nil {
			attrs = append(attrs, "jpki", e.Identity.JPKI.String())
		}
		if cause := refusalCause(err); cause != nil {
			attrs = append(attrs, "error", servekit.LogText(cause))
		}
		c.log.LogAttrs(ctx, slog.LevelInfo, "cardap: refused", toAttrs(attrs)...)
		return nil, err
	}
	attrs := []slog.Attr{slog.String("ap", id.AP.String()), slog.String("cuid", id.CUID.String()),
		slog.String("proof", id.Proof.Method.String()), slog.Int("apdus", id.APDUs)}
	if id.JPKI != nil {
		// No CUID: the JPKI identity (a hash of the certificate's key).
		attrs[1] = slog.String("jpki", id.JPKI.String())
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "cardap: accepted", attrs...)
	return id, nil
}

// errZeroClient is the error of a Client not made by New (a zero Client,
// or nil): it has no AP and no revocation decision to apply.
var errZeroClient = configErr("", "Client not created by New")

// check refuses a Client that New did not make.
func (c *Client) check() error {
	if c == nil || c.log == nil {
		return errZeroClient
	}
	return nil
}

// Logger returns the logger the client writes its decisions to
// (Config.Logger, or one that discards), for loops built on the client
// (package cardap/pcsc) to log beside it.
func (c *Client) Logger() *slog.Logger {
	if c == nil || c.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.log
}

func toAttrs(kv []any) []slog.Attr {
	out := make([]slog.Attr, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, slog.Any(kv[i].(string), kv[i+1]))
	}
	return out
}

func (c *Client) identify(ctx context.Context, t apdu.Transport) (*Identity, error) {
	var (
		id    Identity
		found bool
		apdus int
	)
	ctx = context.WithValue(ctx, clockKey{}, c.now)
	if c.rev != nil {
		ctx = context.WithValue(ctx, revocationCheckKey{}, c.checkCUID)
		ctx = context.WithValue(ctx, revocationKeyCheckKey{}, c.checkKey)
	}
	for _, ap := range c.aps {
		got, err := ap.Read(ctx, t)
		apdus += got.APDUs
		got.Proof = effectiveProof(ap, &got)
		if err == nil {
			id, found = got, true
			break
		}
		if errors.Is(err, ErrUnknownCard) {
			continue
		}
		got.APDUs = apdus
		got.RevocationListAge = -1
		var e *Error
		if errors.As(err, &e) && e.Identity != nil && (e.Reason == ReasonRevoked || e.Reason == ReasonRevocationUnknown) {
			// Refused by the check before the password prompt
			// (checkCUID): keep the AP's partial identity and the list's age.
			got.RevocationListAge = e.Identity.RevocationListAge
			cp := *e
			cp.Identity = &got
			return nil, &cp
		}
		return nil, refusal(err, &got)
	}
	if !found {
		// No CUID is known, but the audit still learns what the probe cost.
		return nil, &Error{Reason: ReasonUnknownCard, Identity: &Identity{APDUs: apdus, RevocationListAge: -1}}
	}
	id.APDUs = apdus
	if err := ctx.Err(); err != nil {
		return nil, &Error{Reason: ReasonCanceled, Identity: &id, Err: err}
	}
	id.RevocationListAge = -1
	if !id.Proof.Proven() && !c.allowUnproven {
		// Policy, before the revocation list: the status of a CUID that
		// anyone can claim decides nothing.
		return nil, &Error{Reason: ReasonUnproven, Identity: &id,
			Err: fmt.Errorf("Type %s AP, proof %s", id.Proof.AP, id.Proof.Method)}
	}
	if c.rev != nil {
		if err := c.checkRevocation(ctx, &id); err != nil {
			return nil, err
		}
	}
	now := c.now()
	switch {
	case id.Expires.IsZero() && c.reqExp:
		return nil, &Error{Reason: ReasonExpired, Identity: &id, Err: errors.New("the identity has no expiry date and the policy requires one")}
	case (profile.Identity{Expires: id.Expires}).Expired(now.Add(-c.grace)):
		// The expiry is a calendar date, valid through its whole day in the
		// clock's time zone (profile.Identity.Expired), not until the UTC
		// midnight after it: a terminal in Japan refuses the card from
		// 00:00 JST the next day.
		return nil, &Error{Reason: ReasonExpired, Identity: &id, Err: fmt.Errorf("expired on %s", id.Expires.Format(time.DateOnly))}
	}
	return &id, nil
}

// revocationCheckKey carries, in the context given to the standard APs'
// Read, the client's revocation check of a CUID (Client.checkCUID), so
// that a revoked card is refused before its holder is asked for a
// password. Set only when the client has a revocation list.
type revocationCheckKey struct{}

// checkCUID checks cuid against the revocation list as Identify does,
// returning nil when the card may go on (an *Error otherwise, whose
// partial Identity carries the CUID and the list's age).
func (c *Client) checkCUID(ctx context.Context, cuid profile.CUID) error {
	id := Identity{CUID: cuid, RevocationListAge: -1}
	return c.checkRevocation(ctx, &id)
}

// revocationKeyCheckKey carries, in the context given to the APs' Read,
// the client's revocation check of any key (Client.checkKey): the JPKI AP
// checks its certificate revocation key before the PIN is asked. Set only
// when the client has a revocation list.
type revocationKeyCheckKey struct{}

// checkKey checks k against the revocation list as Identify does (nil
// when the card may go on, an *Error otherwise).
func (c *Client) checkKey(ctx context.Context, k revocation.Key) error {
	id := Identity{RevocationListAge: -1}
	return c.checkRevocationKey(ctx, &id, k)
}

// checkBeforePrompt runs the client's revocation check (when it has a
// list) on cuid, before a password prompt: a revoked card, or one whose
// status cannot be decided, is refused without asking the holder and
// without sending a password to it.
func checkBeforePrompt(ctx context.Context, cuid profile.CUID) error {
	if check, ok := ctx.Value(revocationCheckKey{}).(func(context.Context, profile.CUID) error); ok {
		return check(ctx, cuid)
	}
	return nil
}

// errNoCUID is the cause of a refusal when an AP reported no CUID while a
// revocation list is configured: the list is keyed by CUID, so the card's
// status cannot be decided.
var errNoCUID = errors.New("the card AP reported no CUID, so its revocation status cannot be checked")

// checkRevocation checks id.CUID against the revocation list, failing
// closed: a revoked card is refused as revoked even when the checker also
// reported an error (a positive answer is never weakened); an error, or
// an AP that reported no CUID, refuses the card with
// ReasonRevocationUnknown. It sets the list's age and warning in id.
func (c *Client) checkRevocation(ctx context.Context, id *Identity) error {
	if id.JPKI != nil {
		return c.checkRevocationKey(ctx, id, id.JPKI.RevocationKey)
	}
	if id.CUID.IsZero() {
		return &Error{Reason: ReasonRevocationUnknown, Identity: id, Err: errNoCUID}
	}
	st, err := c.rev.CheckCUID(ctx, id.CUID)
	return c.decideRevocation(id, st, err)
}

// checkRevocationKey checks a revocation key (a JPKI certificate's) with
// the checker's KeyChecker, or, for a key of the 16-byte space, with
// CheckCUID (the store holds certificate keys beside CUIDs).
func (c *Client) checkRevocationKey(ctx context.Context, id *Identity, k revocation.Key) error {
	var (
		st  RevocationStatus
		err error
	)
	switch kc, ok := c.rev.(KeyChecker); {
	case ok:
		st, err = kc.CheckKey(ctx, k)
	case k.Kind() == revocation.KindCUID:
		st, err = c.rev.CheckCUID(ctx, profile.CUID(k.Bytes()))
	default:
		return &Error{Reason: ReasonRevocationUnknown, Identity: id, Err: fmt.Errorf("the revocation checker cannot check %s keys", k.Kind())}
	}
	return c.decideRevocation(id, st, err)
}

// decideRevocation turns a checker's answer into the decision, failing
// closed.
func (c *Client) decideRevocation(id *Identity, st RevocationStatus, err error) error {
	if st.Age > 0 || err == nil { // on an error, the age of the list that could not decide, when known
		id.RevocationListAge = st.Age
	}
	if st.Revoked {
		return revokedError(id, st, err)
	}
	if err != nil {
		return &Error{Reason: ReasonRevocationUnknown, Identity: id, Err: err}
	}
	id.RevocationWarning = st.Warning
	return nil
}

// refusal turns an AP's error into an *Error, keeping an existing one, and
// attaches what was learned of the card (the CUID when it was read, the
// APDU count) as the partial Identity.
func refusal(err error, partial *Identity) error {
	err = removalWins(err)
	var e *Error
	if errors.As(err, &e) {
		if e.Identity == nil && partial != nil {
			cp := *e
			cp.Identity = partial
			return &cp
		}
		return err
	}
	return &Error{Reason: classify(err), Identity: partial, Err: err}
}

// classify maps an error of the card stack to a Reason.
func classify(err error) Reason {
	switch {
	case errors.Is(err, apdu.ErrCardRemoved), errors.Is(err, apdu.ErrCardReset):
		return ReasonCardRemoved
	case errors.Is(err, ErrUnknownCard):
		return ReasonUnknownCard
	case errors.Is(err, profile.ErrNotPersonalized):
		return ReasonNotPersonalized
	case errors.Is(err, profile.ErrMalformed), errors.Is(err, profile.ErrInvalidIdentity), errors.Is(err, profile.ErrInvalidCUID):
		return ReasonMalformed
	case errors.Is(err, ErrAuthFailed):
		return ReasonAuthFailed
	case errors.Is(err, ErrPasswordRequired):
		return ReasonPasswordRequired
	case errors.Is(err, ErrPasswordBlocked), errors.Is(err, apdu.ErrBlocked):
		return ReasonPasswordBlocked
	case errors.Is(err, ErrPasswordWrong), errors.Is(err, apdu.ErrVerificationFailed):
		return ReasonPasswordWrong
	case errors.Is(err, ErrRevoked):
		return ReasonRevoked
	case errors.Is(err, ErrExpired):
		return ReasonExpired
	}
	return ReasonCardError
}
