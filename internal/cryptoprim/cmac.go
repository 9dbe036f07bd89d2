package cryptoprim

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrKeyLength is returned when a key has a length the algorithm does not
// accept. The message gives lengths only, never key bytes. Callers check
// lengths first and report their own sentinel (secure.ErrKeyLength).
var ErrKeyLength = errors.New("cryptoprim: wrong key length")

// CMAC is the CMAC mode of NIST SP 800-38B (RFC 4493 for AES) over a block
// cipher with a 64-bit or 128-bit block. It is safe for concurrent use: it
// holds only the cipher and the two derived subkeys.
type CMAC struct {
	b      cipher.Block
	k1, k2 [16]byte
	bs     int
}

// NewCMAC prepares CMAC over b (SP 800-38B §6.1 subkey generation). b must
// have a block size of 8 (TDEA, R64 = 0x1B) or 16 (AES, R128 = 0x87).
func NewCMAC(b cipher.Block) (*CMAC, error) {
	bs := b.BlockSize()
	var rb byte
	switch bs {
	case 8:
		rb = 0x1B
	case 16:
		rb = 0x87
	default:
		return nil, fmt.Errorf("cryptoprim: CMAC needs a 64- or 128-bit block cipher, got %d-byte blocks", bs)
	}
	c := &CMAC{b: b, bs: bs}
	var l [16]byte
	b.Encrypt(l[:bs], l[:bs])
	dbl(c.k1[:bs], l[:bs], rb)
	dbl(c.k2[:bs], c.k1[:bs], rb)
	return c, nil
}

// dbl is the doubling in GF(2^n) of SP 800-38B §6.1 step 2/3.
func dbl(dst, src []byte, rb byte) {
	msb := src[0] >> 7
	for i := 0; i < len(src)-1; i++ {
		dst[i] = src[i]<<1 | src[i+1]>>7
	}
	dst[len(src)-1] = src[len(src)-1]<<1 ^ byte(subtle.ConstantTimeSelect(int(msb), int(rb), 0))
}

// Size returns the full tag length (the block size).
func (c *CMAC) Size() int { return c.bs }

// Sum appends the full-length CMAC tag of msg to dst (SP 800-38B §6.2).
// It allocates nothing when dst has room for the tag.
func (c *CMAC) Sum(dst, msg []byte) []byte {
	bs := c.bs
	var x, last [16]byte
	n := (len(msg) + bs - 1) / bs
	if n == 0 {
		n = 1
	}
	full := len(msg) > 0 && len(msg)%bs == 0
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x[:bs], x[:bs], msg[i*bs:(i+1)*bs])
		c.b.Encrypt(x[:bs], x[:bs])
	}
	rest := msg[(n-1)*bs:]
	if full {
		subtle.XORBytes(last[:bs], rest, c.k1[:bs])
	} else {
		copy(last[:bs], rest)
		last[len(rest)] = 0x80
		subtle.XORBytes(last[:bs], last[:bs], c.k2[:bs])
	}
	subtle.XORBytes(x[:bs], x[:bs], last[:bs])
	c.b.Encrypt(x[:bs], x[:bs])
	return append(dst, x[:bs]...)
}

// AESCMAC returns the 16-byte AES-CMAC of msg under key (16, 24 or 32
// bytes), RFC 4493 / NIST SP 800-38B.
func AESCMAC(key, msg []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: AES key of %d bytes", ErrKeyLength, len(key))
	}
	c, err := NewCMAC(b)
	if err != nil {
		return nil, err
	}
	return c.Sum(nil, msg), nil
}

// KDFCounterCMAC is the key-based KDF in counter mode of NIST SP 800-108
// §5.1 with CMAC over b as the PRF: K(i) = CMAC(KI, [i]_32 || fixed), the
// 32-bit big-endian counter placed before the fixed input data, i = 1, 2, …,
// and the result the first outLen bytes of K(1) || K(2) || … .
//
// fixed is the caller's fixed input data; FixedInput builds the usual
// Label || 00 || Context || [L]_32 layout.
func KDFCounterCMAC(b cipher.Block, fixed []byte, outLen int) ([]byte, error) {
	c, err := NewCMAC(b)
	if err != nil {
		return nil, err
	}
	if outLen <= 0 || outLen > 1<<16 {
		return nil, fmt.Errorf("cryptoprim: KDF output length %d out of range 1..65536", outLen)
	}
	out := make([]byte, 0, outLen+c.bs)
	msg := make([]byte, 4+len(fixed))
	copy(msg[4:], fixed)
	for i := uint32(1); len(out) < outLen; i++ {
		binary.BigEndian.PutUint32(msg, i)
		out = c.Sum(out, msg)
	}
	clear(out[outLen:]) // the unused tail of the last block is key material too
	return out[:outLen:outLen], nil
}

// FixedInput builds the fixed input data of NIST SP 800-108 §5:
// Label || 00 || Context || [L]_32, where L is outLen in bits as a 32-bit
// big-endian integer.
func FixedInput(label, context []byte, outLen int) []byte {
	f := make([]byte, 0, len(label)+1+len(context)+4)
	f = append(f, label...)
	f = append(f, 0)
	f = append(f, context...)
	return binary.BigEndian.AppendUint32(f, uint32(outLen)*8)
}

// K1 returns the first subkey (SP 800-38B §6.1), for a caller that MACs
// messages it has already padded to whole blocks with its own CBC pass
// (secure's AES suite). The slice aliases c: do not modify it.
func (c *CMAC) K1() []byte { return c.k1[:c.bs] }
