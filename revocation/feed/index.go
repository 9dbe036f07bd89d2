package feed

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/mynacard/freespace/revocation"
)

// Feed file names (docs/PROTOCOL.md chapter 9.2).
const (
	// IndexName is the signed index of a feed.
	IndexName = "feed.json"
	// SigSuffix ends the name of a detached signature file.
	SigSuffix  = ".sig"
	headFormat = "freespace-revocation-feed/1"
	maxHeadLen = 1 << 20
)

// Index is the signed index of a feed: the newest sequence, the full list
// and the recent deltas, each with its size and SHA-256.
type Index struct {
	// Format is "freespace-revocation-feed/1".
	Format string `json:"format"`
	// Seq is the newest sequence number, that of List.
	Seq uint64 `json:"seq"`
	// AsOf is when the newest list was current at the publisher.
	AsOf time.Time `json:"as_of"`
	// List is the full list at Seq.
	List File `json:"list"`
	// Deltas are the recent deltas, oldest first, each from Prev to Seq.
	Deltas []File `json:"deltas"`
}

// File describes one file of a feed.
type File struct {
	// Name is the file's name in the feed directory.
	Name string `json:"name"`
	// Seq is the sequence number of the list after this file.
	Seq uint64 `json:"seq"`
	// Prev is, for a delta, the sequence it applies to; 0 for a list.
	Prev uint64 `json:"prev,omitempty"`
	// Size is the file's exact size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the file's SHA-256, in lower-case hex.
	SHA256 string `json:"sha256"`
}

var feedNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

func headErr(format string, a ...any) error {
	return &revocation.ParseError{Source: "feed index", Offset: -1, Msg: fmt.Sprintf(format, a...)}
}

// ParseIndex verifies sig (a detached Ed25519 signature, 64 bytes) over
// data with pub, then parses and checks the index.
func ParseIndex(data, sig []byte, pub ed25519.PublicKey) (*Index, error) {
	if err := VerifyDetached(data, sig, pub); err != nil {
		return nil, err
	}
	if len(data) > maxHeadLen {
		return nil, headErr("index larger than %d bytes", maxHeadLen)
	}
	var h Index
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, &revocation.ParseError{Source: "feed index", Offset: dec.InputOffset(), Msg: "JSON", Err: err}
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
	files := append([]File{h.List}, h.Deltas...)
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

// verifySum checks that a file of n bytes with SHA-256 sum is the file f
// describes.
func (f File) verifySum(n int64, sum []byte) error {
	if n != f.Size {
		return fmt.Errorf("%w: %s is %d bytes, index says %d (truncated?)", ErrBadSignature, f.Name, n, f.Size)
	}
	want, _ := hex.DecodeString(f.SHA256)
	if subtle.ConstantTimeCompare(sum, want) != 1 {
		return fmt.Errorf("%w: %s does not match its hash in the signed index", ErrBadSignature, f.Name)
	}
	return nil
}
