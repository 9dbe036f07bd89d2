//go:build !linux

package main

import (
	"errors"
	"runtime"
)

// processEnviron would return the environment the process was started
// with, duplicates included. Go's os.Environ keeps only the first of
// duplicated names (the planted one under pam_exec, see pamEnvError), and
// this platform has no /proc/self/environ: the pam command refuses to run
// rather than trust a variable that may have been planted.
func processEnviron() ([]string, error) {
	return nil, errors.New("reading the process environment with its duplicates is not supported on " + runtime.GOOS)
}
