package search

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// anonHugeKB reads /proc/self/smaps: the AnonHugePages of the mapping
// holding addr, in KB.
func anonHugeKB(t *testing.T, addr uintptr) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		first, _, _ := strings.Cut(line, " ")
		if lo, hi, ok := strings.Cut(first, "-"); ok && !strings.HasSuffix(first, ":") { // a mapping's header
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("smaps: %q", line)
			}
			in = uint64(addr) >= a && uint64(addr) < b
			continue
		}
		if in && first == "AnonHugePages:" {
			n, err := strconv.Atoi(strings.Fields(line)[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return 0
}

func TestCollapseToHugePages(t *testing.T) {
	// Too small for a whole aligned huge page: nothing to do.
	small := make([]byte, hugePage)
	if n := collapseSlice(small[1:]); n != 0 {
		t.Errorf("collapsed %d bytes of less than a huge page", n)
	}

	b := make([]byte, 4*hugePage+100)
	for i := range b {
		b[i] = byte(i)
	}
	p := uintptr(unsafe.Pointer(&b[0]))
	before := anonHugeKB(t, p)
	n := collapseSlice(b)
	if n == 0 {
		t.Skip("this kernel does not collapse to huge pages (MADV_COLLAPSE needs Linux 6.1 and THP not \"never\")")
	}
	if n < 3*hugePage || n%hugePage != 0 {
		t.Errorf("collapsed %d bytes of %d", n, len(b))
	}
	if after := anonHugeKB(t, p); after-before < int(n>>10) {
		t.Errorf("AnonHugePages %d KB → %d KB; want %d KB more", before, after, n>>10)
	}
	for i := range b {
		if b[i] != byte(i) {
			t.Fatalf("byte %d changed", i)
		}
	}
}

// A large index is on huge pages where the kernel allows, and searches on
// it as on any other.
func TestIndexUsesHugePages(t *testing.T) {
	probe := make([]byte, 3*hugePage)
	for i := range probe {
		probe[i] = 1 // untouched memory does not collapse
	}
	if collapseSlice(probe) == 0 {
		t.Skip("this kernel does not collapse to huge pages")
	}
	books := make([]indexedBook, 200_000) // 6 MB of records alone
	textBytes := int64(0)
	for i := range books {
		books[i] = indexedBook{id: int64(i + 1), title: "Volume " + strconv.Itoa(i), authors: "Writer " + strconv.Itoa(i%97), ratings: int64(len(books) - i)}
		textBytes += int64(len(books[i].title) + len(books[i].authors))
	}
	ix, stats, err := buildFromBooks(books, textBytes)
	if err != nil {
		t.Fatal(err)
	}
	if stats.HugePageBytes < 2*hugePage || stats.HugePageBytes > stats.Bytes {
		t.Errorf("HugePageBytes %d of %d; want at least %d", stats.HugePageBytes, stats.Bytes, 2*hugePage)
	}
	if got := anonHugeKB(t, uintptr(unsafe.Pointer(&ix.info[len(ix.info)/2]))); got < hugePage>>10 {
		t.Errorf("the records' mapping has %d KB on huge pages", got)
	}
	if b := ix.book(uint32(len(books) - 1)); b.Title != "Volume 199999" || b.ID != 200_000 {
		t.Errorf("last doc reads %+v", b)
	}
}
