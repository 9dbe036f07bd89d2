//go:build !cgo && !windows

package main

// readerBinding names how this build talks to card readers.
const readerBinding = "none (built without cgo)"
