package keys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/mynacard/freespace/securefile"
)

// Refs lists every key reference the Store holds (names ascending, then
// versions), touching no key bytes.
func (s *Store) Refs() []KeyRef {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []KeyRef
	for n, vs := range s.keys {
		for v := range vs {
			out = append(out, KeyRef{Name: n, Version: v})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out
}

// WriteFile writes the Store as a key file (the layout LoadFile reads) to
// path, replacing it atomically: the keys go to a new secret file (mode
// 0600, created exclusively in path's directory, which securefile checks)
// that is synced and renamed over path. The buffer that held the keys'
// hex is wiped. A key name must be a JSON string without escapes (no
// quote, backslash or control character).
func (s *Store) WriteFile(path string) error {
	refs := s.Refs()
	var buf []byte
	defer func() { clear(buf[:cap(buf)]) }()
	size := 16
	for _, ref := range refs {
		size += len(ref.Name) + 2*32 + 96 // at most a 32-byte key
	}
	buf = make([]byte, 0, size) // never grown: no copy of a key is left behind
	buf = append(buf, "{\"keys\": [\n"...)
	for i, ref := range refs {
		for _, r := range ref.Name {
			if r < 0x20 || r == '"' || r == '\\' || r == 0x7f {
				return fmt.Errorf("%w: key name %q cannot be written to a key file", ErrInvalidKey, ref.Name)
			}
		}
		k, err := s.Key(context.Background(), ref)
		if err != nil {
			return err
		}
		buf = append(buf, "  {\"name\": \""...)
		buf = append(buf, ref.Name...)
		buf = append(buf, "\", \"version\": "...)
		buf = strconv.AppendInt(buf, int64(ref.Version), 10)
		buf = append(buf, ", \"alg\": \""...)
		buf = append(buf, k.Algorithm().String()...)
		buf = append(buf, "\", \"key\": \""...)
		n := len(buf)
		buf = buf[:n+2*k.Len()]
		hex.Encode(buf[n:], k.Bytes())
		k.Zero()
		buf = append(buf, "\"}"...)
		if i < len(refs)-1 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
	}
	buf = append(buf, "]}\n"...)
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new-"+hex.EncodeToString(rnd[:]))
	if err := securefile.WriteSecret(tmp, buf); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
