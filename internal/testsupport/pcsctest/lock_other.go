//go:build !unix

package pcsctest

import "errors"

// tryLock is not available: the private pcscd set-up is Linux only.
func tryLock(path string, wait bool) (unlock func(), ok bool, err error) {
	return nil, false, errors.New("pcsctest: slot locking needs a unix system")
}
