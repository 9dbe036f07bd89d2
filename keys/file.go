package keys

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// keyFile is the JSON layout of a key file:
//
//	{"keys": [
//	  {"name": "typea-enc", "version": 1, "alg": "aes", "key": "00112233…"},
//	  {"name": "typea-enc", "version": 2, "alg": "aes", "key": "…"}
//	]}
type keyFile struct {
	Keys []fileKey `json:"keys"`
}

type fileKey struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Alg     string `json:"alg"`
	Key     string `json:"key"`
}

// maxKeyFile bounds the size of a key file.
const maxKeyFile = 1 << 20

// LoadFile reads a JSON key file (see the layout above: named, versioned
// keys in hex, alg "aes" or "3des") into a new Store. It refuses a file
// whose permission bits give group or others any access (mode & 0o077 != 0)
// with ErrInsecureFile, checked on the opened file. Errors name the entry
// (name, version), never the key bytes.
func LoadFile(path string) (*Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("keys: %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; it must not be accessible by group or others (chmod 600)", ErrInsecureFile, path, perm)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("keys: reading %s: %w", path, err)
	}
	defer clear(raw)
	if len(raw) > maxKeyFile {
		return nil, fmt.Errorf("keys: %s is larger than %d bytes", path, maxKeyFile)
	}
	return parseKeyFile(raw)
}

// parseKeyFile parses the JSON key file contents.
func parseKeyFile(raw []byte) (*Store, error) {
	var kf keyFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		// json errors carry offsets and types, never string values.
		return nil, fmt.Errorf("%w: key file is not valid: %v", ErrInvalidKey, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: key file has data after its JSON object", ErrInvalidKey)
	}
	defer func() {
		for i := range kf.Keys {
			kf.Keys[i].Key = ""
		}
	}()
	s := NewStore()
	for i, e := range kf.Keys {
		ref := KeyRef{Name: e.Name, Version: e.Version}
		if e.Name == "" || e.Version < 1 {
			return nil, errEntryRef(i)
		}
		// A presence check: fetching the key (Store.Key) would make a
		// copy of its bytes that nothing zeroes.
		if s.has(ref) {
			return nil, errDuplicate(ref)
		}
		alg, err := ParseAlgorithm(e.Alg)
		if err != nil {
			return nil, fmt.Errorf("%w (entry %s)", err, ref)
		}
		b, err := hex.DecodeString(e.Key)
		if err != nil {
			// The hex error would quote a key character: say only where.
			return nil, fmt.Errorf("%w: %s is not hex", ErrInvalidKey, ref)
		}
		k, err := NewKey(alg, b)
		clear(b)
		if err != nil {
			return nil, fmt.Errorf("%w (entry %s)", err, ref)
		}
		if err := s.Add(ref, k); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// errEntryRef: entry i of a key file lacks a name or a version ≥ 1.
func errEntryRef(i int) error {
	return fmt.Errorf("%w: entry %d needs a name and a version ≥ 1", ErrInvalidKey, i)
}

// errDuplicate: ref appears twice in a key file.
func errDuplicate(ref KeyRef) error {
	return fmt.Errorf("%w: %s appears twice", ErrInvalidKey, ref)
}
