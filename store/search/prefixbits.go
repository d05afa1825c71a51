package search

import "sync"

// prefixBitmaps keeps bitmaps of the common prefixes people search with as
// their last word ("the", "of", "mar"): ranges of many terms whose lists
// together hold at least 1 book in denseShare. Without one, a search such
// as "midnight the" sets 380,000 bits (1.2 ms at a million books) to check
// a few thousand candidates; with one, each check is a bit test. There are
// too many such prefixes to keep them all (125 KB each at a million books),
// so the ones asked for most are kept, at most maxPrefixBitmaps: a range
// gets a bitmap the second time it is searched, in place of the least
// asked-for one when they are all taken. Kept bitmaps are read only;
// one dropped while a search still reads it stays alive until it is done.
type prefixBitmaps struct {
	mu   sync.Mutex
	seen map[prefixRange]uint32 // how often each dense range was searched
	kept map[prefixRange]*docBitmap
}

type prefixRange struct{ lo, hi int32 }

const (
	maxPrefixBitmaps = 32
	maxPrefixesSeen  = 4096 // counts forgotten beyond this, to bound memory
)

// prefixBits returns the bitmap of the terms [lo, hi) when it is kept, or
// nil; it counts the search and may build and keep it.
func (ix *memoryIndex) prefixBits(lo, hi int32) *docBitmap {
	p := &ix.prefixes
	k := prefixRange{lo, hi}
	p.mu.Lock()
	if b := p.kept[k]; b != nil {
		p.seen[k]++
		p.mu.Unlock()
		return b
	}
	if p.seen == nil || len(p.seen) >= maxPrefixesSeen {
		p.seen = make(map[prefixRange]uint32)
	}
	if p.kept == nil {
		p.kept = make(map[prefixRange]*docBitmap)
	}
	p.seen[k]++
	n := p.seen[k]
	var evict prefixRange
	admit := n >= 2 && len(p.kept) < maxPrefixBitmaps
	if !admit && n >= 2 {
		least := n
		for r := range p.kept {
			if c := p.seen[r]; c < least {
				evict, least, admit = r, c, true
			}
		}
	}
	p.mu.Unlock()
	if !admit {
		return nil
	}
	b := ix.newBitmap(&termSet{id: -1, lo: lo, hi: hi}) // outside the lock: about a millisecond
	p.mu.Lock()
	defer p.mu.Unlock()
	if kept := p.kept[k]; kept != nil { // another search built it meanwhile
		return kept
	}
	if len(p.kept) >= maxPrefixBitmaps {
		if _, ok := p.kept[evict]; !ok {
			return b // the slot went to another range meanwhile: use this one once
		}
		delete(p.kept, evict)
	}
	p.kept[k] = b
	return b
}
