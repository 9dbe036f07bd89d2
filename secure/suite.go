package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"github.com/mynacard/freespace/internal/cryptoprim"
	"strings"
)

// Suite is a cipher suite of the security core: the block cipher and MAC
// of mutual authentication and secure messaging, the session-key KDF and
// the layout of the send sequence counter. The implementations are TDES,
// AES128, AES192 and AES256; the interface is sealed. A configured card AP
// names its suite (SuiteByName).
type Suite interface {
	// Name is the suite's configuration name: "3DES", "AES-128", "AES-192"
	// or "AES-256".
	Name() string
	// KeyLen is the length of K_enc, K_mac and of each session key.
	KeyLen() int
	// BlockSize is the cipher's block size and the padding unit.
	BlockSize() int
	// SSCLen is the length of the send sequence counter.
	SSCLen() int
	// KeyHalfLen is the length of K.IFD and K.ICC in mutual authentication.
	KeyHalfLen() int

	newCrypto(kEnc, kMac []byte) (*crypto, error)
	deriveSessionKeys(seed []byte) (enc, mac []byte)
	initialSSC(dst, rndICC, rndIFD []byte)
}

// NonceLen is the length of RND.IFD and RND.ICC in every suite: 8 bytes as
// in ICAO Doc 9303 part 11 §9.7.3 (GET CHALLENGE Le = 08).
const NonceLen = 8

// MACLen is the length of every MAC on the wire (DO8E, M_IFD, M_ICC).
const MACLen = 8

// Compile-time checks that the suites implement Suite.
var (
	_ Suite = TDES
	_ Suite = AES128
)

// TDES is two-key triple DES: CBC with IV zero, ISO/IEC 9797-1 MAC
// algorithm 3 over padding method 2, 8-byte SSC, 16-byte K.IFD/K.ICC, and
// the session-key KDF of ICAO Doc 9303 part 11 §9.7.1 (SHA-1, DES parity).
const TDES = tdesSuite(0)

// AES128, AES192 and AES256 are AES in CBC mode with IV = E(KS_enc, SSC)
// in secure messaging (IV zero in mutual authentication), AES-CMAC
// truncated to 8 bytes over padding method 2, 16-byte SSC, 32-byte
// K.IFD/K.ICC, and the KDF of ICAO Doc 9303 part 11 §9.7.1 (SHA-1 for
// AES-128, SHA-256 for AES-192/256).
const (
	AES128 = aesSuite(16)
	AES192 = aesSuite(24)
	AES256 = aesSuite(32)
)

// SuiteByName returns the suite with the given configuration name, matched
// case-insensitively and ignoring '-' and '_': "3DES" (or "TDES"),
// "AES-128", "AES-192", "AES-256".
func SuiteByName(name string) (Suite, error) {
	n := strings.ToUpper(strings.NewReplacer("-", "", "_", "").Replace(name))
	switch n {
	case "3DES", "TDES", "DESEDE2":
		return TDES, nil
	case "AES128":
		return AES128, nil
	case "AES192":
		return AES192, nil
	case "AES256":
		return AES256, nil
	}
	return nil, fmt.Errorf("secure: unknown cipher suite %q (want 3DES, AES-128, AES-192 or AES-256)", name)
}

type tdesSuite int

func (tdesSuite) Name() string    { return "3DES" }
func (tdesSuite) String() string  { return "3DES" }
func (tdesSuite) KeyLen() int     { return 16 }
func (tdesSuite) BlockSize() int  { return 8 }
func (tdesSuite) SSCLen() int     { return 8 }
func (tdesSuite) KeyHalfLen() int { return 16 }

func (tdesSuite) newCrypto(kEnc, kMac []byte) (*crypto, error) {
	// Two-key TDES (K1 K2 K1) for encryption and the retail MAC: 16 bytes
	// each, checked here so that the error is this package's.
	if len(kEnc) != 16 || len(kMac) != 16 {
		return nil, fmt.Errorf("%w: 3DES needs 16-byte keys, got %d and %d", ErrKeyLength, len(kEnc), len(kMac))
	}
	b, err := cryptoprim.NewTDES(kEnc)
	if err != nil {
		return nil, err
	}
	m, err := cryptoprim.NewRetailMAC(kMac)
	if err != nil {
		return nil, err
	}
	return &crypto{bs: 8, block: b, mac: m.Sum}, nil
}

// deriveSessionKeys is ICAO Doc 9303 part 11 §9.7.1.1: KS = first 16 bytes
// of SHA-1(K_seed || c), c = 00000001 for KS_enc and 00000002 for KS_mac,
// each byte adjusted to odd parity.
func (tdesSuite) deriveSessionKeys(seed []byte) (enc, mac []byte) {
	enc = hashKDF(sha1Sum, seed, 1, 16)
	mac = hashKDF(sha1Sum, seed, 2, 16)
	cryptoprim.SetDESParity(enc)
	cryptoprim.SetDESParity(mac)
	return enc, mac
}

// initialSSC is ICAO Doc 9303 part 11 §9.8.2: the four least significant
// bytes of RND.ICC followed by those of RND.IFD.
func (tdesSuite) initialSSC(dst, rndICC, rndIFD []byte) {
	copy(dst[0:4], rndICC[4:8])
	copy(dst[4:8], rndIFD[4:8])
}

type aesSuite int

func (s aesSuite) Name() string   { return fmt.Sprintf("AES-%d", int(s)*8) }
func (s aesSuite) String() string { return s.Name() }
func (s aesSuite) KeyLen() int    { return int(s) }
func (aesSuite) BlockSize() int   { return 16 }
func (aesSuite) SSCLen() int      { return 16 }
func (aesSuite) KeyHalfLen() int  { return 32 }

func (s aesSuite) newCrypto(kEnc, kMac []byte) (*crypto, error) {
	if len(kEnc) != int(s) || len(kMac) != int(s) {
		return nil, fmt.Errorf("%w: %s needs %d-byte keys, got %d and %d", ErrKeyLength, s.Name(), int(s), len(kEnc), len(kMac))
	}
	b, err := aes.NewCipher(kEnc)
	if err != nil {
		return nil, fmt.Errorf("%w: AES key of %d bytes", ErrKeyLength, len(kEnc))
	}
	mb, err := aes.NewCipher(kMac)
	if err != nil {
		return nil, fmt.Errorf("%w: AES key of %d bytes", ErrKeyLength, len(kMac))
	}
	c, err := cryptoprim.NewCMAC(mb)
	if err != nil {
		return nil, err
	}
	k1 := c.K1()
	cr := &crypto{bs: 16, block: b, ivFromSSC: true}
	// msg is always padded (a block multiple), so CMAC is CBC-MAC over all
	// but the last block, then the last block xor K1 (SP 800-38B §6.2).
	// The CBC part runs through the cached CBC mode with a scratch buffer.
	var mode cipher.BlockMode
	var scratch []byte
	zeroIV := make([]byte, 16)
	xb := make([]byte, 16) // heap scratch: passing it to mb does not allocate
	cr.mac = func(dst, msg []byte) []byte {
		x := xb
		clear(x)
		if n := len(msg) - 16; n > 0 && n <= smallCBC {
			for i := 0; i < n; i += 16 {
				subtle.XORBytes(x, x, msg[i:i+16])
				mb.Encrypt(x, x)
			}
		} else if n > 0 {
			if mode == nil {
				mode = cipher.NewCBCEncrypter(mb, zeroIV)
			}
			if cap(scratch) < n {
				scratch = make([]byte, n)
			}
			mode.(ivSetter).SetIV(zeroIV)
			mode.CryptBlocks(scratch[:n], msg[:n])
			copy(x, scratch[n-16:n])
			clear(scratch[:n])
		}
		subtle.XORBytes(x, x, msg[len(msg)-16:])
		subtle.XORBytes(x, x, k1)
		mb.Encrypt(x, x)
		dst = append(dst, x[:MACLen]...)
		clear(x)
		return dst
	}
	return cr, nil
}

// deriveSessionKeys is the AES branch of ICAO Doc 9303 part 11 §9.7.1.1:
// SHA-1 (AES-128) or SHA-256 (AES-192/256) of K_seed || c, truncated.
func (s aesSuite) deriveSessionKeys(seed []byte) (enc, mac []byte) {
	h := sha256Sum
	if s == AES128 {
		h = sha1Sum
	}
	return hashKDF(h, seed, 1, int(s)), hashKDF(h, seed, 2, int(s))
}

// initialSSC for AES is this profile's choice: eight zero bytes, then the
// four least significant bytes of RND.ICC and of RND.IFD (the TDES SSC,
// zero-extended to one AES block).
func (aesSuite) initialSSC(dst, rndICC, rndIFD []byte) {
	clear(dst[:8])
	copy(dst[8:12], rndICC[4:8])
	copy(dst[12:16], rndIFD[4:8])
}

func sha1Sum(b []byte) []byte {
	s := sha1.Sum(b)
	return s[:]
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// hashKDF is KDF(K_seed, c) = H(K_seed || [c]_32) truncated to n bytes.
func hashKDF(h func([]byte) []byte, seed []byte, c uint32, n int) []byte {
	d := make([]byte, len(seed)+4)
	copy(d, seed)
	binary.BigEndian.PutUint32(d[len(seed):], c)
	sum := h(d)
	clear(d)
	out := make([]byte, n)
	copy(out, sum)
	clear(sum)
	return out
}

// crypto is a suite bound to a pair of keys. It is not safe for concurrent
// use (it caches CBC modes); its owners lock.
type crypto struct {
	bs        int
	block     cipher.Block
	mac       func(dst, padded []byte) []byte // appends MACLen bytes
	ivFromSSC bool
	enc, dec  cipher.BlockMode // CBC modes re-armed with SetIV, nil if unsupported
	ivBuf     []byte           // heap copy of the IV, so callers' IVs stay on the stack
	tmp       []byte           // heap scratch of the block-by-block paths (32 bytes)
}

// scratch returns the 32-byte heap scratch. Buffers handed to a
// cipher.Block escape, so stack arrays there would allocate on every call.
func (c *crypto) scratch() []byte {
	if c.tmp == nil {
		c.tmp = make([]byte, 32)
	}
	return c.tmp
}

// smallCBC is the length up to which CBC runs block by block: creating the
// cached CBC modes costs more than it saves on a few blocks (mutual
// authentication, short APDUs).
const smallCBC = 64

// ivSetter is implemented by the standard library's CBC modes.
type ivSetter interface{ SetIV([]byte) }

func (c *crypto) modes() {
	var zero [16]byte
	e := cipher.NewCBCEncrypter(c.block, zero[:c.bs])
	d := cipher.NewCBCDecrypter(c.block, zero[:c.bs])
	_, ok1 := e.(ivSetter)
	_, ok2 := d.(ivSetter)
	if ok1 && ok2 {
		c.enc, c.dec, c.ivBuf = e, d, make([]byte, c.bs)
	}
}

// cbcEncrypt encrypts src (a multiple of bs) into dst in CBC mode; dst and
// src may be the same slice.
func (c *crypto) cbcEncrypt(dst, src, iv []byte) {
	if c.enc == nil && len(src) > smallCBC {
		c.modes()
	}
	if c.enc != nil {
		copy(c.ivBuf, iv)
		c.enc.(ivSetter).SetIV(c.ivBuf)
		c.enc.CryptBlocks(dst[:len(src)], src)
		return
	}
	bs := c.bs
	x := c.scratch()[:bs]
	copy(x, iv)
	for i := 0; i < len(src); i += bs {
		for j := 0; j < bs; j++ {
			x[j] ^= src[i+j]
		}
		c.block.Encrypt(x, x)
		copy(dst[i:i+bs], x)
	}
	clear(x)
}

// cbcDecrypt decrypts src (a multiple of bs) into dst in CBC mode; dst and
// src may be the same slice.
func (c *crypto) cbcDecrypt(dst, src, iv []byte) {
	if c.dec == nil && len(src) > smallCBC {
		c.modes()
	}
	if c.dec != nil {
		copy(c.ivBuf, iv)
		c.dec.(ivSetter).SetIV(c.ivBuf)
		c.dec.CryptBlocks(dst[:len(src)], src)
		return
	}
	bs := c.bs
	t := c.scratch()
	x, cur := t[:bs], t[16:16+bs]
	var prev [16]byte
	copy(prev[:bs], iv)
	for i := 0; i < len(src); i += bs {
		copy(cur, src[i:i+bs])
		c.block.Decrypt(x, cur)
		for j := 0; j < bs; j++ {
			dst[i+j] = x[j] ^ prev[j]
		}
		copy(prev[:bs], cur)
	}
	clear(t)
}
