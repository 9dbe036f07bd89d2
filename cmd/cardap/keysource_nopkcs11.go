//go:build !cgo

package main

import (
	"context"
	"fmt"

	"github.com/mynacard/freespace/keys/pkcs11"
)

// openPKCS11Keys opens a PKCS#11 key source (RFC 7512 URI): a build
// without cgo cannot load a PKCS#11 module (pkcs11.ErrNoCgo, exit 3).
func openPKCS11Keys(ctx context.Context, uri string) (openedKeys, error) {
	if _, err := pkcs11.ParseURI(uri); err != nil {
		return nil, fmt.Errorf("--keys: %w", err)
	}
	_, err := pkcs11.Open(ctx, pkcs11.Config{})
	return nil, fmt.Errorf("--keys: %w", err)
}
