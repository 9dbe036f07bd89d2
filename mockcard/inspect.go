package mockcard

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/profile"
)

// ErrNotFound is returned by the inspection methods for an AP, EF, PIN or
// key the card does not have (or an EF of the other kind).
var ErrNotFound = errors.New("mockcard: no such object")

// The inspection methods below look at or change the card's persistent
// state directly, bypassing access conditions, so that tests can check
// what a host operation did or set up a corrupt card. They never touch the
// session state.

func (c *Card) inspectEF(aid profile.AID, fid uint16, kind EFKind) (*ef, error) {
	a := c.findApp(aid)
	if a == nil {
		return nil, fmt.Errorf("%w: AP %s", ErrNotFound, aid)
	}
	f := a.efByFID(fid)
	if f == nil || f.spec.Kind != kind {
		return nil, fmt.Errorf("%w: %s EF %04X in AP %s", ErrNotFound, kind, fid, aid)
	}
	return f, nil
}

// ReadEF returns a copy of a transparent EF's content.
func (c *Card) ReadEF(aid profile.AID, fid uint16) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := c.inspectEF(aid, fid, Transparent)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), f.data...), nil
}

// WriteEF replaces a transparent EF's content (at most its MaxSize).
func (c *Card) WriteEF(aid profile.AID, fid uint16, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := c.inspectEF(aid, fid, Transparent)
	if err != nil {
		return err
	}
	if len(data) > f.spec.MaxSize {
		return fmt.Errorf("%w: %d bytes exceed EF %04X's %d", ErrConfig, len(data), fid, f.spec.MaxSize)
	}
	f.data = append([]byte(nil), data...)
	return nil
}

// ReadRecords returns a copy of a record EF's records, record 1 first.
func (c *Card) ReadRecords(aid profile.AID, fid uint16) ([][]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := c.inspectEF(aid, fid, LinearRecords)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(f.records))
	for i, r := range f.records {
		out[i] = append([]byte(nil), r...)
	}
	return out, nil
}

// WriteRecords replaces a record EF's records (within its bounds).
func (c *Card) WriteRecords(aid profile.AID, fid uint16, recs [][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := c.inspectEF(aid, fid, LinearRecords)
	if err != nil {
		return err
	}
	if len(recs) > f.spec.MaxRecords {
		return fmt.Errorf("%w: %d records exceed EF %04X's %d", ErrConfig, len(recs), fid, f.spec.MaxRecords)
	}
	out := make([][]byte, len(recs))
	for i, r := range recs {
		if len(r) < 1 || len(r) > f.spec.MaxRecordLen {
			return fmt.Errorf("%w: record %d of %d bytes, want 1..%d", ErrConfig, i+1, len(r), f.spec.MaxRecordLen)
		}
		out[i] = append([]byte(nil), r...)
	}
	f.records = out
	return nil
}

// PINTriesLeft returns the remaining tries of a PIN (0: blocked).
func (c *Card) PINTriesLeft(aid profile.AID, ref byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.findApp(aid); a != nil {
		if p := a.pin(ref); p != nil {
			return p.left, nil
		}
	}
	return 0, fmt.Errorf("%w: PIN %02X in AP %s", ErrNotFound, ref, aid)
}

// KeyTriesLeft returns the failed authentications a key still allows
// (0: blocked).
func (c *Card) KeyTriesLeft(aid profile.AID, ref byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.findApp(aid); a != nil {
		if k := a.key(ref); k != nil {
			return k.left, nil
		}
	}
	return 0, fmt.Errorf("%w: key %02X in AP %s", ErrNotFound, ref, aid)
}

// Lifecycle returns an AP's lifecycle state.
func (c *Card) Lifecycle(aid profile.AID) (Lifecycle, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.findApp(aid); a != nil {
		return a.life, nil
	}
	return 0, fmt.Errorf("%w: AP %s", ErrNotFound, aid)
}

// AIDs returns the AIDs of the card's APs in the order they were added.
func (c *Card) AIDs() []profile.AID {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]profile.AID, len(c.apps))
	for i, a := range c.apps {
		out[i] = append(profile.AID(nil), a.aid...)
	}
	return out
}

// CUID returns the content of EF 0001 of the AP aid as a CUID.
func (c *Card) CUID(aid profile.AID) (profile.CUID, error) {
	b, err := c.ReadEF(aid, profile.FIDCUID)
	if err != nil {
		return profile.CUID{}, err
	}
	return profile.CUIDFromBytes(b)
}
