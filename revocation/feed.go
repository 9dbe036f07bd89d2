package revocation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

// Feed file names (docs/PROTOCOL.md chapter 9.2).
const (
	// HeadName is the signed index of a feed.
	HeadName = "feed.json"
	// SigSuffix ends the name of a detached signature file.
	SigSuffix  = ".sig"
	headFormat = "freespace-revocation-feed/1"
	maxHeadLen = 1 << 20
)

// ErrBadSignature is returned when a feed file is unsigned, its signature
// does not verify with the configured public key, or its content does not
// match the hash in the signed index.
var ErrBadSignature = errors.New("revocation: bad or missing feed signature")

// Head is the signed index of a feed: the newest sequence, the full list
// and the recent deltas, each with its size and SHA-256.
type Head struct {
	Format string     `json:"format"`
	Seq    uint64     `json:"seq"`
	AsOf   time.Time  `json:"as_of"`
	List   FeedFile   `json:"list"`
	Deltas []FeedFile `json:"deltas"`
}

// FeedFile describes one file of a feed.
type FeedFile struct {
	Name   string `json:"name"`
	Seq    uint64 `json:"seq"`
	Prev   uint64 `json:"prev,omitempty"` // deltas only
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

var feedNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

func headErr(format string, a ...any) error {
	return &ParseError{Source: "feed index", Offset: -1, Msg: fmt.Sprintf(format, a...)}
}

// ParseHead verifies sig (a detached Ed25519 signature, 64 bytes) over
// data with pub, then parses and checks the index.
func ParseHead(data, sig []byte, pub ed25519.PublicKey) (*Head, error) {
	if err := VerifyDetached(data, sig, pub); err != nil {
		return nil, err
	}
	if len(data) > maxHeadLen {
		return nil, headErr("index larger than %d bytes", maxHeadLen)
	}
	var h Head
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, &ParseError{Source: "feed index", Offset: dec.InputOffset(), Msg: "JSON", Err: err}
	}
	if dec.More() {
		return nil, headErr("data after the index object")
	}
	if h.Format != headFormat {
		return nil, headErr("format %q, want %q", truncate(h.Format), headFormat)
	}
	if h.Seq == 0 || h.AsOf.IsZero() || h.List.Seq != h.Seq {
		return nil, headErr("sequence, as-of or list sequence missing or inconsistent")
	}
	files := append([]FeedFile{h.List}, h.Deltas...)
	for i, f := range files {
		if !feedNameRE.MatchString(f.Name) || f.Size < 0 {
			return nil, headErr("bad file name %q or size", truncate(f.Name))
		}
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size {
			return nil, headErr("file %s: bad sha256", f.Name)
		}
		if i > 0 && (f.Prev+1 != f.Seq || f.Seq > h.Seq) {
			return nil, headErr("delta %s: bad sequence %d -> %d", f.Name, f.Prev, f.Seq)
		}
	}
	return &h, nil
}

// VerifyDetached checks a detached Ed25519 signature (RFC 8032) over data.
func VerifyDetached(data, sig []byte, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key of %d bytes", ErrBadSignature, len(pub))
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature of %d bytes, want %d", ErrBadSignature, len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, data, sig) {
		return fmt.Errorf("%w: signature does not verify", ErrBadSignature)
	}
	return nil
}

// verify checks that data is the file f describes.
func (f FeedFile) verify(data []byte) error {
	sum := sha256.Sum256(data)
	return f.verifySum(int64(len(data)), sum[:])
}

// verifySum checks that a file of n bytes with SHA-256 sum is the file f
// describes.
func (f FeedFile) verifySum(n int64, sum []byte) error {
	if n != f.Size {
		return fmt.Errorf("%w: %s is %d bytes, index says %d (truncated?)", ErrBadSignature, f.Name, n, f.Size)
	}
	want, _ := hex.DecodeString(f.SHA256)
	if subtle.ConstantTimeCompare(sum, want) != 1 {
		return fmt.Errorf("%w: %s does not match its hash in the signed index", ErrBadSignature, f.Name)
	}
	return nil
}

// Publisher turns the operator's master list into a feed any static web
// host, object store or CDN can serve: for each publication a full list, a
// delta from the previous one, a detached signature of each, and the
// signed index feed.json written last.
type Publisher struct {
	// Dir is the output directory (the web root of the feed).
	Dir string
	// Key signs the feed. It is never logged or printed.
	Key ed25519.PrivateKey
	// KeepDeltas is how many recent deltas the index lists; 0 means 14.
	KeepDeltas int
}

// Publish publishes master (the complete current list) as of asOf, as the
// sequence after the one already in Dir (1 for a new feed). It returns the
// new index.
func (p *Publisher) Publish(ctx context.Context, master []Record, asOf time.Time) (*Head, error) {
	if len(p.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("revocation: publisher: no Ed25519 private key")
	}
	pub := p.Key.Public().(ed25519.PublicKey)
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("revocation: publisher: %w", err)
	}
	next := &Update{Full: true, AsOf: asOf.UTC().Truncate(time.Second), Add: slices.Clone(master)}
	var prevHead *Head
	var prevList *Update
	// The previous publication is read back from the web root with the
	// limits a terminal applies (see Source): a host that was tampered
	// with cannot make the publisher read more than the signed sizes.
	src := DirSource{Dir: p.Dir}
	if hf, err := src.Fetch(ctx, HeadName, Validators{}); err == nil {
		data, err := readSmall(hf, HeadName, MaxIndexSize)
		if err != nil {
			return nil, fmt.Errorf("revocation: publisher: existing index: %w", err)
		}
		var sig []byte
		if sf, err := src.Fetch(ctx, HeadName+SigSuffix, Validators{}); err == nil {
			if sig, err = readSmall(sf, HeadName+SigSuffix, SignatureSize); err != nil {
				return nil, fmt.Errorf("revocation: publisher: existing index: %w: %w", ErrBadSignature, err)
			}
		} else if !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("revocation: publisher: %w", err)
		}
		if prevHead, err = ParseHead(data, sig, pub); err != nil {
			return nil, fmt.Errorf("revocation: publisher: existing index: %w", err)
		}
		lf, err := src.Fetch(ctx, prevHead.List.Name, Validators{})
		if err != nil {
			return nil, fmt.Errorf("revocation: publisher: %w", err)
		}
		ld, err := readSmall(lf, prevHead.List.Name, prevHead.List.Size)
		if err != nil {
			return nil, fmt.Errorf("revocation: publisher: previous list: %w", err)
		}
		if err := prevHead.List.verify(ld); err != nil {
			return nil, fmt.Errorf("revocation: publisher: previous list: %w", err)
		}
		if prevList, err = (TextParser{}).Parse(bytes.NewReader(ld)); err != nil {
			return nil, fmt.Errorf("revocation: publisher: previous list: %w", err)
		}
		next.Seq = prevHead.Seq + 1
		if next.AsOf.Before(prevHead.AsOf) {
			return nil, fmt.Errorf("revocation: publisher: as-of %s is before the published %s", next.AsOf, prevHead.AsOf)
		}
	} else if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("revocation: publisher: %w", err)
	} else {
		next.Seq = 1
	}
	if err := next.normalize("master list"); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	head := &Head{Format: headFormat, Seq: next.Seq, AsOf: next.AsOf}
	var err error
	if head.List, err = p.writeSigned(fmt.Sprintf("list-%020d.csv", next.Seq), next); err != nil {
		return nil, err
	}
	if prevList != nil {
		d := diff(prevList, next)
		f, err := p.writeSigned(fmt.Sprintf("delta-%020d.csv", next.Seq), d)
		if err != nil {
			return nil, err
		}
		keep := p.KeepDeltas
		if keep <= 0 {
			keep = 14
		}
		head.Deltas = append(head.Deltas, prevHead.Deltas...)
		head.Deltas = append(head.Deltas, f)
		if len(head.Deltas) > keep {
			for _, old := range head.Deltas[:len(head.Deltas)-keep] {
				os.Remove(filepath.Join(p.Dir, old.Name))
				os.Remove(filepath.Join(p.Dir, old.Name+SigSuffix))
			}
			head.Deltas = head.Deltas[len(head.Deltas)-keep:]
		}
	}
	hj, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return nil, err
	}
	hj = append(hj, '\n')
	// Signature first, then the index, each atomically: a client that
	// fetches between the two sees a mismatch and retries later.
	if err := writeFileAtomic(filepath.Join(p.Dir, HeadName+SigSuffix), ed25519.Sign(p.Key, hj)); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(p.Dir, HeadName), hj); err != nil {
		return nil, err
	}
	if prevHead != nil {
		// Keep the previous list for clients holding the previous index.
		prev := prevHead.List.Name
		ents, _ := os.ReadDir(p.Dir)
		for _, e := range ents {
			n := e.Name()
			if len(n) > 5 && n[:5] == "list-" && n != head.List.Name && n != prev && n != prev+SigSuffix && n != head.List.Name+SigSuffix {
				os.Remove(filepath.Join(p.Dir, n))
			}
		}
	}
	return head, nil
}

func (p *Publisher) writeSigned(name string, u *Update) (FeedFile, error) {
	var buf bytes.Buffer
	if err := WriteText(&buf, u, ','); err != nil {
		return FeedFile{}, err
	}
	data := buf.Bytes()
	if err := writeFileAtomic(filepath.Join(p.Dir, name), data); err != nil {
		return FeedFile{}, err
	}
	if err := writeFileAtomic(filepath.Join(p.Dir, name+SigSuffix), ed25519.Sign(p.Key, data)); err != nil {
		return FeedFile{}, err
	}
	sum := sha256.Sum256(data)
	return FeedFile{Name: name, Seq: u.Seq, Prev: u.Prev, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

func writeFileAtomic(path string, data []byte) error {
	return writeAtomic(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// diff returns the delta from list a to list b (both normalized): keys new
// in b or with changed records are added, keys gone are removed.
func diff(a, b *Update) *Update {
	d := &Update{Seq: b.Seq, Prev: a.Seq, AsOf: b.AsOf}
	i, j := 0, 0
	for i < len(a.Add) || j < len(b.Add) {
		switch {
		case j == len(b.Add) || (i < len(a.Add) && compareKeys(a.Add[i].Key, b.Add[j].Key) < 0):
			d.Remove = append(d.Remove, a.Add[i].Key)
			i++
		case i == len(a.Add) || compareKeys(a.Add[i].Key, b.Add[j].Key) > 0:
			d.Add = append(d.Add, b.Add[j])
			j++
		default:
			if a.Add[i] != b.Add[j] {
				d.Add = append(d.Add, b.Add[j])
			}
			i++
			j++
		}
	}
	return d
}

// Format prints the publisher without its private key, for every verb
// (%v, %+v, %#v, %s): the key never reaches logs or errors.
func (p Publisher) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "revocation.Publisher{Dir: %q, Key: %s, KeepDeltas: %d}", p.Dir, p.redactedKey(), p.KeepDeltas)
}

// redactedKey is what the publisher's key prints as.
func (p Publisher) redactedKey() string {
	if len(p.Key) > 0 {
		return "[redacted]"
	}
	return "none"
}

// LogValue implements slog.LogValuer: a publisher logged with any handler
// (JSON included) shows its directory, never its private key.
func (p Publisher) LogValue() slog.Value {
	return slog.GroupValue(slog.String("dir", p.Dir), slog.String("key", p.redactedKey()), slog.Int("keep_deltas", p.KeepDeltas))
}

// MarshalJSON encodes the publisher without its private key.
func (p Publisher) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Dir        string `json:"dir"`
		Key        string `json:"key"`
		KeepDeltas int    `json:"keep_deltas"`
	}{p.Dir, p.redactedKey(), p.KeepDeltas})
}
