//go:build unix

package revocation

import (
	"os"
	"runtime"
	"syscall"
)

// mapMeta maps the CUID metadata section of f read-only, so that a hit
// costs a memory read instead of a system call. Pages are resident only
// once touched (a hit is rare), so the section adds nothing to the
// per-entry memory of the key slab. It returns nil when mapping fails or
// the section is empty; callers then fall back to ReadAt.
func mapMeta(b *base, f *os.File) {
	n := int64(b.hdr.nCUID) * cuidMetaLen
	if n == 0 {
		return
	}
	page := int64(os.Getpagesize())
	start := b.metaOff / page * page
	m, err := syscall.Mmap(int(f.Fd()), start, int(b.metaOff-start+n), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return
	}
	b.metaMap = m[b.metaOff-start:]
	runtime.AddCleanup(b, func(m []byte) { syscall.Munmap(m) }, m)
}
