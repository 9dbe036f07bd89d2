package mockcard

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/mynacard/freespace/keys"
)

// State file format (docs: README.md in this directory):
//
//	{
//	  "format":  "freespace-mockcard",
//	  "version": 1,
//	  "sha256":  hex SHA-256 of the compact JSON encoding of "card",
//	  "card":    { "aps": [ { name, aid, lifecycle, seal, admin_key,
//	                          efs: [...], pins: [...], keys: [...] } ] }
//	}
//
// Byte strings (EF data, records, PIN values, keys) are base64. Only
// persistent state is stored: files, PIN values and counters, the card's
// diversified keys and their counters, lifecycle. The file holds secrets.
const (
	stateFormat  = "freespace-mockcard"
	stateVersion = 1
)

var (
	// ErrStateFile is wrapped by every error about a state file's content
	// (format, version, checksum, values).
	ErrStateFile = errors.New("mockcard: invalid card state file")
	// ErrInsecureStateFile: the state file is readable or writable by
	// group or others; it holds PINs and keys and must be mode 0600.
	ErrInsecureStateFile = errors.New("mockcard: card state file is accessible by group or others (want mode 0600)")
)

type stateFile struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	SHA256  string          `json:"sha256"`
	Card    json.RawMessage `json:"card"`
}

type cardState struct {
	APs []apState `json:"aps"`
}

type apState struct {
	Name      string     `json:"name,omitempty"`
	AID       string     `json:"aid"`
	Lifecycle Lifecycle  `json:"lifecycle"`
	Seal      Condition  `json:"seal"`
	AdminKey  byte       `json:"admin_key,omitempty"`
	EFs       []efState  `json:"efs,omitempty"`
	PINs      []pinState `json:"pins,omitempty"`
	Keys      []keyState `json:"keys,omitempty"`
	// KeySet and Staged are omitted when zero, so files without them
	// still load (keyset.go).
	KeySet int          `json:"key_set,omitempty"`
	Staged *stagedState `json:"staged,omitempty"`
	// JPKI is the JPKI AP's keys and mode (jpki_commands.go); absent
	// for other APs.
	JPKI *jpkiState `json:"jpki,omitempty"`
}

type efState struct {
	FID             uint16   `json:"fid"`
	SFI             byte     `json:"sfi,omitempty"`
	Kind            EFKind   `json:"kind"`
	MaxSize         int      `json:"max_size,omitempty"`
	MaxRecords      int      `json:"max_records,omitempty"`
	MaxRecordLen    int      `json:"max_record_len,omitempty"`
	Data            []byte   `json:"data,omitempty"`
	Records         [][]byte `json:"records,omitempty"`
	Personalization Access   `json:"personalization"`
	Operational     Access   `json:"operational"`
}

type pinState struct {
	Ref      byte   `json:"ref"`
	Value    []byte `json:"value"`
	MaxTries int    `json:"max_tries"`
	Left     int    `json:"left"`
	MinLen   int    `json:"min_len"`
	MaxLen   int    `json:"max_len"`
	// RequireSM is omitted when false, so files without it still load.
	RequireSM bool `json:"require_sm,omitempty"`
}

type keyState struct {
	Ref         byte   `json:"ref"`
	Suite       string `json:"suite"`
	Enc         []byte `json:"enc"`
	Mac         []byte `json:"mac"`
	MaxFailures int    `json:"max_failures"`
	Left        int    `json:"left"`
}

// MarshalText returns "personalization" or "operational".
func (l Lifecycle) MarshalText() ([]byte, error) {
	if l != Personalization && l != Operational {
		return nil, fmt.Errorf("%w: lifecycle %d", ErrConfig, uint8(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText parses "personalization" or "operational".
func (l *Lifecycle) UnmarshalText(b []byte) error {
	switch string(b) {
	case "personalization":
		*l = Personalization
	case "operational":
		*l = Operational
	default:
		return fmt.Errorf("%w: lifecycle %q", ErrStateFile, b)
	}
	return nil
}

// MarshalText returns "transparent" or "records".
func (k EFKind) MarshalText() ([]byte, error) {
	if k != Transparent && k != LinearRecords {
		return nil, fmt.Errorf("%w: EF kind %d", ErrConfig, uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText parses "transparent" or "records".
func (k *EFKind) UnmarshalText(b []byte) error {
	switch string(b) {
	case "transparent":
		*k = Transparent
	case "records":
		*k = LinearRecords
	default:
		return fmt.Errorf("%w: EF kind %q", ErrStateFile, b)
	}
	return nil
}

// snapshot captures the persistent state; c.mu is held.
func (c *Card) snapshot() cardState {
	var st cardState
	for _, a := range c.apps {
		as := apState{Name: a.name, AID: a.aid.String(), Lifecycle: a.life, Seal: a.seal, AdminKey: a.adminKey,
			KeySet: a.keySet, Staged: a.stagedSnapshot()}
		for _, f := range a.efs {
			es := efState{FID: f.spec.FID, SFI: f.spec.SFI, Kind: f.spec.Kind, MaxSize: f.spec.MaxSize,
				MaxRecords: f.spec.MaxRecords, MaxRecordLen: f.spec.MaxRecordLen,
				Personalization: f.spec.Personalization, Operational: f.spec.Operational}
			if f.spec.Kind == Transparent {
				es.Data = append([]byte{}, f.data...)
			} else {
				for _, r := range f.records {
					es.Records = append(es.Records, append([]byte(nil), r...))
				}
			}
			as.EFs = append(as.EFs, es)
		}
		for _, p := range a.pins {
			as.PINs = append(as.PINs, pinState{Ref: p.ref, Value: append([]byte(nil), p.value...),
				MaxTries: p.max, Left: p.left, MinLen: p.minLen, MaxLen: p.maxLen, RequireSM: p.requireSM})
		}
		for _, k := range a.keys {
			as.Keys = append(as.Keys, keyState{Ref: k.ref, Suite: k.suite, Enc: append([]byte(nil), k.enc...),
				Mac: append([]byte(nil), k.mac...), MaxFailures: k.max, Left: k.left})
		}
		if a.ext != nil {
			as.JPKI = a.ext.state()
		}
		st.APs = append(st.APs, as)
	}
	return st
}

// MarshalState encodes the card's persistent state in the state file
// format. The result holds the card's PINs and keys.
func (c *Card) MarshalState() ([]byte, error) {
	c.mu.Lock()
	st := c.snapshot()
	c.mu.Unlock()
	body, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("mockcard: encoding state: %w", err)
	}
	sum := sha256.Sum256(body)
	out, err := json.MarshalIndent(stateFile{Format: stateFormat, Version: stateVersion, SHA256: hex.EncodeToString(sum[:]), Card: body}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("mockcard: encoding state: %w", err)
	}
	return append(out, '\n'), nil
}

// UnmarshalState makes a card from a state encoded by MarshalState; opts
// configure what the state does not hold (randomness, transcript, length
// and GET RESPONSE modes). APs added by opts come after the state's.
func UnmarshalState(b []byte, opts ...Option) (*Card, error) {
	var sf stateFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sf); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrStateFile)
	}
	if sf.Format != stateFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrStateFile, sf.Format, stateFormat)
	}
	if sf.Version != stateVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads version %d", ErrStateFile, sf.Version, stateVersion)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, sf.Card); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	sum := sha256.Sum256(compact.Bytes())
	want, err := hex.DecodeString(sf.SHA256)
	if err != nil || subtle.ConstantTimeCompare(want, sum[:]) != 1 {
		return nil, fmt.Errorf("%w: checksum mismatch (file damaged or edited)", ErrStateFile)
	}
	var st cardState
	dec = json.NewDecoder(bytes.NewReader(compact.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	var pre []Option
	for _, as := range st.APs {
		spec, pins, keys, err := as.spec()
		if err != nil {
			return nil, err
		}
		pre = append(pre, WithAP(spec), restoreCounters(spec.AID, pins, keys), restoreStaged(spec.AID, as.Staged))
		if as.JPKI != nil {
			pre = append(pre, restoreJPKI(spec.AID, as.JPKI))
		}
	}
	c, err := New(append(pre, opts...)...)
	if err != nil {
		if errors.Is(err, ErrStateFile) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	return c, nil
}

// spec converts a stored AP back to a spec and its counters.
func (as apState) spec() (APSpec, []pinState, []keyState, error) {
	aidb, err := hex.DecodeString(as.AID)
	if err != nil {
		return APSpec{}, nil, nil, fmt.Errorf("%w: AID %q", ErrStateFile, as.AID)
	}
	spec := APSpec{Name: as.Name, AID: aidb, Lifecycle: as.Lifecycle, Seal: as.Seal, AdminKey: as.AdminKey, KeySet: as.KeySet}
	for _, e := range as.EFs {
		spec.EFs = append(spec.EFs, EFSpec(e))
	}
	for _, p := range as.PINs {
		spec.PINs = append(spec.PINs, PINSpec{Ref: p.Ref, Value: p.Value, MaxTries: p.MaxTries, MinLen: p.MinLen, MaxLen: p.MaxLen, RequireSM: p.RequireSM})
	}
	for _, k := range as.Keys {
		alg := keys.AES
		if k.Suite == "3DES" {
			alg = keys.TDES
		}
		enc, err := keys.NewKey(alg, k.Enc)
		if err != nil {
			return APSpec{}, nil, nil, fmt.Errorf("%w: key %02X: %w", ErrStateFile, k.Ref, err)
		}
		mac, err := keys.NewKey(alg, k.Mac)
		if err != nil {
			return APSpec{}, nil, nil, fmt.Errorf("%w: key %02X: %w", ErrStateFile, k.Ref, err)
		}
		spec.Keys = append(spec.Keys, KeySpec{Ref: k.Ref, Suite: k.Suite, Enc: enc, Mac: mac, MaxFailures: k.MaxFailures})
	}
	return spec, as.PINs, as.Keys, nil
}

// restoreCounters is an option that sets the PIN and key counters of the
// AP aid after it was added.
func restoreCounters(aid []byte, pins []pinState, keys []keyState) Option {
	return func(s *settings) {
		s.post = append(s.post, func(c *Card) error {
			a := c.findApp(aid)
			if a == nil {
				return fmt.Errorf("%w: AP %X vanished", ErrStateFile, aid)
			}
			for _, p := range pins {
				o := a.pin(p.Ref)
				if o == nil || p.Left < 0 || p.Left > o.max {
					return fmt.Errorf("%w: PIN %02X counter %d", ErrStateFile, p.Ref, p.Left)
				}
				o.left = p.Left
			}
			for _, k := range keys {
				o := a.key(k.Ref)
				if o == nil || k.Left < 0 || k.Left > o.max {
					return fmt.Errorf("%w: key %02X counter %d", ErrStateFile, k.Ref, k.Left)
				}
				o.left = k.Left
			}
			return nil
		})
	}
}

// Save writes the card's persistent state to path atomically (a temporary
// file in the same directory, mode 0600, fsync, rename, directory fsync).
func (c *Card) Save(path string) error {
	b, err := c.MarshalState()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".mockcard-*.tmp")
	if err != nil {
		return fmt.Errorf("mockcard: saving state: %w", err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("mockcard: saving state: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("mockcard: saving state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("mockcard: saving state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mockcard: saving state: %w", err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("mockcard: saving state: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every file system syncs directories
		_ = d.Close()
	}
	return nil
}

// Load makes a card from a state file written by Save. It refuses a file
// that group or others may access (ErrInsecureStateFile; not checked on
// Windows, which has no such mode bits). opts are as for UnmarshalState.
func Load(path string, opts ...Option) (*Card, error) {
	// Look before opening: opening a FIFO (or a device) for reading can
	// block for ever.
	pre, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mockcard: loading state: %w", err)
	}
	if !pre.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrStateFile, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mockcard: loading state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("mockcard: loading state: %w", err)
	}
	if !fi.Mode().IsRegular() || !os.SameFile(pre, fi) {
		return nil, fmt.Errorf("%w: %s changed while being opened", ErrStateFile, path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o", ErrInsecureStateFile, path, fi.Mode().Perm())
	}
	const maxState = 64 << 20
	if fi.Size() > maxState {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrStateFile, path, fi.Size(), maxState)
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("mockcard: loading state: %w", err)
	}
	c, err := UnmarshalState(b, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return c, nil
}

// Clone returns a new card with the same persistent state and
// configuration, freshly inserted and reset (no session state, no
// faults, zero counters, no transcript). Handy for fault-injection loops:
// personalize once, clone per trial. The clone shares the source of
// randomness given by WithRand; use clones one at a time if it is not safe
// for concurrent use (crypto/rand is).
func (c *Card) Clone() (*Card, error) {
	b, err := c.MarshalState()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	opts := []Option{WithRand(c.rand), WithExtendedLength(c.extended), WithChaining(c.chaining), WithATR(c.atr), WithFCPSizeLen(c.sizeLen), WithTestMarker(!c.noTestMarker)}
	if c.grThresh >= 0 {
		opts = append(opts, WithGetResponse(c.grThresh))
	}
	if c.shortReader != 0 {
		opts = append(opts, WithShortReader(c.shortReader))
	}
	c.mu.Unlock()
	return UnmarshalState(b, opts...)
}
