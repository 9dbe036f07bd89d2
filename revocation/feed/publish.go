package feed

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
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
	// Progress, when set, receives reports of the long phases:
	// revocation.PhaseVerify (reading back the previous list),
	// PhaseBuild (writing the list and the delta) and PhaseSign.
	Progress revocation.ProgressFunc
}

// Publish publishes master (the complete current list) as of asOf, as the
// sequence after the one already in Dir (1 for a new feed). It returns the
// new index. master is copied, not changed. For a list too large to hold
// in memory, parse it with revocation.TextParser{SpoolDir: ...} and call
// PublishList.
func (p *Publisher) Publish(ctx context.Context, master []revocation.Record, asOf time.Time) (*Index, error) {
	return p.PublishList(ctx, &revocation.Update{Full: true, Seq: 1, AsOf: asOf, Add: slices.Clone(master)}, asOf)
}

// PublishList publishes the full list master as of asOf (master's own
// sequence number and as-of time are not used: the feed numbers its
// publications), as the sequence after the one already in Dir. A list
// parsed with revocation.TextParser{SpoolDir: ...} is streamed: the
// publisher holds no list in memory, whatever its size. It reads back
// its previous list the same way (spooled to temporary files in Dir), writes
// the new list and the delta from the previous one as it merges the two,
// and signs each file in two passes over it (Ed25519 reads its message
// twice), so that publishing ten million entries takes a few MiB beyond
// the runtime. master is sorted in place when it holds its records in
// Add; the caller closes a spooled master.
func (p *Publisher) PublishList(ctx context.Context, master *revocation.Update, asOf time.Time) (*Index, error) {
	pub, err := p.publicKey()
	if err != nil {
		return nil, err
	}
	if p.Dir == "" {
		return nil, fmt.Errorf("%w: Publisher.Dir is empty", ErrConfig)
	}
	if master == nil || !master.Full {
		return nil, fmt.Errorf("%w: the master list must be a full list", ErrConfig)
	}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("feed: publish: %w", err)
	}
	if err := master.Normalize(); err != nil {
		return nil, relabel(err, "master list")
	}
	next := &revocation.Update{Full: true, AsOf: asOf.UTC().Truncate(time.Second)}
	prevIndex, prevList, err := p.previous(ctx, pub)
	if err != nil {
		return nil, err
	}
	defer prevList.Close()
	next.Seq = 1
	if prevIndex != nil {
		next.Seq = prevIndex.Seq + 1
		if next.AsOf.Before(prevIndex.AsOf) {
			return nil, fmt.Errorf("feed: publish: as-of %s is before the published %s", next.AsOf, prevIndex.AsOf)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	head := &Index{Format: headFormat, Seq: next.Seq, AsOf: next.AsOf}
	listName := fmt.Sprintf("list-%020d.csv", next.Seq)
	head.List, err = p.writeSigned(ctx, listName, next.Seq, 0, func(w io.Writer) error {
		tw, err := revocation.NewTextWriter(w, next, ',')
		if err != nil {
			return err
		}
		var rerr error
		total, n := int64(master.Len()), int64(0)
		for r := range master.Records(&rerr) {
			if n++; p.Progress != nil && n%(1<<16) == 0 {
				p.Progress(revocation.PhaseBuild, listName, n, total)
			}
			if err := tw.Add(r); err != nil {
				return err
			}
		}
		if rerr != nil {
			return relabel(rerr, "master list")
		}
		if p.Progress != nil {
			p.Progress(revocation.PhaseBuild, listName, n, total)
		}
		return tw.Close()
	})
	if err != nil {
		return nil, err
	}
	if prevList != nil {
		d := &revocation.Update{Seq: next.Seq, Prev: prevList.Seq, AsOf: next.AsOf}
		deltaName := fmt.Sprintf("delta-%020d.csv", next.Seq)
		f, err := p.writeSigned(ctx, deltaName, d.Seq, d.Prev, func(w io.Writer) error {
			return p.writeDiff(w, deltaName, d, prevList, master)
		})
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
// against its signed size and hash (docs/PROTOCOL.md chapter 9.2). The
// list is spooled (temporary files in Dir, see revocation.TextParser); the
// caller closes it.
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
	list, err := fetchParse(ctx, src, idx.List, revocation.TextParser{SpoolDir: p.Dir}, p.Progress, revocation.PhaseVerify)
	if err != nil {
		return nil, nil, fmt.Errorf("publish: previous list: %w", err)
	}
	return idx, list, nil
}

// writeSigned writes the feed file name through fill, with its detached
// signature, and returns its entry in the index. The content is streamed
// through its SHA-256 into a temporary file, signed in two passes over
// that file, and renamed into place: it is never held in memory.
func (p *Publisher) writeSigned(ctx context.Context, name string, seq, prev uint64, fill func(io.Writer) error) (_ File, err error) {
	path := filepath.Join(p.Dir, name)
	f, err := os.CreateTemp(p.Dir, "."+name+".tmp-*")
	if err != nil {
		return File{}, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h)}
	if err = fill(cw); err != nil {
		return File{}, err
	}
	if err = ctx.Err(); err != nil {
		return File{}, err
	}
	if err = chmodLikeDir(f, p.Dir); err != nil {
		return File{}, err
	}
	if err = f.Sync(); err != nil {
		return File{}, err
	}
	var signed int64
	sig, err := p.signFile(f, cw.n, func() (io.ReadCloser, error) {
		var r io.Reader = io.NewSectionReader(f, 0, cw.n)
		if p.Progress != nil {
			r = &progressReader{r: r, n: signed, last: signed, fn: func(n int64) {
				signed = n
				p.Progress(revocation.PhaseSign, name, n, 2*cw.n)
			}}
		}
		return io.NopCloser(r), nil
	})
	if err != nil {
		return File{}, err
	}
	if err = f.Close(); err != nil {
		return File{}, err
	}
	if err = os.Rename(tmp, path); err != nil {
		return File{}, err
	}
	if err = syncDir(p.Dir); err != nil {
		return File{}, err
	}
	if err = writeFileAtomic(path+SigSuffix, sig); err != nil {
		return File{}, err
	}
	return File{Name: name, Seq: seq, Prev: prev, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

// Write writes and counts.
func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// writeDiff writes the delta d from list a to list b (both in key
// order): keys new in b or with changed records are added, keys gone are
// removed. It merges the two lists as streams; the removals, which the
// document puts after the additions, wait in a temporary file in Dir
// (removed from the directory at once where the system allows).
func (p *Publisher) writeDiff(w io.Writer, name string, d *revocation.Update, a, b *revocation.Update) error {
	tw, err := revocation.NewTextWriter(w, d, ',')
	if err != nil {
		return err
	}
	rm, err := os.CreateTemp(p.Dir, ".removals.tmp-*")
	if err != nil {
		return err
	}
	rmName := rm.Name()
	if runtime.GOOS != "windows" && os.Remove(rmName) == nil {
		rmName = ""
	}
	defer func() {
		rm.Close()
		if rmName != "" {
			os.Remove(rmName)
		}
	}()
	rmw := bufio.NewWriterSize(rm, 64<<10)
	var errA, errB error
	nextA, stopA := iter.Pull(a.Records(&errA))
	defer stopA()
	nextB, stopB := iter.Pull(b.Records(&errB))
	defer stopB()
	ra, okA := nextA()
	rb, okB := nextB()
	// Progress counts the records of both lists merged.
	total, n := int64(a.Len()+b.Len()), int64(0)
	for okA || okB {
		if n++; p.Progress != nil && n%(1<<16) == 0 {
			p.Progress(revocation.PhaseBuild, name, n, total)
		}
		switch {
		case !okB || (okA && ra.Key.Compare(rb.Key) < 0):
			rmw.WriteString(ra.Key.String())
			rmw.WriteByte('\n')
			ra, okA = nextA()
		case !okA || ra.Key.Compare(rb.Key) > 0:
			if err := tw.Add(rb); err != nil {
				return err
			}
			rb, okB = nextB()
		default:
			if ra != rb {
				if err := tw.Add(rb); err != nil {
					return err
				}
			}
			ra, okA = nextA()
			rb, okB = nextB()
		}
	}
	if errA != nil {
		return fmt.Errorf("previous list: %w", errA)
	}
	if errB != nil {
		return relabel(errB, "master list")
	}
	if p.Progress != nil {
		p.Progress(revocation.PhaseBuild, name, total, total)
	}
	if err := rmw.Flush(); err != nil {
		return err
	}
	if _, err := rm.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sc := bufio.NewScanner(rm)
	for sc.Scan() {
		k, err := revocation.ParseKey(sc.Text())
		if err != nil {
			return err
		}
		if err := tw.Remove(k); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return tw.Close()
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

// maxSignerMessage bounds the file a Signer signs: pure Ed25519 in a token
// (CKM_EDDSA) takes the whole message in one call, so the file is read
// into memory for it.
const maxSignerMessage = 1 << 30

// signFile signs the n bytes of f: with Key in two streaming passes
// (open), or with Signer over the file read into memory (a token signs
// pure Ed25519 in one part), its signature checked under its public key
// before it is published.
func (p *Publisher) signFile(f *os.File, n int64, open func() (io.ReadCloser, error)) ([]byte, error) {
	if p.Signer == nil {
		return signReader(p.Key, open)
	}
	if n > maxSignerMessage {
		return nil, fmt.Errorf("%w: a file of %d bytes is over the %d a PKCS#11 signer signs in one part", ErrTooLarge, n, maxSignerMessage)
	}
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data := make([]byte, n)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, fmt.Errorf("feed: publish: reading back for the signer: %w", err)
	}
	return p.sign(data)
}

// sign signs data (the index; a file for a Signer) with Key or Signer; a
// Signer's signature is checked under its public key before it is
// published.
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
	if err = chmodLikeDir(f, dir); err != nil {
		return err
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

// chmodLikeDir gives f its directory's permissions (without execute
// bits): a public web root gives a world-readable file, a private
// directory a private one; CreateTemp alone would always leave 0600.
func chmodLikeDir(f *os.File, dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	di, err := os.Stat(dir)
	if err != nil {
		return err
	}
	return f.Chmod(0o666 & di.Mode().Perm())
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
