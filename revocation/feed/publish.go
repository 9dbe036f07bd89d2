package feed

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/mynacard/freespace/revocation"
)

// Publisher turns the operator's master list into a feed any static web
// host, object store or CDN can serve: for each publication a full list, a
// delta from the previous one, a detached signature of each, and the
// signed index feed.json written last.
type Publisher struct {
	// Dir is the output directory (the web root of the feed).
	Dir string
	// Key signs the feed. It is never logged or printed.
	Key ed25519.PrivateKey
	// Signer, when set, signs instead of Key: a key that stays in an HSM
	// (keys/pkcs11.Signer). Its Public() must be an ed25519.PublicKey and
	// it signs pure Ed25519 (crypto.Hash(0)). Leave Key empty then.
	Signer crypto.Signer
	// KeepDeltas is how many recent deltas the index lists; 0 means 14.
	KeepDeltas int
}

// Publish publishes master (the complete current list) as of asOf, as the
// sequence after the one already in Dir (1 for a new feed). It returns the
// new index.
func (p *Publisher) Publish(ctx context.Context, master []revocation.Record, asOf time.Time) (*Index, error) {
	pub, err := p.publicKey()
	if err != nil {
		return nil, err
	}
	if p.Dir == "" {
		return nil, fmt.Errorf("%w: Publisher.Dir is empty", ErrConfig)
	}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("feed: publish: %w", err)
	}
	next := &revocation.Update{Full: true, AsOf: asOf.UTC().Truncate(time.Second), Add: slices.Clone(master)}
	prevIndex, prevList, err := p.previous(ctx, pub)
	if err != nil {
		return nil, err
	}
	next.Seq = 1
	if prevIndex != nil {
		next.Seq = prevIndex.Seq + 1
		if next.AsOf.Before(prevIndex.AsOf) {
			return nil, fmt.Errorf("feed: publish: as-of %s is before the published %s", next.AsOf, prevIndex.AsOf)
		}
	}
	if err := next.Normalize(); err != nil {
		return nil, relabel(err, "master list")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	head := &Index{Format: headFormat, Seq: next.Seq, AsOf: next.AsOf}
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
		head.Deltas = append(head.Deltas, prevIndex.Deltas...)
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
	sig, err := p.sign(hj)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(p.Dir, IndexName+SigSuffix), sig); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(p.Dir, IndexName), hj); err != nil {
		return nil, err
	}
	if prevIndex != nil {
		// Keep the previous list for clients holding the previous index.
		prev := prevIndex.List.Name
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

// previous reads back the publication already in Dir: its index and
// full list, both nil for a new feed. It reads the web root with the
// limits a terminal applies (see Source), so a host that was tampered
// with cannot make the publisher read more than the signed sizes, and it
// verifies the index with the publisher's own public key and the list
// against its signed size and hash (docs/PROTOCOL.md chapter 9.2).
func (p *Publisher) previous(ctx context.Context, pub ed25519.PublicKey) (*Index, *revocation.Update, error) {
	src := &DirSource{Dir: p.Dir}
	hf, err := src.Fetch(ctx, IndexName, Validators{})
	if errors.Is(err, ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("publish: %w", err)
	}
	data, err := readSmall(hf, IndexName, MaxIndexSize)
	if err != nil {
		return nil, nil, fmt.Errorf("publish: existing index: %w", err)
	}
	var sig []byte
	if sf, err := src.Fetch(ctx, IndexName+SigSuffix, Validators{}); err == nil {
		if sig, err = readSmall(sf, IndexName+SigSuffix, SignatureSize); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
	} else if !errors.Is(err, ErrNotFound) {
		return nil, nil, fmt.Errorf("publish: %w", err)
	}
	idx, err := ParseIndex(data, sig, pub)
	if err != nil {
		return nil, nil, fmt.Errorf("publish: existing index: %w", err)
	}
	lf, err := src.Fetch(ctx, idx.List.Name, Validators{})
	if err != nil {
		return nil, nil, fmt.Errorf("publish: %w", err)
	}
	ld, err := readSmall(lf, idx.List.Name, idx.List.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("publish: previous list: %w", err)
	}
	if err := idx.List.verify(ld); err != nil {
		return nil, nil, fmt.Errorf("publish: previous list: %w", err)
	}
	list, err := (revocation.TextParser{}).Parse(bytes.NewReader(ld))
	if err != nil {
		return nil, nil, fmt.Errorf("publish: previous list: %w", err)
	}
	return idx, list, nil
}

// writeSigned writes u as the feed file name with its detached
// signature and returns its entry in the index.
func (p *Publisher) writeSigned(name string, u *revocation.Update) (File, error) {
	var buf bytes.Buffer
	if err := revocation.WriteText(&buf, u, ','); err != nil {
		return File{}, err
	}
	data := buf.Bytes()
	if err := writeFileAtomic(filepath.Join(p.Dir, name), data); err != nil {
		return File{}, err
	}
	sig, err := p.sign(data)
	if err != nil {
		return File{}, err
	}
	if err := writeFileAtomic(filepath.Join(p.Dir, name+SigSuffix), sig); err != nil {
		return File{}, err
	}
	sum := sha256.Sum256(data)
	return File{Name: name, Seq: u.Seq, Prev: u.Prev, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// diff returns the delta from list a to list b (both normalized): keys new
// in b or with changed records are added, keys gone are removed.
func diff(a, b *revocation.Update) *revocation.Update {
	d := &revocation.Update{Seq: b.Seq, Prev: a.Seq, AsOf: b.AsOf}
	i, j := 0, 0
	for i < len(a.Add) || j < len(b.Add) {
		switch {
		case j == len(b.Add) || (i < len(a.Add) && a.Add[i].Key.Compare(b.Add[j].Key) < 0):
			d.Remove = append(d.Remove, a.Add[i].Key)
			i++
		case i == len(a.Add) || a.Add[i].Key.Compare(b.Add[j].Key) > 0:
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
	fmt.Fprintf(f, "feed.Publisher{Dir: %q, Key: %s, KeepDeltas: %d}", p.Dir, p.redactedKey(), p.KeepDeltas)
}

// publicKey checks that exactly one of Key and Signer is set and returns
// the feed's public key.
func (p *Publisher) publicKey() (ed25519.PublicKey, error) {
	switch {
	case p.Signer != nil && len(p.Key) > 0:
		return nil, fmt.Errorf("%w: Publisher.Key and Publisher.Signer both set", ErrConfig)
	case p.Signer != nil:
		pub, ok := p.Signer.Public().(ed25519.PublicKey)
		if !ok || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Publisher.Signer is not an Ed25519 signer", ErrConfig)
		}
		return pub, nil
	case len(p.Key) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("%w: Publisher.Key is not an Ed25519 private key", ErrConfig)
	}
	return p.Key.Public().(ed25519.PublicKey), nil
}

// sign signs data with Key or Signer; a Signer's signature is checked
// under its public key before it is published.
func (p *Publisher) sign(data []byte) ([]byte, error) {
	if p.Signer == nil {
		return ed25519.Sign(p.Key, data), nil
	}
	sig, err := p.Signer.Sign(rand.Reader, data, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("feed: publish: sign: %w", err)
	}
	pub, _ := p.Signer.Public().(ed25519.PublicKey)
	if !ed25519.Verify(pub, data, sig) {
		return nil, fmt.Errorf("feed: publish: the signer's signature does not verify under its public key")
	}
	return sig, nil
}

// redactedKey is what the publisher's key prints as.
func (p Publisher) redactedKey() string {
	if p.Signer != nil {
		return "[signer]"
	}
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

// writeFileAtomic writes data to path through a temporary file in the same
// directory, synced and renamed over path, then syncs the directory: a
// client never sees a half-written feed file.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	// The file takes its directory's permissions (without execute bits):
	// a public web root gives a world-readable file, a private directory
	// a private one; CreateTemp alone would always leave 0600.
	if runtime.GOOS != "windows" {
		var di os.FileInfo
		if di, err = os.Stat(dir); err != nil {
			return err
		}
		if err = f.Chmod(0o666 & di.Mode().Perm()); err != nil {
			return err
		}
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable (a no-op where directories
// cannot be synced).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// truncate shortens untrusted text quoted in an error.
func truncate(s string) string {
	if len(s) > 48 {
		return s[:48] + "..."
	}
	return s
}
