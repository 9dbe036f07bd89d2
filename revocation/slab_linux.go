//go:build linux

package revocation

import (
	"runtime"
	"syscall"
)

// allocSlab returns n bytes outside the Go heap, asking the kernel for
// transparent huge pages: random lookups over a 10-million-entry list then
// miss the TLB far less. The memory is released once owner is unreachable.
// owner.mapped counts the bytes so mapped. It falls back to the heap
// when mapping fails.
func allocSlab(owner *base, n int) []byte {
	if n < 4<<20 {
		return make([]byte, n)
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]byte, n)
	}
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE) // advisory only
	runtime.AddCleanup(owner, func(b []byte) { syscall.Munmap(b) }, b)
	owner.mapped += n
	return b
}
