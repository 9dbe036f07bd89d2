package cryptoprim

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"fmt"
)

// RetailMACer is ISO/IEC 9797-1 MAC algorithm 3 with DES (the "retail MAC",
// ANSI X9.19): single-DES CBC-MAC under K1 over every block, then the
// output transformation DES-decrypt under K2 and DES-encrypt under K1.
// The input must already be padded (method 2 in this profile).
type RetailMACer struct {
	k1, k2 cipher.Block
	x      []byte // heap scratch (a stack array passed to Encrypt would allocate)
}

// NewRetailMAC prepares the retail MAC under the 16-byte key K1 || K2.
func NewRetailMAC(key []byte) (*RetailMACer, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("%w: retail MAC key of %d bytes, need 16", ErrKeyLength, len(key))
	}
	k1, _ := des.NewCipher(key[:8])
	k2, _ := des.NewCipher(key[8:16])
	return &RetailMACer{k1: k1, k2: k2, x: make([]byte, 8)}, nil
}

// Sum appends the 8-byte MAC of the padded msg to dst. It is not safe for
// concurrent use (its owner locks).
func (m *RetailMACer) Sum(dst, msg []byte) []byte {
	x := m.x
	clear(x)
	for i := 0; i+8 <= len(msg); i += 8 {
		subtle.XORBytes(x, x, msg[i:i+8])
		m.k1.Encrypt(x, x)
	}
	m.k2.Decrypt(x, x)
	m.k1.Encrypt(x, x)
	dst = append(dst, x...)
	clear(x)
	return dst
}

// RetailMAC returns ISO/IEC 9797-1 MAC algorithm 3 with DES and padding
// method 2 of msg under the 16-byte key K1 || K2: the MAC of the TDES suite
// (ICAO Doc 9303 part 11 §9.8.6.1).
func RetailMAC(key, msg []byte) ([]byte, error) {
	m, err := NewRetailMAC(key)
	if err != nil {
		return nil, err
	}
	return m.Sum(nil, Pad(append([]byte(nil), msg...), 8)), nil
}

// NewTDES returns the two-key triple-DES block cipher (keying option 2 of
// NIST SP 800-67: K1 K2 K1) for a 16-byte key.
func NewTDES(key []byte) (cipher.Block, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("%w: two-key 3DES key of %d bytes, need 16", ErrKeyLength, len(key))
	}
	var k [24]byte
	copy(k[:], key)
	copy(k[16:], key[:8])
	b, err := des.NewTripleDESCipher(k[:])
	clear(k[:])
	return b, err
}

// SetDESParity sets the odd-parity bit (the least significant bit) of every
// byte of a DES key in place, as ICAO Doc 9303 part 11 §9.7.1 requires of
// derived 3DES keys.
func SetDESParity(k []byte) {
	for i, b := range k {
		b &= 0xFE
		p := b ^ b>>4
		p ^= p >> 2
		p ^= p >> 1
		k[i] = b | (^p & 1)
	}
}
