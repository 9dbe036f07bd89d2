package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxAuthtok bounds the password read from pam_exec (PAM_MAX_RESP_SIZE).
const maxAuthtok = 512

// authtok holds a password read from pam_exec; it never prints.
type authtok struct{ b []byte }

// String returns a redacted placeholder.
func (authtok) String() string { return "[redacted]" }

// GoString returns a redacted placeholder.
func (authtok) GoString() string { return "[redacted]" }

// Format prints a redacted placeholder for every verb.
func (authtok) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "[redacted]") }

// Wipe overwrites the password in memory.
func (a *authtok) Wipe() {
	clear(a.b)
	a.b = nil
}

// errAuthtokTooLong is returned for a password over maxAuthtok bytes.
var errAuthtokTooLong = errors.New("pclogin: password too long")

// readAuthtok reads what pam_exec's expose_authtok writes to stdin: the
// password, ended by a NUL byte or end of input.
func readAuthtok(r io.Reader) (authtok, error) {
	buf := make([]byte, maxAuthtok+1)
	n, err := io.ReadFull(r, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		clear(buf)
		return authtok{}, err
	}
	if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
		n = i
	} else if n > maxAuthtok {
		clear(buf)
		return authtok{}, errAuthtokTooLong
	}
	clear(buf[n:])
	return authtok{b: buf[:n]}, nil
}
