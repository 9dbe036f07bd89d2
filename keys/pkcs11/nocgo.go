//go:build !cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"io"
	"log/slog"
	"time"

	"github.com/mynacard/freespace/keys"
)

// Config says which token the provider uses (see the cgo build).
type Config struct {
	ModulePath    string
	Token         string
	Serial        string
	PIN           []byte
	Sessions      int
	IndexTTL      time.Duration
	AllowFinalTry bool
	Logger        *slog.Logger
}

// DefaultSessions is the session pool size when Config.Sessions is 0.
const DefaultSessions = 4

// DefaultIndexTTL is Config.IndexTTL's default.
const DefaultIndexTTL = 5 * time.Second

// Provider is unavailable without cgo: Open returns ErrNoCgo.
type Provider struct{}

// Object describes a key object on the token.
type Object struct {
	Class       string `json:"class"`
	Label       string `json:"label"`
	Version     int    `json:"version"`
	Algorithm   string `json:"alg"`
	Len         int    `json:"len,omitempty"`
	Extractable bool   `json:"extractable"`
	Sensitive   bool   `json:"sensitive"`
}

// Signer is unavailable without cgo.
type Signer struct{}

func errNoCgo(op string) error { return &Error{Op: op, Kind: ErrNoCgo} }

// Open fails with ErrNoCgo: this build cannot load a PKCS#11 module.
func Open(context.Context, Config) (*Provider, error) { return nil, errNoCgo("open") }

// Close does nothing.
func (*Provider) Close() error { return nil }

// HasMechanism reports false.
func (*Provider) HasMechanism(uint) bool { return false }

// Key fails with ErrNoCgo.
func (*Provider) Key(context.Context, keys.KeyRef) (keys.Key, error) {
	return keys.Key{}, errNoCgo("key")
}

// Diversify fails with ErrNoCgo.
func (*Provider) Diversify(context.Context, keys.KeyRef, []byte, []byte) (keys.Key, error) {
	return keys.Key{}, errNoCgo("diversify")
}

// DiversifyLabel fails with ErrNoCgo.
func (*Provider) DiversifyLabel(context.Context, keys.KeyRef, string, []byte, []byte) (keys.Key, error) {
	return keys.Key{}, errNoCgo("diversify")
}

// Generate fails with ErrNoCgo.
func (*Provider) Generate(context.Context, keys.KeyRef, keys.Algorithm, int) error {
	return errNoCgo("generate")
}

// Import fails with ErrNoCgo.
func (*Provider) Import(context.Context, keys.KeyRef, keys.Key) error { return errNoCgo("import") }

// Versions returns nil.
func (*Provider) Versions(string) []int { return nil }

// KeyVersions fails with ErrNoCgo.
func (*Provider) KeyVersions(context.Context, string) ([]int, error) {
	return nil, errNoCgo("list")
}

// List fails with ErrNoCgo.
func (*Provider) List(context.Context) ([]Object, error) { return nil, errNoCgo("list") }

// GenerateEd25519 fails with ErrNoCgo.
func (*Provider) GenerateEd25519(context.Context, string, int) (ed25519.PublicKey, error) {
	return nil, errNoCgo("generate")
}

// Signer fails with ErrNoCgo.
func (*Provider) Signer(context.Context, string, int) (*Signer, error) {
	return nil, errNoCgo("sign")
}

// Public returns nil.
func (*Signer) Public() crypto.PublicKey { return nil }

// Sign fails with ErrNoCgo.
func (*Signer) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errNoCgo("sign")
}

// SignContext fails with ErrNoCgo.
func (*Signer) SignContext(context.Context, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errNoCgo("sign")
}
