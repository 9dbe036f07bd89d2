package apsession

import "strings"

// Op wraps err (nil stays nil) as the failed operation op of package pkg:
// "pkg: op: err", where err's own leading "pkg: " is dropped so the
// package prefix appears once (issue 14: "typea: read: typea: record
// format error" reads "typea: read: record format error"). errors.Is and
// errors.As see err unchanged.
func Op(pkg, op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{pkg: pkg, op: op, err: err}
}

// opError is the error of Op.
type opError struct {
	pkg, op string
	err     error
}

func (e *opError) Error() string {
	msg := strings.TrimPrefix(e.err.Error(), e.pkg+": ")
	if e.op == "" {
		return e.pkg + ": " + msg
	}
	return e.pkg + ": " + e.op + ": " + msg
}

func (e *opError) Unwrap() error { return e.err }
