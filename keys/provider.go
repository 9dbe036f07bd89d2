package keys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/mynacard/freespace/internal/cryptoprim"
)

// Provider gives keys by reference and diversifies master keys for a card.
// Implementations: Store (in memory, and the file keystore LoadFile),
// Env (environment variables); an HSM implementation would keep the master
// key inside and run Diversify there.
type Provider interface {
	// Key returns the key ref names (Version 0: the latest version).
	Key(ctx context.Context, ref KeyRef) (Key, error)
	// Diversify derives the card key of the card with the given CUID
	// (16 bytes) and AP (aid, 5..16 bytes) from the master key ref.
	Diversify(ctx context.Context, ref KeyRef, cuid, aid []byte) (Key, error)
}

// DiversificationLabel is the SP 800-108 Label of card-key diversification.
const DiversificationLabel = "freespace card key"

// CUIDLen is the length of a card-unique identifier.
const CUIDLen = 16

// Diversify derives a card key from master (NIST SP 800-108 counter-mode
// KDF, PRF = CMAC with master's cipher, 32-bit counter before the fixed
// input Label || 00 || CUID || AID || [L]_32). The card key has the
// algorithm and length of the master key; 3DES card keys get DES parity.
func Diversify(master Key, cuid, aid []byte) (Key, error) {
	return diversify(master, DiversificationLabel, cuid, aid)
}

// diversify is the SP 800-108 derivation under label.
func diversify(master Key, label string, cuid, aid []byte) (Key, error) {
	if len(cuid) != CUIDLen {
		return Key{}, fmt.Errorf("%w: CUID of %d bytes, want %d", ErrInvalidInput, len(cuid), CUIDLen)
	}
	if len(aid) < 5 || len(aid) > 16 {
		return Key{}, fmt.Errorf("%w: AID of %d bytes, want 5..16", ErrInvalidInput, len(aid))
	}
	var b cipher.Block
	var err error
	switch master.Algorithm() {
	case AES:
		b, err = aes.NewCipher(master.Bytes())
	case TDES:
		b, err = cryptoprim.NewTDES(master.Bytes())
	default:
		return Key{}, fmt.Errorf("%w: empty or unknown master key", ErrInvalidKey)
	}
	if err != nil {
		return Key{}, fmt.Errorf("%w: master key of %d bytes", ErrInvalidKey, master.Len())
	}
	ctxData := make([]byte, 0, len(cuid)+len(aid))
	ctxData = append(append(ctxData, cuid...), aid...)
	n := master.Len()
	out, err := cryptoprim.KDFCounterCMAC(b, cryptoprim.FixedInput([]byte(label), ctxData, n), n)
	if err != nil {
		return Key{}, err
	}
	if master.Algorithm() == TDES {
		cryptoprim.SetDESParity(out)
	}
	return newKeyState(master.Algorithm(), out), nil
}

// Store is an in-memory Provider of named, versioned keys; LoadFile fills
// one from a key file. It is safe for concurrent use.
type Store struct {
	mu   sync.RWMutex
	keys map[string]map[int]Key
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{keys: map[string]map[int]Key{}} }

// Add stores k under ref (Version must be ≥ 1), replacing any earlier key
// with the same name and version. The Store keeps k's bytes.
func (s *Store) Add(ref KeyRef, k Key) error {
	if ref.Name == "" || ref.Version < 1 {
		return fmt.Errorf("%w: key reference needs a name and a version ≥ 1", ErrInvalidKey)
	}
	if k.Algorithm() == 0 || k.Len() == 0 {
		return fmt.Errorf("%w: empty key for %s", ErrInvalidKey, ref)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[ref.Name] == nil {
		s.keys[ref.Name] = map[int]Key{}
	}
	s.keys[ref.Name][ref.Version] = k
	return nil
}

// Versions lists the versions stored under name, ascending.
func (s *Store) Versions(name string) []int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var v []int
	for n := range s.keys[name] {
		v = append(v, n)
	}
	sort.Ints(v)
	return v
}

// has reports whether ref (Version ≥ 1) is stored, touching no key bytes.
func (s *Store) has(ref KeyRef) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.keys[ref.Name][ref.Version]
	return ok
}

// Key implements Provider. It returns a copy the caller may Zero.
func (s *Store) Key(ctx context.Context, ref KeyRef) (Key, error) {
	if err := ctx.Err(); err != nil {
		return Key{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	vs := s.keys[ref.Name]
	v := ref.Version
	if v == 0 {
		for n := range vs {
			v = max(v, n)
		}
	}
	k, ok := vs[v]
	if !ok {
		return Key{}, fmt.Errorf("%w: %s", ErrKeyNotFound, ref)
	}
	return newKeyState(k.Algorithm(), append([]byte(nil), k.Bytes()...)), nil
}

// Diversify implements Provider.
func (s *Store) Diversify(ctx context.Context, ref KeyRef, cuid, aid []byte) (Key, error) {
	m, err := s.Key(ctx, ref)
	if err != nil {
		return Key{}, err
	}
	defer m.Zero()
	return Diversify(m, cuid, aid)
}

// Zero wipes every stored key.
func (s *Store) Zero() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, vs := range s.keys {
		for _, k := range vs {
			k.Zero()
		}
	}
}

// DataKeyLabel is the SP 800-108 Label under which per-card data keys are
// derived (typed envelope format 02, docs/PROTOCOL.md §5.1 and §7.3). It
// differs from DiversificationLabel, so a data key never equals a card key
// even when both come from the same master key bytes.
const DataKeyLabel = "freespace data key"

// maxLabel bounds a diversification Label.
const maxLabel = 64

// DiversifyLabel is Diversify with another SP 800-108 Label: the label names
// the purpose of the derived key (DiversificationLabel for card keys,
// DataKeyLabel for data keys), so keys of different purposes are
// independent even under one master key. label is 1 to 64 bytes without
// 00 (the separator of the fixed input).
func DiversifyLabel(master Key, label string, cuid, aid []byte) (Key, error) {
	if len(label) == 0 || len(label) > maxLabel || strings.IndexByte(label, 0) >= 0 {
		return Key{}, fmt.Errorf("%w: label of %d bytes, want 1 to %d bytes without 00", ErrInvalidInput, len(label), maxLabel)
	}
	return diversify(master, label, cuid, aid)
}

// LabelDiversifier is a Provider that derives keys under a purpose label
// itself (an HSM that keeps its master keys inside). Store and Env
// implement it; DiversifyFor uses it when a Provider has it.
type LabelDiversifier interface {
	// DiversifyLabel derives the key of ref for the card and AP under
	// label, as the package function DiversifyLabel does.
	DiversifyLabel(ctx context.Context, ref KeyRef, label string, cuid, aid []byte) (Key, error)
}

// DiversifyFor derives the key of ref for a card and AP under label from
// p: with p's own DiversifyLabel when p is a LabelDiversifier, with
// p.Diversify for DiversificationLabel, otherwise from the master key
// p.Key returns (wiped after use).
func DiversifyFor(ctx context.Context, p Provider, ref KeyRef, label string, cuid, aid []byte) (Key, error) {
	if ld, ok := p.(LabelDiversifier); ok {
		return ld.DiversifyLabel(ctx, ref, label, cuid, aid)
	}
	if label == DiversificationLabel {
		return p.Diversify(ctx, ref, cuid, aid)
	}
	m, err := p.Key(ctx, ref)
	if err != nil {
		return Key{}, err
	}
	defer m.Zero()
	return DiversifyLabel(m, label, cuid, aid)
}

// DiversifyLabel implements LabelDiversifier.
func (s *Store) DiversifyLabel(ctx context.Context, ref KeyRef, label string, cuid, aid []byte) (Key, error) {
	m, err := s.Key(ctx, ref)
	if err != nil {
		return Key{}, err
	}
	defer m.Zero()
	return DiversifyLabel(m, label, cuid, aid)
}
