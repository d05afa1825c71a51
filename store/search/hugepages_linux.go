package search

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of an x86-64 and arm64 huge page.
const hugePage = 2 << 20

// collapseToHugePages asks Linux to back the whole 2 MB pages inside
// [p, p+size) with huge pages, now (MADV_COLLAPSE, Linux 6.1 on). It
// returns the bytes collapsed: 0 on an older kernel, with huge pages
// turned off, or for memory too small to hold an aligned huge page.
//
// Only MADV_COLLAPSE: MADV_HUGEPAGE would also mark the memory for huge
// pages whenever it is touched again, after the index is freed and the
// runtime reuses it for small objects, which inflates the process's
// memory.
func collapseToHugePages(p unsafe.Pointer, size uintptr) uintptr {
	start := (uintptr(p) + hugePage - 1) &^ (hugePage - 1)
	end := (uintptr(p) + size) &^ (hugePage - 1)
	if end <= start {
		return 0
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	if unix.Madvise(b, unix.MADV_COLLAPSE) != nil {
		return 0
	}
	return end - start
}
