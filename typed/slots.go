package typed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
)

// The tearing-safe layout (docs/PROTOCOL.md §7.4). EF.Data of capacity C
// bytes is split into two slots of S = floor(C/2) bytes at offsets 0 and
// S. Each slot holds one envelope (or is blank: no "FD" magic). The
// current data is the authentic envelope with the highest generation. A
// write seals the new data with generation g+1 into the slot that does NOT
// hold the current envelope, so the current envelope is never touched:
//
//   - torn before the first byte: the target slot is unchanged (blank, or
//     an older envelope with a lower generation): the old data wins;
//   - torn after k bytes of the envelope, 0 < k < len: the target slot is a
//     mix of new and stale bytes; its GCM tag (which covers the header with
//     the generation, the ciphertext and the binding) fails, so the reader
//     falls back to the untouched old envelope;
//   - torn after the last byte (the card removed before answering): the new
//     envelope is complete and authentic with the highest generation: the
//     new data wins.
//
// In no case is the result garbage (GCM) or "no data" (the old slot is
// untouched). A newest envelope under a key the reader refuses or lacks is
// reported (*DataKeyError, *KeyVersionError), never skipped for an older
// one. A fallback to the older slot is always reported (state.fallback):
// it is what a torn write leaves, and also what a damaged or forged newer
// slot looks like.

// binFile is a transparent EF as the slot logic sees it.
type binFile interface {
	// readAt returns up to n bytes at off; fewer only at the end of the
	// file (nothing past it).
	readAt(ctx context.Context, off, n int) ([]byte, error)
	// writeAt writes b at off.
	writeAt(ctx context.Context, off int, b []byte) error
	// readChunk is the largest number of bytes one read returns.
	readChunk() int
}

// keyFunc returns the 32-byte per-card data key that opens an envelope
// with header h, or a *DataKeyError when the terminal does not accept the
// key h names.
type keyFunc func(ctx context.Context, h Header) ([]byte, error)

// layout is the two-slot layout of an EF of the given capacity.
type layout struct{ capacity int }

func (l layout) slotSize() int       { return l.capacity / 2 }
func (l layout) offset(slot int) int { return slot * l.slotSize() }

// maxPlaintext is the largest plaintext one slot holds.
func (l layout) maxPlaintext() int { return max(0, min(l.slotSize()-Overhead, math.MaxUint16)) }

// slotState is what the reader learnt of one slot.
type slotState struct {
	blank  bool
	hdr    Header
	hdrErr error // header unparsable or envelope longer than the slot
	head   []byte
	// openErr is why the envelope did not open, when it was tried.
	openErr error
}

// state is the result of reading both slots.
type state struct {
	slots   [2]slotState
	current int // slot of the current envelope, -1 if none
	hdr     Header
	plain   []byte
	// why is the reason there is no current envelope: ErrNoData,
	// ErrAuthentication, errMalformed, a *DataKeyError or a
	// *KeyVersionError.
	why error
	// fallback, when current >= 0: the other slot may hold newer data but
	// does not open.
	fallback *Fallback
}

// loadState reads both slots and opens the newest authentic envelope.
// Only transport and context errors are returned as errors; the card's
// data problems end up in state.why.
func loadState(ctx context.Context, f binFile, l layout, keys keyFunc, bind Binding) (*state, error) {
	st := &state{current: -1}
	if err := readHeads(ctx, f, l, st); err != nil {
		return nil, err
	}
	order := []int{0, 1}
	if st.slots[1].hdr.Generation > st.slots[0].hdr.Generation {
		order = []int{1, 0}
	}
	var firstErr error
	for _, i := range order {
		s := &st.slots[i]
		if s.blank {
			continue
		}
		if s.hdrErr != nil {
			if firstErr == nil {
				firstErr = s.hdrErr
			}
			continue
		}
		key, keyErr, err := slotKey(ctx, keys, s.hdr)
		if err != nil {
			return nil, err
		}
		if keyErr != nil {
			// The newest envelope is under a key the terminal refuses or
			// lacks: reported, never skipped for an older one.
			st.why = keyErr
			return st, nil
		}
		env, err := readEnvelope(ctx, f, l.offset(i), s)
		if err != nil {
			clear(key)
			return nil, err
		}
		h, pt, err := OpenEnvelope(key, bind, env)
		clear(key)
		s.openErr = err
		if err != nil {
			if firstErr == nil || errors.Is(err, ErrAuthentication) && !errors.Is(firstErr, ErrAuthentication) {
				firstErr = err
			}
			continue
		}
		st.current, st.hdr, st.plain = i, h, pt
		st.fallback = otherSlotSkipped(st, 1-i)
		return st, nil
	}
	switch {
	case firstErr != nil:
		st.why = firstErr
	default:
		st.why = ErrNoData
	}
	return st, nil
}

// readHeads reads the first chunk of each slot into st.slots and parses
// its header: a slot is blank (no envelope magic), or has a header, or a
// header error (unparsable, or an envelope longer than the slot).
func readHeads(ctx context.Context, f binFile, l layout, st *state) error {
	ss := l.slotSize()
	headLen := min(f.readChunk(), ss)
	for i := range st.slots {
		head, err := f.readAt(ctx, l.offset(i), headLen)
		if err != nil {
			return err
		}
		s := &st.slots[i]
		s.head = head
		if IsBlank(head) {
			s.blank = true
			continue
		}
		s.hdr, s.hdrErr = ParseHeader(head)
		if s.hdrErr == nil && s.hdr.EnvelopeLen() > ss {
			s.hdrErr = fmt.Errorf("%w: envelope of %d bytes in a slot of %d", errMalformed, s.hdr.EnvelopeLen(), ss)
		}
	}
	return nil
}

// slotKey returns the data key for an envelope with header h. keyErr is
// the terminal's refusal of the key h names (a *DataKeyError, or any other
// failure as a *KeyVersionError); err is the context's error when it is
// done.
func slotKey(ctx context.Context, keys keyFunc, h Header) (key []byte, keyErr, err error) {
	key, kerr := keys(ctx, h)
	if kerr == nil {
		return key, nil, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, nil, ctxErr
	}
	var dk *DataKeyError
	if errors.As(kerr, &dk) {
		return nil, kerr, nil
	}
	return nil, &KeyVersionError{KeyID: h.KeyID, Version: h.KeyVersion, Err: kerr}, nil
}

// readEnvelope returns the whole envelope of slot s at offset off: its
// head, and the rest of the bytes its header announces, read from the EF.
func readEnvelope(ctx context.Context, f binFile, off int, s *slotState) ([]byte, error) {
	env := s.head
	n := s.hdr.EnvelopeLen()
	if len(env) >= n {
		return env, nil
	}
	rest, err := readFull(ctx, f, off+len(env), n-len(env))
	if err != nil {
		return nil, err
	}
	return append(env[:len(env):len(env)], rest...), nil
}

// otherSlotSkipped reports the slot o, which the read did not use, when it
// may hold newer data: a header that claims a generation at least the
// current one's (so it was tried and failed), a header with the magic that
// does not parse, or a slot without the magic whose first bytes are not
// all 00 or all FF (a damaged magic). A blank slot, or an intact header of
// an older generation, is not a fallback.
func otherSlotSkipped(st *state, o int) *Fallback {
	s := &st.slots[o]
	switch {
	case s.blank && erased(s.head):
		return nil
	case s.blank:
		return &Fallback{Slot: o, Err: fmt.Errorf("%w: slot %d holds data without the envelope magic", errMalformed, o)}
	case s.hdrErr != nil:
		return &Fallback{Slot: o, Err: s.hdrErr}
	case s.hdr.Generation >= st.hdr.Generation:
		err := s.openErr
		if err == nil {
			err = fmt.Errorf("%w: slot %d claims generation %d, not below the current %d", errMalformed, o, s.hdr.Generation, st.hdr.Generation)
		}
		return &Fallback{Slot: o, Generation: s.hdr.Generation, Err: err}
	}
	return nil
}

// erased reports whether b is all 00 or all FF (an EF never written).
func erased(b []byte) bool {
	for _, c := range b {
		if c != b[0] {
			return false
		}
	}
	return len(b) == 0 || b[0] == 0x00 || b[0] == 0xFF
}

// readFull reads n bytes at off in chunks. A short file gives errMalformed
// (an envelope announced past the end of the EF).
func readFull(ctx context.Context, f binFile, off, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	for len(out) < n {
		b, err := f.readAt(ctx, off+len(out), min(n-len(out), f.readChunk()))
		if err != nil {
			return nil, err
		}
		if len(b) == 0 {
			return out, nil
		}
		out = append(out, b...)
	}
	return out, nil
}

// sealed is a new envelope and where it goes.
type sealed struct {
	slot int
	env  []byte
	hdr  Header
}

// planWrite checks the capacity, chooses the target slot and generation
// and seals the plaintext. It writes nothing. overwrite allows replacing
// envelopes that cannot be opened (a torn first write, personalization).
func planWrite(st *state, l layout, key []byte, keyID string, version uint32, bind Binding, plaintext []byte, rand io.Reader, overwrite bool) (sealed, error) {
	if err := CheckCapacity(l.capacity, len(plaintext)); err != nil {
		return sealed{}, err
	}
	target, gen := 0, uint32(1)
	switch {
	case st.current >= 0:
		target, gen = 1-st.current, st.hdr.Generation
		if gen == math.MaxUint32 {
			return sealed{}, ErrGenerationExhausted
		}
		gen++
	case errors.Is(st.why, ErrNoData):
	case overwrite:
		// Nothing readable: take the slot whose header (if any) has the
		// lower generation and go above every generation seen.
		for _, s := range st.slots {
			if s.hdr.Generation >= gen {
				gen = s.hdr.Generation
				if gen == math.MaxUint32 {
					return sealed{}, ErrGenerationExhausted
				}
				gen++
			}
		}
		if st.slots[1].hdr.Generation < st.slots[0].hdr.Generation {
			target = 1
		}
	default:
		return sealed{}, fmt.Errorf("%w: %w", ErrUnreadableSlots, st.why)
	}
	env, err := SealEnvelope(key, Header{Format: Format02, KeyID: keyID, KeyVersion: version, Generation: gen}, bind, plaintext, rand)
	if err != nil {
		return sealed{}, err
	}
	h, _ := ParseHeader(env)
	return sealed{slot: target, env: env, hdr: h}, nil
}

// writeChunks writes b at off in pieces of at most chunk bytes.
func writeChunks(ctx context.Context, f binFile, off int, b []byte, chunk int) error {
	for p := 0; p < len(b); p += chunk {
		if err := f.writeAt(ctx, off+p, b[p:min(len(b), p+chunk)]); err != nil {
			return err
		}
	}
	return nil
}
