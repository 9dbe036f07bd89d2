package mockcard

import (
	"crypto/rsa"

	"github.com/mynacard/freespace/profile"
)

// The JPKI AP (公的個人認証AP) present on every My Number Card, as public
// sources describe it: OpenSC src/libopensc/card-jpki.c, jpki.h and
// pkcs15-jpki.c; jpki/myna src/jpki.rs and src/reader.rs (and its older Go
// code under _go/libmyna). docs/PROTOCOL.md chapter 10 and README.md in this
// directory list what the mock implements.

// JPKIAID returns the AID of the JPKI AP, D3 92 F0 00 26 01 00 00 00 01
// (OpenSC jpki.h AID_JPKI).
func JPKIAID() profile.AID {
	return profile.AID{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}
}

// File identifiers of the JPKI AP (OpenSC jpki.h and pkcs15-jpki.c; myna
// src/jpki.rs).
const (
	JPKIFIDSignCert   uint16 = 0x0001 // signing certificate (read: signing PIN)
	JPKIFIDSignCACert uint16 = 0x0002 // its CA certificate
	JPKIFIDToken      uint16 = 0x0006 // token information: which medium answers
	JPKIFIDAuthCert   uint16 = 0x000A // user-authentication certificate
	JPKIFIDAuthCACert uint16 = 0x000B // its CA certificate
	JPKIFIDAuthKey    uint16 = 0x0017 // auth private key, RSA-2048
	JPKIFIDAuthPIN    uint16 = 0x0018 // auth PIN: 4 digits, 3 tries
	JPKIFIDSignKey    uint16 = 0x001A // signing private key, RSA-2048
	JPKIFIDSignPIN    uint16 = 0x001B // signing PIN: 6-16 A-Z 0-9, 5 tries
)

// Token names in the first 32 bytes of EF 0006 (space-padded ASCII): a
// My Number Card says JPKIAPICCTOKEN2, a smartphone's secure element
// JPKIAPGPSETOKEN (myna _go/libmyna/api.go and jpki_ap.go).
const (
	JPKITokenCard       = "JPKIAPICCTOKEN2"
	JPKITokenSmartphone = "JPKIAPGPSETOKEN"
)

// PIN rules of the JPKI AP (OpenSC jpki.h: 3 and 5 tries; pkcs15-jpki.c:
// lengths 4 and 6-16).
const (
	JPKIAuthPINTries = 3
	JPKISignPINTries = 5
)

// The PINs of the default mock JPKI AP (test values).
const (
	JPKITestAuthPIN = "1234"
	JPKITestSignPIN = "TESTSIGN1"
)

// jpkiTokenLen is the size of EF 0006: a PKCS #11 CK_TOKEN_INFO with 4-byte
// integers (label 32, manufacturerID 32, model 16, serialNumber 16, 11
// counters, two versions, utcTime 16); public readers look at the first 32
// bytes only.
const jpkiTokenLen = 160

// JPKI configures the mock JPKI AP. The zero value is a My Number Card's
// JPKI AP carrying the test PKI of LoadJPKITestPKI (CardAuth, AuthCA2023,
// CardSign, SignCA2023) and the PINs JPKITestAuthPIN and JPKITestSignPIN.
type JPKI struct {
	// AuthCert is EF 000A (DER, stored as given: tests may put anything
	// there). With AuthCert set, AuthKey is required.
	AuthCert []byte
	// AuthKey is the card's auth key, EF 0017.
	AuthKey *rsa.PrivateKey
	// AuthCACert is EF 000B.
	AuthCACert []byte
	// SignCert is EF 0001; with SignCert set, SignKey is required.
	SignCert []byte
	// SignKey is the signing key, EF 001A.
	SignKey *rsa.PrivateKey
	// SignCACert is EF 0002.
	SignCACert []byte
	// AuthPIN is the auth PIN: 4 digits (default JPKITestAuthPIN).
	AuthPIN profile.Password
	// SignPIN is the signing PIN: 6 to 16 upper-case letters and digits
	// (default JPKITestSignPIN).
	SignPIN profile.Password
	// Smartphone makes the AP answer as smartphone JPKI does (a card's
	// certificates held in a phone's secure element): token
	// JPKITokenSmartphone, and the auth certificate is readable only
	// once the auth PIN is verified (myna issue 6; _go/cmd/jpki.go).
	Smartphone bool
	// Token replaces the whole content of EF 0006 (default: 160 bytes
	// starting with the space-padded token name).
	Token []byte
}

// String describes the configuration without its keys or PINs:
// "mockcard.JPKI{card}" or "mockcard.JPKI{smartphone}".
func (j JPKI) String() string {
	if j.Smartphone {
		return "mockcard.JPKI{smartphone}"
	}
	return "mockcard.JPKI{card}"
}

// GoString is String, so that %#v prints no key either.
func (j JPKI) GoString() string { return j.String() }

// WithJPKI adds a JPKI AP configured by cfg. A pre-installed JPKI DF
// without content (WithPreinstalledAPs) is replaced by it, whatever the
// option order.
func WithJPKI(cfg JPKI) Option {
	return func(s *settings) {
		s.post = append(s.post, func(c *Card) error { return c.addJPKI(cfg) })
	}
}

// NewJPKI is the one-line constructor of a card carrying a JPKI AP.
func NewJPKI(cfg JPKI, opts ...Option) (*Card, error) {
	return New(append([]Option{WithJPKI(cfg)}, opts...)...)
}

// jpkiAP is the JPKI AP's part beyond the engine's ISO/IEC 7816-4 set: the
// PIN EF addressing of VERIFY and the signature command.
type jpkiAP struct {
	authKey, signKey *rsa.PrivateKey
	smartphone       bool
	// preinstalled: added by WithPreinstalledAPs (a WithJPKI
	// configuration replaces it).
	preinstalled bool
}

// jpkiPINRef maps a PIN EF to the engine's PIN object, whose reference is
// the EF's low byte.
func jpkiPINRef(fid uint16) byte { return byte(fid) }

// jpkiTokenEF builds EF 0006.
func jpkiTokenEF(name string) []byte {
	out := make([]byte, jpkiTokenLen)
	for i := range 96 {
		out[i] = ' '
	}
	copy(out[0:32], name)
	copy(out[32:64], "freespace mockcard")
	copy(out[64:80], "MOCKJPKI")
	copy(out[80:96], "0000000000000001")
	put := func(off int, v uint32) {
		out[off], out[off+1], out[off+2], out[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	put(96, 0x0000_040D) // RNG, login required, user PIN initialized, token initialized
	put(100, 1)
	put(108, 1)
	put(116, 16)
	put(120, 4)
	for off := 124; off < 140; off += 4 {
		put(off, 0xFFFF_FFFF) // memory sizes: unavailable
	}
	copy(out[140:144], "0101")
	for i := 144; i < 160; i++ {
		out[i] = '0'
	}
	return out
}

// jpkiDefaults fills the zero fields of cfg from the test PKI.
func jpkiDefaults(cfg JPKI) (JPKI, error) {
	var pki *JPKITestPKI
	load := func() error {
		if pki != nil {
			return nil
		}
		var err error
		pki, err = LoadJPKITestPKI()
		return err
	}
	if cfg.AuthCert == nil {
		if cfg.AuthKey != nil {
			return cfg, cfgErr("JPKI: AuthKey without AuthCert")
		}
		if err := load(); err != nil {
			return cfg, err
		}
		cfg.AuthCert, cfg.AuthKey = pki.CardAuth.DER, pki.CardAuth.Key
	}
	if cfg.SignCert == nil {
		if cfg.SignKey != nil {
			return cfg, cfgErr("JPKI: SignKey without SignCert")
		}
		if err := load(); err != nil {
			return cfg, err
		}
		cfg.SignCert, cfg.SignKey = pki.CardSign.DER, pki.CardSign.Key
	}
	if cfg.AuthCACert == nil || cfg.SignCACert == nil {
		if err := load(); err != nil {
			return cfg, err
		}
		if cfg.AuthCACert == nil {
			cfg.AuthCACert = pki.AuthCA2023.DER
		}
		if cfg.SignCACert == nil {
			cfg.SignCACert = pki.SignCA2023.DER
		}
	}
	if cfg.AuthKey == nil || cfg.SignKey == nil {
		return cfg, cfgErr("JPKI: a certificate without its key")
	}
	for _, k := range []*rsa.PrivateKey{cfg.AuthKey, cfg.SignKey} {
		if k.N.BitLen() != 2048 {
			return cfg, cfgErr("JPKI: %d-bit RSA key, want 2048", k.N.BitLen())
		}
	}
	if len(cfg.AuthPIN) == 0 {
		cfg.AuthPIN = profile.Password(JPKITestAuthPIN)
	}
	if len(cfg.SignPIN) == 0 {
		cfg.SignPIN = profile.Password(JPKITestSignPIN)
	}
	if !jpkiAuthPINFormat(cfg.AuthPIN) {
		return cfg, cfgErr("JPKI: auth PIN must be 4 digits")
	}
	if !jpkiSignPINFormat(cfg.SignPIN) {
		return cfg, cfgErr("JPKI: signing PIN must be 6 to 16 upper-case letters and digits")
	}
	if cfg.Token == nil {
		name := JPKITokenCard
		if cfg.Smartphone {
			name = JPKITokenSmartphone
		}
		cfg.Token = jpkiTokenEF(name)
	}
	return cfg, nil
}

func jpkiAuthPINFormat(p []byte) bool {
	if len(p) != 4 {
		return false
	}
	for _, b := range p {
		if b < '0' || b > '9' {
			return false
		}
	}
	return true
}

func jpkiSignPINFormat(p []byte) bool {
	if len(p) < 6 || len(p) > 16 {
		return false
	}
	for _, b := range p {
		if (b < '0' || b > '9') && (b < 'A' || b > 'Z') {
			return false
		}
	}
	return true
}

// JPKISpec builds the APSpec of the JPKI AP's files and PINs (the keys and
// the signature command are added by WithJPKI; an AP added from this spec
// alone has no signing keys). cfg's zero fields take the defaults.
func JPKISpec(cfg JPKI) (APSpec, error) {
	cfg, err := jpkiDefaults(cfg)
	if err != nil {
		return APSpec{}, err
	}
	return jpkiSpec(cfg), nil
}

func jpkiSpec(cfg JPKI) APSpec {
	authPIN, signPIN := jpkiPINRef(JPKIFIDAuthPIN), jpkiPINRef(JPKIFIDSignPIN)
	authCertRead := Always()
	if cfg.Smartphone {
		authCertRead = PINVerified(authPIN)
	}
	file := func(fid uint16, data []byte, read Condition) EFSpec {
		acc := Access{Read: read, Update: Never(), Append: Never()}
		// Key and PIN EFs hold no readable data; MaxSize is at least 1.
		return EFSpec{FID: fid, Kind: Transparent, MaxSize: max(len(data), 1), Data: data,
			Personalization: acc, Operational: acc}
	}
	return APSpec{
		Name: "JPKI", AID: JPKIAID(), Lifecycle: Operational, Seal: Never(),
		EFs: []EFSpec{
			file(JPKIFIDSignCert, cfg.SignCert, PINVerified(signPIN)),
			file(JPKIFIDSignCACert, cfg.SignCACert, Always()),
			file(JPKIFIDToken, cfg.Token, Always()),
			file(JPKIFIDAuthCert, cfg.AuthCert, authCertRead),
			file(JPKIFIDAuthCACert, cfg.AuthCACert, Always()),
			file(JPKIFIDAuthKey, nil, Never()),
			file(JPKIFIDAuthPIN, nil, Never()),
			file(JPKIFIDSignKey, nil, Never()),
			file(JPKIFIDSignPIN, nil, Never()),
		},
		PINs: []PINSpec{
			{Ref: authPIN, Value: cfg.AuthPIN, MaxTries: JPKIAuthPINTries, MinLen: 4, MaxLen: 4},
			{Ref: signPIN, Value: cfg.SignPIN, MaxTries: JPKISignPINTries, MinLen: 6, MaxLen: 16},
		},
	}
}

// addJPKI adds the JPKI AP; c.mu is held (or c is new). An empty DF with
// the JPKI AID (a pre-installed placeholder) is replaced.
func (c *Card) addJPKI(cfg JPKI) error {
	cfg, err := jpkiDefaults(cfg)
	if err != nil {
		return err
	}
	return c.putJPKI(cfg, false)
}

// putJPKI adds the JPKI AP; preinstalled marks the one WithPreinstalledAPs
// adds, which a WithJPKI configuration replaces (and which never
// replaces one).
func (c *Card) putJPKI(cfg JPKI, preinstalled bool) error {
	if a := c.findApp(JPKIAID()); a != nil {
		ext, ok := a.ext.(*jpkiAP)
		switch {
		case ok && ext.preinstalled && !preinstalled:
			c.removeApp(a)
		case preinstalled:
			return nil // configured by WithJPKI already
		default:
			return cfgErr("AP %q: AID %s already on the card", "JPKI", JPKIAID())
		}
	}
	if err := c.addAP(jpkiSpec(cfg)); err != nil {
		return err
	}
	c.findApp(JPKIAID()).ext = &jpkiAP{authKey: cfg.AuthKey, signKey: cfg.SignKey, smartphone: cfg.Smartphone, preinstalled: preinstalled}
	return nil
}

// withPreinstalledJPKI adds the JPKI AP of WithPreinstalledAPs: the
// default configuration (the committed test PKI).
func withPreinstalledJPKI() Option {
	return func(s *settings) {
		s.post = append(s.post, func(c *Card) error {
			cfg, err := jpkiDefaults(JPKI{})
			if err != nil {
				return err
			}
			return c.putJPKI(cfg, true)
		})
	}
}

// removeApp takes a out of the card's APs; c.mu is held.
func (c *Card) removeApp(a *app) {
	for i, x := range c.apps {
		if x == a {
			c.apps = append(c.apps[:i], c.apps[i+1:]...)
			break
		}
	}
	if c.cur == a {
		c.resetSession()
	}
}

// MyNumberCardATR returns the ATR OpenSC's JPKI driver lists for My Number
// Cards (card-jpki.c, jpki_atrs): 3B E0 00 FF 81 31 FE 45 14, T=1 with no
// historical bytes. WithATR(MyNumberCardATR()) makes the mock look like one
// to software that still matches ATRs; hosts must identify the JPKI AP by
// SELECT, never by ATR (contactless readers synthesize ATRs).
func MyNumberCardATR() []byte { return []byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14} }
