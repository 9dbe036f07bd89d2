package apsession

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
)

// Card-key sets (docs/PROTOCOL.md §5.3): the card announces the version
// of its keys in the FCI of SELECT (A5 { C1 01 vv }); the session takes
// every key of the AP at exactly that version, after the terminal's
// policy (Config.KeySets) accepted it. The card only chooses among the
// versions the terminal accepts, and no key is ever taken from another
// version or tried after a failure with another.

// ErrMalformedKeySet: the FCI's key-set version object breaks the profile
// (not one byte, zero, repeated). It matches profile.ErrMalformed.
var ErrMalformedKeySet = fmt.Errorf("%w: FCI key-set version", profile.ErrMalformed)

// keySetFromFCI finds A5 { C1 01 vv } in an FCI template 6F: ok is false
// when the FCI has no version (a card of profile 2.0). Tags inside A5
// other than C1 are ignored.
func keySetFromFCI(fci []byte) (v int, ok bool, err error) {
	if len(fci) == 0 {
		return 0, false, nil
	}
	obj, _, err := apdu.ParseBER(fci)
	if err != nil || obj.Tag != 0x6F {
		return 0, false, fmt.Errorf("%w: FCI is not a 6F template", ErrMalformedKeySet)
	}
	var prop []byte
	seen := false
	for o, err := range apdu.BERObjects(obj.Value) {
		if err != nil {
			return 0, false, fmt.Errorf("%w: FCI: %v", ErrMalformedKeySet, err)
		}
		if o.Tag == profile.TagFCIProprietary {
			if seen {
				return 0, false, fmt.Errorf("%w: FCI holds A5 twice", ErrMalformedKeySet)
			}
			prop, seen = o.Value, true
		}
	}
	for o, err := range apdu.BERObjects(prop) {
		if err != nil {
			return 0, false, fmt.Errorf("%w: A5: %v", ErrMalformedKeySet, err)
		}
		if o.Tag != profile.TagKeySetVersion {
			continue // another proprietary object (the test-card marker C2, ...)
		}
		if ok {
			return 0, false, fmt.Errorf("%w: C1 twice", ErrMalformedKeySet)
		}
		if len(o.Value) != 1 || o.Value[0] == 0 {
			return 0, false, fmt.Errorf("%w: C1 of %d bytes (want one byte 01 to FF)", ErrMalformedKeySet, len(o.Value))
		}
		v, ok = int(o.Value[0]), true
	}
	return v, ok, nil
}

// resolveKeySet sets the session's key-set version from the SELECT's
// FCI: the announced version, or the policy's default when the card
// announces none. The policy must accept it, and the key provider must
// hold it: no master key of the version is KeySetUnknown, a card key
// with only one of its halves at the version is KeySetIncomplete (when
// the provider can list versions; otherwise the first key it lacks is
// reported so when it is needed). A session without keys (Type C) skips
// all this.
func (s *Session) resolveKeySet(ctx context.Context, fci []byte, cuid profile.CUID) error {
	if s.cfg.Keys == nil {
		return nil
	}
	v, announced, err := keySetFromFCI(fci)
	if err != nil {
		return err
	}
	if !announced {
		v = s.cfg.KeySets.DefaultVersion()
	}
	if err := s.cfg.KeySets.Check(s.cfg.AID, v, !announced); err != nil {
		return withCUID(err, cuid)
	}
	if err := s.checkSet(ctx, v, !announced); err != nil {
		return withCUID(err, cuid)
	}
	s.keySet, s.keySetDefault = v, !announced
	return nil
}

// withCUID sets the CUID of a *profile.KeySetError.
func withCUID(err error, cuid profile.CUID) error {
	var ke *profile.KeySetError
	if errors.As(err, &ke) {
		ke.CUID = cuid
	}
	return err
}

// checkSet checks, with a provider that lists versions, that every card
// key of the AP (Config.CardKeys) has both halves or neither at version v,
// and that at least one has both. A provider that cannot list is checked
// when a key is derived (diversify).
func (s *Session) checkSet(ctx context.Context, v int, dflt bool) error {
	if len(s.cfg.CardKeys) == 0 {
		return nil
	}
	st, err := keys.CheckSet(ctx, s.cfg.Keys, keys.SetKeys(s.cfg.CardKeys), v)
	if errors.Is(err, keys.ErrNoVersionList) {
		return nil
	}
	if err != nil {
		return err
	}
	e := &profile.KeySetError{AID: s.cfg.AID, Version: v, Default: dflt, Err: keys.ErrKeyNotFound}
	if len(st.Present) == 0 {
		e.Reason = profile.KeySetUnknown
		return e
	}
	complete := false
	for _, k := range s.cfg.CardKeys {
		enc, mac := hasAt(st, k.Enc.Name), hasAt(st, k.Mac.Name)
		switch {
		case enc && mac:
			complete = true
		case enc:
			e.Missing = append(e.Missing, keys.KeyRef{Name: k.Mac.Name, Version: v}.String())
		case mac:
			e.Missing = append(e.Missing, keys.KeyRef{Name: k.Enc.Name, Version: v}.String())
		}
	}
	switch {
	case len(e.Missing) > 0:
		e.Reason = profile.KeySetIncomplete
	case !complete:
		e.Reason = profile.KeySetUnknown
	default:
		return nil
	}
	return e
}

func hasAt(st keys.SetStatus, name string) bool {
	for _, n := range st.Present {
		if n == name {
			return true
		}
	}
	return false
}

// KeySet returns the card-key set version the session uses: the one the
// card announced, or the configured default for a card that announces
// none (0 for a session without keys).
func (s *Session) KeySet() int {
	if s == nil {
		return 0
	}
	return s.keySet
}

// KeySetDefault reports whether the card announced no key-set version
// and KeySet is the configured default.
func (s *Session) KeySetDefault() bool { return s != nil && s.keySetDefault }

// diversify derives the card key half ref of key set v for this card. A
// master key the provider lacks at v is a *profile.KeySetError
// (KeySetIncomplete): no other version is ever tried.
func (s *Session) diversify(ctx context.Context, ref keys.KeyRef, v int) (keys.Key, error) {
	ref.Version = v
	k, err := s.cfg.Keys.Diversify(ctx, ref, s.cuid[:], s.cfg.AID)
	if errors.Is(err, keys.ErrKeyNotFound) {
		return keys.Key{}, &profile.KeySetError{AID: s.cfg.AID, CUID: s.cuid, Version: v, Default: s.keySetDefault && v == s.keySet,
			Reason: profile.KeySetIncomplete, Missing: []string{ref.String()}, Err: err}
	}
	return k, err
}

// cardKeys derives both halves of k in key set v and checks their
// length against the suite.
func (s *Session) cardKeys(ctx context.Context, k CardKey, v int) (enc, mac keys.Key, err error) {
	enc, err = s.diversify(ctx, k.Enc, v)
	if err != nil {
		return keys.Key{}, keys.Key{}, fmt.Errorf("key %s for key reference %02X: %w", k.Enc.Name, k.Ref, err)
	}
	mac, err = s.diversify(ctx, k.Mac, v)
	if err != nil {
		enc.Zero()
		return keys.Key{}, keys.Key{}, fmt.Errorf("key %s for key reference %02X: %w", k.Mac.Name, k.Ref, err)
	}
	if n := s.cfg.Suite.KeyLen(); enc.Len() != n || mac.Len() != n {
		enc.Zero()
		mac.Zero()
		return keys.Key{}, keys.Key{}, fmt.Errorf("%w: key reference %02X of key set %d: %d- and %d-byte keys, the suite %s needs %d",
			keys.ErrInvalidKey, k.Ref, v, enc.Len(), mac.Len(), s.cfg.Suite.Name(), n)
	}
	return enc, mac, nil
}

// Rekey loads key set to into the AP (docs/PROTOCOL.md §5.4): every card
// key of Config.CardKeys diversified from the version-to master keys,
// under secure messaging with the administrative key admin of the
// card's current set. PUT DATA C3 stages the new set in the card's
// shadow; PUT DATA C1 commits it in one APDU, which ends the session.
// Removal at any APDU leaves a card that authenticates under the old set
// or the new one. Rekey then selects the AP again, checks that the card
// announces version to and the same CUID, and authenticates admin under
// the new set: the session continues under it.
//
// Every new key is derived and checked (complete set, suite's key
// length, no key equal to the current set's) before the first APDU; the
// buffers holding them are wiped. A version not newer than the card's is
// profile.ErrKeySetNotNewer.
func (s *Session) Rekey(ctx context.Context, admin CardKey, to int) error {
	if s.cfg.Keys == nil || s.cfg.Suite == nil || len(s.cfg.CardKeys) == 0 {
		return errors.New("rekey needs a key provider, a cipher suite and the AP's card keys")
	}
	from := s.keySet
	if to < 1 || to > profile.MaxKeySet {
		return fmt.Errorf("%w: version %d, want 1 to %d", profile.ErrKeySetNotNewer, to, profile.MaxKeySet)
	}
	if to <= from {
		return fmt.Errorf("%w: the card holds key set %d, key set %d was requested", profile.ErrKeySetNotNewer, from, to)
	}
	// The new set must be one this terminal reads (the verification
	// below selects under the policy) and complete.
	if err := s.cfg.KeySets.Check(s.cfg.AID, to, false); err != nil {
		return withCUID(err, s.cuid)
	}
	if err := s.checkSet(ctx, to, false); err != nil {
		return withCUID(err, s.cuid)
	}
	data, err := s.stagedSet(ctx, to, from)
	if err != nil {
		return err
	}
	defer clear(data)
	if err := s.AuthenticateOnce(ctx, admin); err != nil {
		return err
	}
	// PUT DATA (ISO/IEC 7816-4 §11.4.8), P1-P2 = the data object's tag:
	// C3 the staged key set, C1 the key-set version (the commit).
	if _, err := s.ch.Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsPutData, P1: 0x00, P2: profile.TagStagedKeySet, Data: data}); err != nil {
		return fmt.Errorf("PUT DATA C3 (stage key set %d): %w", to, err)
	}
	if _, err := s.ch.Do(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsPutData, P1: 0x00, P2: profile.TagKeySetVersion, Data: []byte{byte(to)}}); err != nil {
		return fmt.Errorf("PUT DATA C1 (commit key set %d): %w", to, err)
	}
	// The commit ends the card's security state (its answer came under
	// the old session, which the card then closed).
	_ = s.Close()
	s.sm, s.key, s.resumeKey = nil, nil, nil
	c, err := s.selectAP(ctx)
	if err != nil {
		return err
	}
	if c != s.cuid {
		return fmt.Errorf("%w (expected %s, found %s)", ErrCardSwapped, s.cuid, c)
	}
	if s.keySet != to {
		return fmt.Errorf("%w: the card announces key set %d after committing key set %d", profile.ErrMalformed, s.keySet, to)
	}
	return s.authenticate(ctx, admin)
}

// stagedSet derives key set to for this card and encodes the value of
// PUT DATA C3 (docs/PROTOCOL.md §5.4):
//
//	C1 01 vv  { A0 L  83 01 ref  80 L K_enc  81 L K_mac }  per card key
//
// A new key equal to the same key of set from (the same master bytes
// under two versions) is refused. The caller wipes the result.
func (s *Session) stagedSet(ctx context.Context, to, from int) (_ []byte, err error) {
	n := s.cfg.Suite.KeyLen()
	// The set, plus the room BERBuilder.Begin reserves for a length
	// while a template is open (5 bytes), so nothing is reallocated.
	buf := make([]byte, 0, 3+len(s.cfg.CardKeys)*(2+3+2*(2+n))+5)
	defer func() {
		if err != nil {
			clear(buf[:cap(buf)])
		}
	}()
	var b apdu.BERBuilder
	b.Reset(buf)
	b.Add(apdu.Tag(profile.TagKeySetVersion), []byte{byte(to)})
	for _, k := range s.cfg.CardKeys {
		enc, mac, err := s.cardKeys(ctx, k, to)
		if err != nil {
			return nil, err
		}
		same, err := s.equalsCurrent(ctx, k, from, enc, mac)
		if err != nil {
			enc.Zero()
			mac.Zero()
			return nil, err
		}
		if same {
			enc.Zero()
			mac.Zero()
			return nil, fmt.Errorf("%w: key reference %02X of key set %d equals that of key set %d (the same master key bytes under two versions)",
				keys.ErrInvalidKey, k.Ref, to, from)
		}
		b.Begin(0xA0).Add(0x83, []byte{k.Ref}).Add(0x80, enc.Bytes()).Add(0x81, mac.Bytes()).End()
		enc.Zero()
		mac.Zero()
	}
	out, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	if cap(out) != cap(buf) {
		// Never reached: buf was sized for the whole set, so no key was
		// copied into a buffer this function does not wipe.
		clear(out)
		return nil, errors.New("staged key set outgrew its buffer")
	}
	return out, nil
}

// equalsCurrent reports whether enc or mac equals the same half of k in
// key set from, compared in constant time. A key of set from that the
// provider lacks compares unequal.
func (s *Session) equalsCurrent(ctx context.Context, k CardKey, from int, enc, mac keys.Key) (bool, error) {
	if from < 1 {
		return false, nil
	}
	for _, h := range []struct {
		ref keys.KeyRef
		key keys.Key
	}{{k.Enc, enc}, {k.Mac, mac}} {
		old, err := s.diversify(ctx, h.ref, from)
		if errors.Is(err, profile.ErrKeySet) {
			continue
		}
		if err != nil {
			return false, err
		}
		eq := subtle.ConstantTimeCompare(old.Bytes(), h.key.Bytes()) == 1
		old.Zero()
		if eq {
			return true, nil
		}
	}
	return false, nil
}
