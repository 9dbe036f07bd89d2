// Package jsonlogtest provides a jsonlog.File that fails on request, for
// tests of what a program does when its durable log cannot be written.
package jsonlogtest

import (
	"errors"
	"os"
)

// FaultyFile is an *os.File whose next Write, Sync or Truncate fails once
// when the matching flag is set; the flag is cleared by that failure. A
// failed Write writes half of its data first, as a full disk would.
type FaultyFile struct {
	*os.File
	FailWrite, FailSync, FailTruncate bool
}

// Write writes p, or half of it and an error when FailWrite is set.
func (f *FaultyFile) Write(p []byte) (int, error) {
	if f.FailWrite {
		f.FailWrite = false
		n, _ := f.File.Write(p[:len(p)/2])
		return n, errors.New("injected: no space left on device")
	}
	return f.File.Write(p)
}

// Sync syncs the file, or fails when FailSync is set.
func (f *FaultyFile) Sync() error {
	if f.FailSync {
		f.FailSync = false
		return errors.New("injected: I/O error")
	}
	return f.File.Sync()
}

// Truncate truncates the file, or fails when FailTruncate is set.
func (f *FaultyFile) Truncate(size int64) error {
	if f.FailTruncate {
		f.FailTruncate = false
		return errors.New("injected: truncate refused")
	}
	return f.File.Truncate(size)
}
