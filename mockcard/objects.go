package mockcard

import (
	"bytes"
	"fmt"

	"github.com/mynacard/freespace/profile"
)

// ef is the live state of an elementary file.
type ef struct {
	spec    EFSpec // Data and Records of spec are not used after creation
	data    []byte
	records [][]byte
}

type pinObj struct {
	ref            byte
	value          []byte
	max, left      int
	minLen, maxLen int
	requireSM      bool // the PIN is accepted under secure messaging only
}

type keyObj struct {
	ref       byte
	suite     string
	enc, mac  []byte
	max, left int
}

// app is the live state of an AP (DF).
type app struct {
	name     string
	aid      profile.AID
	efs      []*ef
	pins     []*pinObj
	keys     []*keyObj
	life     Lifecycle
	seal     Condition
	adminKey byte
	keySet   int         // key-set version announced in the FCI, 0: none (keyset.go)
	staged   *stagedSet  // a staged, uncommitted key set (rekey.go)
	ext      apExtension // commands beyond the engine's (JPKI), nil: none
}

func (a *app) efByFID(fid uint16) *ef {
	for _, f := range a.efs {
		if f.spec.FID == fid {
			return f
		}
	}
	return nil
}

func (a *app) efBySFI(sfi byte) *ef {
	for _, f := range a.efs {
		if f.spec.SFI != 0 && f.spec.SFI == sfi {
			return f
		}
	}
	return nil
}

func (a *app) pin(ref byte) *pinObj {
	for _, p := range a.pins {
		if p.ref == ref {
			return p
		}
	}
	return nil
}

func (a *app) key(ref byte) *keyObj {
	for _, k := range a.keys {
		if k.ref == ref {
			return k
		}
	}
	return nil
}

func (a *app) access(f *ef) Access {
	if a.life == Operational {
		return f.spec.Operational
	}
	return f.spec.Personalization
}

func cfgErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

func (c *Card) findApp(aid []byte) *app {
	for _, a := range c.apps {
		if bytes.Equal(a.aid, aid) {
			return a
		}
	}
	return nil
}

// addAP validates spec and adds the AP; c.mu is held (or c is new).
func (c *Card) addAP(spec APSpec) error {
	if err := spec.AID.Validate(); err != nil {
		return cfgErr("AP %q: %v", spec.Name, err)
	}
	if c.findApp(spec.AID) != nil {
		return cfgErr("AP %q: AID %s already on the card", spec.Name, spec.AID)
	}
	if spec.Lifecycle != Personalization && spec.Lifecycle != Operational {
		return cfgErr("AP %q: lifecycle %d", spec.Name, spec.Lifecycle)
	}
	if err := checkKeySet(spec.KeySet); err != nil {
		return cfgErr("AP %q: %v", spec.Name, err)
	}
	a := &app{name: spec.Name, aid: append(profile.AID(nil), spec.AID...), life: spec.Lifecycle, seal: spec.Seal, adminKey: spec.AdminKey,
		keySet: spec.KeySet}
	for _, e := range spec.EFs {
		f, err := newEF(e)
		if err != nil {
			return cfgErr("AP %q: %v", spec.Name, err)
		}
		if a.efByFID(e.FID) != nil {
			return cfgErr("AP %q: EF %04X defined twice", spec.Name, e.FID)
		}
		if e.SFI != 0 && a.efBySFI(e.SFI) != nil {
			return cfgErr("AP %q: SFI %d defined twice", spec.Name, e.SFI)
		}
		a.efs = append(a.efs, f)
	}
	for _, p := range spec.PINs {
		o, err := newPIN(p)
		if err != nil {
			return cfgErr("AP %q: %v", spec.Name, err)
		}
		if a.pin(p.Ref) != nil {
			return cfgErr("AP %q: PIN %02X defined twice", spec.Name, p.Ref)
		}
		a.pins = append(a.pins, o)
	}
	for _, k := range spec.Keys {
		o, err := newKey(k)
		if err != nil {
			return cfgErr("AP %q: %v", spec.Name, err)
		}
		if a.key(k.Ref) != nil {
			return cfgErr("AP %q: key %02X defined twice", spec.Name, k.Ref)
		}
		a.keys = append(a.keys, o)
	}
	if err := a.checkRefs(spec); err != nil {
		return cfgErr("AP %q: %v", spec.Name, err)
	}
	c.apps = append(c.apps, a)
	return nil
}

func (a *app) checkRefs(spec APSpec) error {
	check := func(what string, cond Condition) error {
		if cond.PIN != 0 && a.pin(cond.PIN) == nil {
			return fmt.Errorf("%s needs PIN %02X, which is not defined", what, cond.PIN)
		}
		if cond.Key != 0 && a.key(cond.Key) == nil {
			return fmt.Errorf("%s needs key %02X, which is not defined", what, cond.Key)
		}
		return nil
	}
	if err := check("seal", spec.Seal); err != nil {
		return err
	}
	if spec.AdminKey != 0 && a.key(spec.AdminKey) == nil {
		return fmt.Errorf("administrative key %02X is not defined", spec.AdminKey)
	}
	for _, e := range spec.EFs {
		for _, acc := range []Access{e.Personalization, e.Operational} {
			for _, cond := range []Condition{acc.Read, acc.Update, acc.Append} {
				if err := check(fmt.Sprintf("EF %04X", e.FID), cond); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func newEF(e EFSpec) (*ef, error) {
	switch e.FID {
	case 0x3F00, 0x3FFF, 0xFFFF:
		return nil, fmt.Errorf("EF %04X: reserved file identifier", e.FID)
	}
	if e.SFI > 30 {
		return nil, fmt.Errorf("EF %04X: SFI %d out of 1..30", e.FID, e.SFI)
	}
	f := &ef{spec: e}
	f.spec.Data, f.spec.Records = nil, nil
	switch e.Kind {
	case Transparent:
		if e.MaxSize < 1 || e.MaxSize > 0x7FFF {
			return nil, fmt.Errorf("EF %04X: MaxSize %d out of 1..32767", e.FID, e.MaxSize)
		}
		if len(e.Data) > e.MaxSize {
			return nil, fmt.Errorf("EF %04X: %d bytes of data exceed MaxSize %d", e.FID, len(e.Data), e.MaxSize)
		}
		if len(e.Records) > 0 {
			return nil, fmt.Errorf("EF %04X: records in a transparent EF", e.FID)
		}
		f.data = append([]byte(nil), e.Data...)
	case LinearRecords:
		if e.MaxRecords < 1 || e.MaxRecords > 254 {
			return nil, fmt.Errorf("EF %04X: MaxRecords %d out of 1..254", e.FID, e.MaxRecords)
		}
		if e.MaxRecordLen < 1 || e.MaxRecordLen > 255 {
			return nil, fmt.Errorf("EF %04X: MaxRecordLen %d out of 1..255", e.FID, e.MaxRecordLen)
		}
		if len(e.Records) > e.MaxRecords {
			return nil, fmt.Errorf("EF %04X: %d records exceed MaxRecords %d", e.FID, len(e.Records), e.MaxRecords)
		}
		if len(e.Data) > 0 {
			return nil, fmt.Errorf("EF %04X: data in a record EF", e.FID)
		}
		for i, r := range e.Records {
			if len(r) < 1 || len(r) > e.MaxRecordLen {
				return nil, fmt.Errorf("EF %04X: record %d of %d bytes, want 1..%d", e.FID, i+1, len(r), e.MaxRecordLen)
			}
			f.records = append(f.records, append([]byte(nil), r...))
		}
	default:
		return nil, fmt.Errorf("EF %04X: unknown kind %d", e.FID, e.Kind)
	}
	return f, nil
}

func newPIN(p PINSpec) (*pinObj, error) {
	o := &pinObj{ref: p.Ref, max: p.MaxTries, minLen: p.MinLen, maxLen: p.MaxLen, requireSM: p.RequireSM}
	if p.Ref == 0 {
		return nil, fmt.Errorf("PIN reference 00")
	}
	if o.max == 0 {
		o.max = DefaultMaxTries
	}
	if o.minLen == 0 {
		o.minLen = 4
	}
	if o.maxLen == 0 {
		o.maxLen = 16
	}
	if o.max < 1 || o.max > 15 {
		return nil, fmt.Errorf("PIN %02X: MaxTries %d out of 1..15", p.Ref, p.MaxTries)
	}
	if o.minLen < 1 || o.maxLen > 255 || o.minLen > o.maxLen {
		return nil, fmt.Errorf("PIN %02X: length bounds %d..%d", p.Ref, o.minLen, o.maxLen)
	}
	if len(p.Value) < o.minLen || len(p.Value) > o.maxLen {
		return nil, fmt.Errorf("PIN %02X: value length outside %d..%d", p.Ref, o.minLen, o.maxLen)
	}
	o.value = append([]byte(nil), p.Value...)
	o.left = o.max
	return o, nil
}

func (p *pinObj) formatOK(v []byte) bool { return len(v) >= p.minLen && len(v) <= p.maxLen }

func newKey(k KeySpec) (*keyObj, error) {
	if k.Ref == 0 {
		return nil, fmt.Errorf("key reference 00")
	}
	n, err := suiteKeyLen(k.Suite)
	if err != nil {
		return nil, fmt.Errorf("key %02X: %v", k.Ref, err)
	}
	if k.Enc.Len() != n || k.Mac.Len() != n {
		return nil, fmt.Errorf("key %02X: %s needs %d-byte keys", k.Ref, k.Suite, n)
	}
	o := &keyObj{ref: k.Ref, suite: k.Suite, max: k.MaxFailures,
		enc: append([]byte(nil), k.Enc.Bytes()...), mac: append([]byte(nil), k.Mac.Bytes()...)}
	if o.max == 0 {
		o.max = DefaultMaxTries
	}
	if o.max < 1 || o.max > 15 {
		return nil, fmt.Errorf("key %02X: MaxFailures %d out of 1..15", k.Ref, k.MaxFailures)
	}
	o.left = o.max
	return o, nil
}
