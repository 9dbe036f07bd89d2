package typed

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
)

// Envelope layout, formats 02 and 01 (docs/PROTOCOL.md §7.3). All integers
// are big-endian.
//
//	offset  size  field
//	0       2     magic 46 44 ("FD")
//	2       1     format: 02 (written), 01 (read only)
//	3       1     n = length of the key ID, 1..16
//	4       16    key ID: n printable ASCII bytes, then 00 up to 16 bytes
//	20      4     key version, 1..2^32-1
//	24      4     generation, 1..2^32-1 (which of the two slots is newer)
//	28      12    GCM nonce
//	40      2     L = length of the ciphertext (the plaintext length)
//	42      L     AES-256-GCM ciphertext
//	42+L    16    GCM tag
//
// The associated data is header (bytes 0..41) || CUID (16) || AID || FID
// (2): the header is bound to the ciphertext, and the ciphertext to the
// card, the AP and the file, so an envelope copied to another card, AP or
// file fails to open with ErrAuthentication.
//
// The format names how the per-card data key is derived from the
// operator's master data key (keys.DiversifyLabel): format 02 under
// keys.DataKeyLabel ("freespace data key"), a label no card key uses, so a
// data key never equals a card key; format 01 (profile 1.0) under the card
// keys' own label keys.DiversificationLabel. Both are read (format 01 under
// the configured data key name only); every write seals format 02.
const (
	HeaderLen = 42
	TagLen    = 16
	// Overhead is what the envelope adds to the plaintext.
	Overhead = HeaderLen + TagLen
	// MaxKeyIDLen is the longest key ID the header holds.
	MaxKeyIDLen = 16
	// DataKeyLen is the length of the operator data key (AES-256).
	DataKeyLen = 32

	// Format01 is the envelope format of profile 1.0: data key derived
	// under the card keys' label. Read, never written.
	Format01 byte = 0x01
	// Format02 is the envelope format every write seals: data key derived
	// under keys.DataKeyLabel.
	Format02 byte = 0x02

	nonceLen = 12
)

// dataKeyLabel returns the derivation label of an envelope format.
func dataKeyLabel(format byte) string {
	if format == Format01 {
		return keys.DiversificationLabel
	}
	return keys.DataKeyLabel
}

var envelopeMagic = [2]byte{'F', 'D'}

// Header is the clear part of an envelope.
type Header struct {
	Format     byte           // Format02, or Format01 (read only); 0 seals Format02
	KeyID      string         // names the operator data key in the KeyProvider
	KeyVersion uint32         // version of that key
	Generation uint32         // write counter: the slot with the higher one is newer
	Nonce      [nonceLen]byte // the AES-GCM nonce, fresh for every write
	Length     int            // length of the ciphertext (= plaintext) in bytes
}

// EnvelopeLen is the total length of the envelope.
func (h Header) EnvelopeLen() int { return HeaderLen + h.Length + TagLen }

// validKeyID reports whether id is 1..16 printable ASCII bytes.
func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > MaxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7E {
			return false
		}
	}
	return true
}

// appendHeader appends the 42 header bytes.
func (h Header) appendTo(dst []byte) []byte {
	dst = append(dst, envelopeMagic[0], envelopeMagic[1], h.Format, byte(len(h.KeyID)))
	var id [MaxKeyIDLen]byte
	copy(id[:], h.KeyID)
	dst = append(dst, id[:]...)
	dst = binary.BigEndian.AppendUint32(dst, h.KeyVersion)
	dst = binary.BigEndian.AppendUint32(dst, h.Generation)
	dst = append(dst, h.Nonce[:]...)
	return binary.BigEndian.AppendUint16(dst, uint16(h.Length))
}

// IsBlank reports whether b (the first bytes of a slot) does not start with
// the envelope magic: a slot that was never written.
func IsBlank(b []byte) bool {
	return len(b) < 2 || b[0] != envelopeMagic[0] || b[1] != envelopeMagic[1]
}

// ParseHeader decodes the header at the start of b. It checks the format
// only; whether the envelope is authentic is known after OpenEnvelope.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: header of %d bytes, need %d", errMalformed, len(b), HeaderLen)
	}
	if IsBlank(b) {
		return Header{}, fmt.Errorf("%w: no envelope magic", errMalformed)
	}
	if b[2] != Format01 && b[2] != Format02 {
		return Header{}, fmt.Errorf("%w: envelope format %02X, want %02X or %02X", errMalformed, b[2], Format02, Format01)
	}
	n := int(b[3])
	if n == 0 || n > MaxKeyIDLen {
		return Header{}, fmt.Errorf("%w: key ID length %d, want 1 to %d", errMalformed, n, MaxKeyIDLen)
	}
	id := string(b[4 : 4+n])
	if !validKeyID(id) {
		return Header{}, fmt.Errorf("%w: key ID is not printable ASCII", errMalformed)
	}
	for _, c := range b[4+n : 20] {
		if c != 0 {
			return Header{}, fmt.Errorf("%w: key ID field not zero-padded", errMalformed)
		}
	}
	h := Header{
		Format:     b[2],
		KeyID:      id,
		KeyVersion: binary.BigEndian.Uint32(b[20:24]),
		Generation: binary.BigEndian.Uint32(b[24:28]),
		Length:     int(binary.BigEndian.Uint16(b[40:42])),
	}
	copy(h.Nonce[:], b[28:40])
	if h.KeyVersion == 0 {
		return Header{}, fmt.Errorf("%w: key version 0", errMalformed)
	}
	if h.Generation == 0 {
		return Header{}, fmt.Errorf("%w: generation 0", errMalformed)
	}
	return h, nil
}

// Binding is what an envelope is bound to: the card, the AP and the file.
type Binding struct {
	CUID profile.CUID // the card's unique identifier
	AID  profile.AID  // the AP's AID
	FID  uint16       // the file identifier of EF.Data
}

func (b Binding) appendAAD(dst, header []byte) []byte {
	dst = append(dst, header...)
	dst = append(dst, b.CUID[:]...)
	dst = append(dst, b.AID...)
	return binary.BigEndian.AppendUint16(dst, b.FID)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != DataKeyLen {
		return nil, fmt.Errorf("%w: data key of %d bytes, need %d (AES-256)", ErrKey, len(key), DataKeyLen)
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return cipher.NewGCM(blk)
}

// SealEnvelope encrypts plaintext under the 32-byte per-card data key and
// returns the whole envelope. rand supplies the 12-byte nonce
// (crypto/rand.Reader in production). h.Nonce and h.Length are filled in by
// SealEnvelope; h.Format 0 is Format02, and key must then have been derived
// under keys.DataKeyLabel (AP.Write does all this).
func SealEnvelope(key []byte, h Header, bind Binding, plaintext []byte, rand io.Reader) ([]byte, error) {
	if h.Format == 0 {
		h.Format = Format02
	}
	if h.Format != Format01 && h.Format != Format02 {
		return nil, fmt.Errorf("%w: envelope format %02X", ErrKey, h.Format)
	}
	if !validKeyID(h.KeyID) {
		return nil, fmt.Errorf("%w: key ID must be 1 to %d printable ASCII bytes", ErrKey, MaxKeyIDLen)
	}
	if h.KeyVersion == 0 || h.Generation == 0 {
		return nil, fmt.Errorf("%w: key version and generation must be at least 1", ErrKey)
	}
	if len(plaintext) > 0xFFFF {
		return nil, &CapacityError{Need: len(plaintext) + Overhead, Have: 0xFFFF + Overhead}
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rand, h.Nonce[:]); err != nil {
		return nil, fmt.Errorf("typed: nonce: %w", err)
	}
	h.Length = len(plaintext)
	out := make([]byte, 0, h.EnvelopeLen())
	out = h.appendTo(out)
	aad := bind.appendAAD(make([]byte, 0, HeaderLen+profile.CUIDLen+len(bind.AID)+2), out[:HeaderLen])
	return aead.Seal(out, h.Nonce[:], plaintext, aad), nil
}

// OpenEnvelope parses and decrypts an envelope (trailing bytes after it are
// ignored: they are the rest of its slot). It fails with errMalformed for a
// bad header or a truncated envelope, and ErrAuthentication when the GCM
// tag does not verify: wrong key, or data copied from another card, AP or
// file, or a torn write.
func OpenEnvelope(key []byte, bind Binding, env []byte) (Header, []byte, error) {
	h, err := ParseHeader(env)
	if err != nil {
		return Header{}, nil, err
	}
	if len(env) < h.EnvelopeLen() {
		return Header{}, nil, fmt.Errorf("%w: envelope of %d bytes announced, %d present", errMalformed, h.EnvelopeLen(), len(env))
	}
	aead, err := newGCM(key)
	if err != nil {
		return Header{}, nil, err
	}
	aad := bind.appendAAD(make([]byte, 0, HeaderLen+profile.CUIDLen+len(bind.AID)+2), env[:HeaderLen])
	pt, err := aead.Open(nil, h.Nonce[:], env[HeaderLen:h.EnvelopeLen()], aad)
	if err != nil {
		return Header{}, nil, fmt.Errorf("%w (key %q version %d, generation %d)", ErrAuthentication, h.KeyID, h.KeyVersion, h.Generation)
	}
	return h, pt, nil
}
