package main

import "context"

// openPKCS11Keys opens a PKCS#11 key source (RFC 7512 URI).
func openPKCS11Keys(_ context.Context, uri string) (openedKeys, error) {
	return nil, openPKCS11KeysUnavailable(uri)
}
