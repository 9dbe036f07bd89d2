package secure

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mynacard/freespace/internal/cryptoprim"
	"io"
	"log/slog"

	"github.com/mynacard/freespace/apdu"
)

// Config configures host-side mutual authentication. KEnc and KMac are the
// card's AP keys (already diversified for this card, see package keys).
// Config holds secrets: String, GoString and Format redact them.
type Config struct {
	// Suite is the cipher suite the card AP is configured with; the
	// terminal's configuration decides it, never the card.
	Suite Suite
	// KEnc is the card's encryption key K_enc (Suite.KeyLen bytes).
	KEnc []byte
	// KMac is the card's MAC key K_mac (Suite.KeyLen bytes).
	KMac []byte
	// KeyRef is P2 of MUTUAL AUTHENTICATE: the card's reference of the key
	// pair (00 = the AP's default key).
	KeyRef byte
	// CLA is the class byte of GET CHALLENGE and MUTUAL AUTHENTICATE and
	// the base of later protected commands' logical channel bits (00).
	CLA byte
	// Rand supplies RND.IFD and K.IFD; nil means crypto/rand.
	Rand io.Reader
	// Logger receives Debug lines about the exchange (never key bytes);
	// nil discards them.
	Logger *slog.Logger
}

// String implements fmt.Stringer without revealing the keys.
func (c Config) String() string {
	name := "<nil>"
	if c.Suite != nil {
		name = c.Suite.Name()
	}
	return fmt.Sprintf("secure.Config{Suite: %s, KEnc: [%d bytes redacted], KMac: [%d bytes redacted], KeyRef: %02X, CLA: %02X}", name, len(c.KEnc), len(c.KMac), c.KeyRef, c.CLA)
}

// GoString implements fmt.GoStringer without revealing the keys.
func (c Config) GoString() string { return c.String() }

// Format implements fmt.Formatter: every verb prints String.
func (c Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue implements slog.LogValuer without revealing the keys (slog's
// JSON handler would otherwise marshal KEnc and KMac).
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON implements json.Marshaler without revealing the keys.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// cryptogramLen is the length of S = RND.IFD || RND.ICC || K.IFD (and of R).
func cryptogramLen(s Suite) int { return 2*NonceLen + s.KeyHalfLen() }

// MutualAuthenticate runs ISO/IEC 11770-2 mechanism 6 with the card over t
// (ICAO Doc 9303 part 11 §9.7.2-9.7.3, docs/PROTOCOL.md chapter 3):
//
//	GET CHALLENGE        CLA 84 00 00 08            → RND.ICC (8 bytes)
//	MUTUAL AUTHENTICATE  CLA 82 00 KeyRef Lc E||M Le → E'||M'
//
// with S = RND.IFD || RND.ICC || K.IFD, E = E(K_enc, S) in CBC with a zero
// IV and M = MAC(K_mac, pad(E)). The card's answer is checked before
// anything else is sent: its MAC first, in constant time (ErrCardCryptogram),
// then both nonces (ErrNonceMismatch). K_seed = K.IFD xor K.ICC gives the
// session keys and the nonces give the SSC; the returned Session protects
// every later command over t.
//
// A password (VERIFY) may precede this call on t in plain, or follow it
// through the returned Session, as the AP is configured.
func MutualAuthenticate(ctx context.Context, t apdu.Transport, cfg Config) (*Session, error) {
	if cfg.Suite == nil || t == nil {
		return nil, errors.New("secure: MutualAuthenticate needs a transport and a suite")
	}
	suite := cfg.Suite
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	cr, err := suite.newCrypto(cfg.KEnc, cfg.KMac)
	if err != nil {
		return nil, err
	}
	// The exchanges carry nonces and cryptograms: mask them in traces.
	ctx = apdu.WithSecret(ctx)
	rndICC, err := getChallenge(ctx, t, cfg.CLA)
	if err != nil {
		return nil, err
	}
	n := cryptogramLen(suite)
	s := make([]byte, n, n+MACLen+cr.bs)
	defer clear(s[:cap(s)])
	if _, err := io.ReadFull(rnd, s[:NonceLen]); err != nil {
		return nil, fmt.Errorf("secure: reading RND.IFD: %w", err)
	}
	copy(s[NonceLen:], rndICC)
	if _, err := io.ReadFull(rnd, s[2*NonceLen:]); err != nil {
		return nil, fmt.Errorf("secure: reading K.IFD: %w", err)
	}
	var rndIFD [NonceLen]byte
	copy(rndIFD[:], s)
	kIFD := append([]byte(nil), s[2*NonceLen:]...)
	defer clear(kIFD)

	data := make([]byte, n, n+MACLen)
	cr.cbcEncrypt(data, s, make([]byte, cr.bs))
	data = cr.macPadded(data, data)

	// MUTUAL AUTHENTICATE (ISO/IEC 7816-4 §11.5.4): E(K_enc, RND.IFD ||
	// RND.ICC || K.IFD) || MAC, answered by the card's cryptogram and MAC.
	ma := apdu.MutualAuthenticate(cfg.KeyRef, data, n+MACLen)
	ma.CLA = cfg.CLA
	cmd, err := ma.Bytes()
	if err != nil {
		return nil, err
	}
	log.DebugContext(ctx, "mutual authentication: sending terminal cryptogram", "suite", suite.Name(), "len", len(data))
	raw, err := t.Transmit(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("secure: MUTUAL AUTHENTICATE: %w", err)
	}
	r, err := apdu.ParseResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("secure: MUTUAL AUTHENTICATE: %w", err)
	}
	if !r.SW.OK() {
		return nil, fmt.Errorf("%w: %w", ErrTerminalRejected, r.SW.Err())
	}
	kICC, err := parseAuthResponse(cr, n, r.Data, rndIFD[:], rndICC)
	if err != nil {
		return nil, err
	}
	defer clear(kICC)
	seed := make([]byte, len(kIFD))
	defer clear(seed)
	subtle.XORBytes(seed, kIFD, kICC)
	keys := sessionKeys(suite, seed, rndICC, rndIFD[:])
	defer keys.Zero()
	sess, err := NewSession(t, suite, keys)
	if err != nil {
		return nil, err
	}
	sess.log = log
	log.DebugContext(ctx, "mutual authentication: session established", "suite", suite.Name())
	return sess, nil
}

// macPadded appends MAC(pad(msg)) to dst (msg is not modified).
func (c *crypto) macPadded(dst, msg []byte) []byte {
	buf := cryptoprim.Pad(append(make([]byte, 0, len(msg)+c.bs), msg...), c.bs)
	return c.mac(dst, buf)
}

// sessionKeys derives KS_enc, KS_mac and the initial SSC.
func sessionKeys(s Suite, seed, rndICC, rndIFD []byte) SessionKeys {
	enc, mac := s.deriveSessionKeys(seed)
	ssc := make([]byte, s.SSCLen())
	s.initialSSC(ssc, rndICC, rndIFD)
	return SessionKeys{Enc: enc, MAC: mac, SSC: ssc}
}

// getChallenge sends GET CHALLENGE (ISO/IEC 7816-4 §11.5.3) for 8 bytes.
func getChallenge(ctx context.Context, t apdu.Transport, cla byte) ([]byte, error) {
	gc := apdu.GetChallenge(NonceLen)
	gc.CLA = cla
	cmd, err := gc.Bytes()
	if err != nil {
		return nil, err
	}
	raw, err := t.Transmit(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChallenge, err)
	}
	r, err := apdu.ParseResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChallenge, err)
	}
	if !r.SW.OK() {
		return nil, fmt.Errorf("%w: %w", ErrChallenge, r.SW.Err())
	}
	if len(r.Data) != NonceLen {
		return nil, fmt.Errorf("%w: %w: challenge of %d bytes, want %d", ErrChallenge, apdu.ErrMalformedResponse, len(r.Data), NonceLen)
	}
	return append([]byte(nil), r.Data...), nil
}

// parseAuthResponse checks the card's MUTUAL AUTHENTICATE answer
// E' || M' (n + 8 bytes): M' = MAC(K_mac, pad(E')) in constant time, then
// E' decrypts to RND.ICC || RND.IFD || K.ICC with both nonces as sent.
// It returns a copy of K.ICC.
func parseAuthResponse(cr *crypto, n int, resp, rndIFD, rndICC []byte) ([]byte, error) {
	if len(resp) != n+MACLen {
		// A cryptogram of the wrong length cannot verify: ErrCardCryptogram,
		// so callers classify it with the other bad answers.
		return nil, fmt.Errorf("%w: MUTUAL AUTHENTICATE: %w: answer of %d bytes, want %d", ErrCardCryptogram, apdu.ErrMalformedResponse, len(resp), n+MACLen)
	}
	e, m := resp[:n], resp[n:]
	want := cr.macPadded(nil, e)
	if subtle.ConstantTimeCompare(want, m) != 1 {
		return nil, ErrCardCryptogram
	}
	r := make([]byte, n)
	defer clear(r)
	cr.cbcDecrypt(r, e, make([]byte, cr.bs))
	if subtle.ConstantTimeCompare(r[:NonceLen], rndICC) != 1 {
		return nil, fmt.Errorf("%w: RND.ICC in the answer differs from the card's challenge", ErrNonceMismatch)
	}
	if subtle.ConstantTimeCompare(r[NonceLen:2*NonceLen], rndIFD) != 1 {
		return nil, fmt.Errorf("%w: RND.IFD in the answer differs from the terminal's nonce", ErrNonceMismatch)
	}
	return append([]byte(nil), r[2*NonceLen:]...), nil
}
