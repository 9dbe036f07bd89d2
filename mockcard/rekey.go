package mockcard

import (
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// Rekey in place (docs/PROTOCOL.md §5.4), two PUT DATA commands (ISO/IEC
// 7816-4 §11.4.8; P1-P2 is the data object's tag), both under secure
// messaging with the administrative key authenticated (else 6982):
//
//	0C DA 00 C3 Lc  C1 01 vv {A0 L 83 01 ref 80 L K_enc 81 L K_mac}...
//	    stages key set vv in the AP's shadow (replacing any staged set):
//	    vv newer than the AP's set, every key object of the AP exactly
//	    once, each key of its suite's length (else 6A80). The active keys
//	    are untouched.
//	0C DA 00 C1 01  vv
//	    commits the staged set vv in one step: the AP's keys become the
//	    staged ones (failure counters at their limit), the AP announces
//	    vv, the shadow is emptied. No staged set of version vv: 6A88. The
//	    answer is protected under the session, which then ends (the keys
//	    it was opened with are gone).
//
// The card's persistent state changes atomically per APDU, so a removal
// at any APDU leaves the AP with its old keys (before the commit) or its
// new ones (after it), never a mix.

// cmdPutData is PUT DATA of the key-set objects C3 (stage) and C1
// (commit).
func (c *Card) cmdPutData(cmd apdu.Command, sm bool) res {
	if c.cur == nil {
		return swOnly(apdu.ErrConditionsOfUseNotSatisfied)
	}
	a := c.cur
	if cmd.P1 != 0x00 || (cmd.P2 != profile.TagStagedKeySet && cmd.P2 != profile.TagKeySetVersion) {
		return swOnly(apdu.ErrReferencedDataNotFound)
	}
	if a.adminKey == 0 || !c.allowed(AllOf(Authenticated(a.adminKey), SecureMessaging()), sm) {
		return swOnly(apdu.ErrSecurityStatusNotSatisfied)
	}
	if cmd.P2 == profile.TagStagedKeySet {
		return c.stageKeySet(a, cmd.Data)
	}
	return c.commitKeySet(a, cmd.Data)
}

// current returns the AP's key-set version: the one it announces, 1 when
// it announces none.
func (a *app) current() int { return max(a.keySet, profile.DefaultKeySet) }

// stageKeySet parses and checks the value of C3 and stages it.
func (c *Card) stageKeySet(a *app, data []byte) res {
	set, err := parseStaged(data)
	if err == nil {
		err = a.checkStaged(set)
	}
	if err != nil {
		set.wipe()
		return swOnly(apdu.ErrIncorrectDataField)
	}
	a.staged.wipe()
	a.staged = set
	return swOnly(apdu.SWSuccess)
}

// parseStaged decodes C1 01 vv and the A0 templates of a staged set. The
// result holds copies of the keys (data is the command's buffer).
func parseStaged(data []byte) (*stagedSet, error) {
	set := &stagedSet{keys: map[byte]stagedKey{}}
	for o, err := range apdu.BERObjects(data) {
		if err != nil {
			return set, err
		}
		switch o.Tag {
		case profile.TagKeySetVersion:
			if set.version != 0 || len(o.Value) != 1 || o.Value[0] == 0 {
				return set, fmt.Errorf("bad or repeated C1")
			}
			set.version = int(o.Value[0])
		case 0xA0:
			ref, k, err := parseStagedKey(o.Value)
			if err != nil {
				return set, err
			}
			if _, dup := set.keys[ref]; dup {
				k.wipe()
				return set, fmt.Errorf("key %02X twice", ref)
			}
			set.keys[ref] = k
		default:
			return set, fmt.Errorf("unknown tag %s", o.Tag)
		}
	}
	if set.version == 0 {
		return set, fmt.Errorf("no C1")
	}
	return set, nil
}

// parseStagedKey decodes 83 01 ref 80 L K_enc 81 L K_mac.
func parseStagedKey(v []byte) (byte, stagedKey, error) {
	var (
		ref      byte
		k        stagedKey
		has      = map[apdu.Tag]bool{}
		badField = fmt.Errorf("bad key template")
	)
	for o, err := range apdu.BERObjects(v) {
		if err != nil || has[o.Tag] {
			k.wipe()
			return 0, stagedKey{}, badField
		}
		has[o.Tag] = true
		switch o.Tag {
		case 0x83:
			if len(o.Value) != 1 || o.Value[0] == 0 {
				k.wipe()
				return 0, stagedKey{}, badField
			}
			ref = o.Value[0]
		case 0x80:
			k.enc = append([]byte(nil), o.Value...)
		case 0x81:
			k.mac = append([]byte(nil), o.Value...)
		default:
			k.wipe()
			return 0, stagedKey{}, badField
		}
	}
	if ref == 0 || k.enc == nil || k.mac == nil {
		k.wipe()
		return 0, stagedKey{}, badField
	}
	return ref, k, nil
}

func (k stagedKey) wipe() {
	clear(k.enc)
	clear(k.mac)
}

// checkStaged checks a staged set against the AP: a version newer than
// the AP's, every key object exactly once (no other), each half of its
// suite's length.
func (a *app) checkStaged(set *stagedSet) error {
	if set.version <= a.current() || set.version > profile.MaxKeySet {
		return fmt.Errorf("version %d not newer than %d", set.version, a.current())
	}
	if len(set.keys) != len(a.keys) {
		return fmt.Errorf("%d keys for %d key objects", len(set.keys), len(a.keys))
	}
	for _, o := range a.keys {
		k, ok := set.keys[o.ref]
		if !ok {
			return fmt.Errorf("key %02X missing", o.ref)
		}
		if len(k.enc) != len(o.enc) || len(k.mac) != len(o.mac) {
			return fmt.Errorf("key %02X of the wrong length", o.ref)
		}
	}
	return nil
}

// commitKeySet makes the staged set of version data[0] the AP's keys, in
// one step, and ends the security state.
func (c *Card) commitKeySet(a *app, data []byte) res {
	if len(data) != 1 {
		return swOnly(apdu.ErrWrongLength)
	}
	if a.staged == nil || a.staged.version != int(data[0]) {
		return swOnly(apdu.ErrReferencedDataNotFound)
	}
	for _, o := range a.keys {
		k := a.staged.keys[o.ref]
		clear(o.enc)
		clear(o.mac)
		o.enc, o.mac, o.left = k.enc, k.mac, o.max
	}
	a.keySet, a.staged = int(data[0]), nil
	// The session was opened with keys that are gone: it ends. Its
	// answer is still protected with it (c.wrapWith, see process).
	c.dropSecurity()
	return swOnly(apdu.SWSuccess)
}
