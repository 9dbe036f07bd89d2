package jpki

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// chainCacheSize bounds the chains an Authenticator remembers.
const chainCacheSize = 4096

// chainCache remembers verified chains by the SHA-256 of the end
// certificate's DER. A hit is only as good as the anchors it was verified
// against, which an Authenticator never changes; the validity of every
// certificate of the chain is checked again at each use.
type chainCache struct {
	mu  sync.Mutex
	max int
	m   map[[sha256.Size]byte][]*x509.Certificate
}

func newChainCache(max int) *chainCache {
	return &chainCache{max: max, m: make(map[[sha256.Size]byte][]*x509.Certificate)}
}

// get returns the chain verified for cert, if every certificate of it is
// valid at now.
func (c *chainCache) get(cert *x509.Certificate, now time.Time) ([]*x509.Certificate, bool) {
	k := sha256.Sum256(cert.Raw)
	c.mu.Lock()
	chain, ok := c.m[k]
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	for _, cc := range chain {
		if now.Before(cc.NotBefore) || now.After(cc.NotAfter) {
			return nil, false // verified again: crypto/x509 says which
		}
	}
	return chain, true
}

// put remembers a verified chain, dropping an arbitrary entry when full.
func (c *chainCache) put(cert *x509.Certificate, chain []*x509.Certificate) {
	k := sha256.Sum256(cert.Raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = chain
}
