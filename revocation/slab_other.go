//go:build !linux

package revocation

// allocSlab returns n bytes on the heap.
func allocSlab(_ *base, n int) []byte { return make([]byte, n) }
