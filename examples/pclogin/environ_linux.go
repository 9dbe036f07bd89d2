package main

import (
	"bytes"
	"fmt"
	"os"
)

// processEnviron returns the environment the process was started with,
// every entry as the kernel received it, duplicates included. os.Environ
// cannot serve here: Go keeps only the first of duplicated names, which is
// exactly the planted one under pam_exec (see pamEnvError).
func processEnviron() ([]string, error) {
	b, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		return nil, fmt.Errorf("reading the process environment: %w", err)
	}
	var out []string
	for kv := range bytes.SplitSeq(b, []byte{0}) {
		if len(kv) > 0 {
			out = append(out, string(kv))
		}
	}
	return out, nil
}
