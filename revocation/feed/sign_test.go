package feed

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"math/rand/v2"
	"testing"
)

// TestSignReaderMatchesEd25519: the streaming signer gives exactly the
// signature crypto/ed25519 gives for the same key and message, so the
// feed's detached signatures are unchanged (and verify with any Ed25519
// implementation), for empty, short and multi-block messages.
func TestSignReaderMatchesEd25519(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 63, 64, 127, 128, 1000, 1 << 16, 1<<20 + 7} {
		seed := make([]byte, ed25519.SeedSize)
		for i := range seed {
			seed[i] = byte(r.Uint32())
		}
		key := ed25519.NewKeyFromSeed(seed)
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(r.Uint32())
		}
		opens := 0
		got, err := signReader(key, func() (io.ReadCloser, error) {
			opens++
			return io.NopCloser(bytes.NewReader(msg)), nil
		})
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if want := ed25519.Sign(key, msg); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: signature %x, crypto/ed25519 gives %x", n, got, want)
		}
		if opens != 2 {
			t.Fatalf("%d bytes: message read %d times, want 2", n, opens)
		}
	}
}

// TestSignReaderRefusesBadKey: a key of the wrong size is ErrConfig, not
// a panic.
func TestSignReaderRefusesBadKey(t *testing.T) {
	_, err := signReader(make([]byte, 10), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(nil)), nil })
	if err == nil {
		t.Fatal("signed with a 10-byte key")
	}
}
