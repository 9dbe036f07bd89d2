//go:build cgo

package main

import (
	"context"
	"fmt"
)

// openPKCS11Keys opens the --keys pkcs11: source (RFC 7512 URI,
// keys/pkcs11.ParseURI): the master keys stay in the token, which
// diversifies them (keys/pkcs11.Provider). The URI names the token, the
// module and the PIN source; it names no object, since the key
// references (typea-auth-enc v1, ...) name the objects by CKA_LABEL and
// CKA_ID.
func openPKCS11Keys(ctx context.Context, uri string) (openedKeys, error) {
	p, u, err := openToken(ctx, uri, stdinOf(ctx))
	if err != nil {
		return nil, fmt.Errorf("--keys: %w", err)
	}
	if u.Object != "" || u.ID != nil {
		p.Close()
		return nil, usageError("--keys pkcs11:...: give no object= or id=; key names and versions select the objects")
	}
	return p, nil
}
