package search

import "unsafe"

// collapseSlice is collapseToHugePages for the elements of s.
func collapseSlice[T any](s []T) uintptr {
	if len(s) == 0 {
		return 0
	}
	return collapseToHugePages(unsafe.Pointer(unsafe.SliceData(s)), uintptr(len(s))*unsafe.Sizeof(s[0]))
}

// useHugePages puts the index's large arrays on huge pages where the
// system allows, and returns how many bytes it moved. An uncached search
// reads a few hundred docs' records, terms and text scattered over about
// 120 MB at a million books; on 4 KB pages nearly each read also misses
// the CPU's address translation cache (TLB), which covers a few MB. On
// 2 MB pages sixty entries cover it all (BENCHMARKS.md). The arrays are
// never written again, so the pages stay whole.
func (ix *memoryIndex) useHugePages() uintptr {
	return collapseSlice(ix.info) + collapseSlice(ix.toks) + collapseSlice(ix.post) +
		collapseSlice(ix.postStart) + collapseSlice(ix.open) + collapseSlice(ix.openStart) + collapseSlice(ix.bySecond) +
		collapseSlice(ix.second) + collapseSlice(unsafe.Slice(unsafe.StringData(ix.text), len(ix.text)))
}
