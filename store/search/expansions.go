package search

import (
	"hash/maphash"
	"sync"
)

// expansions caches what words expand to (vocabulary.expand), in a few
// flat arrays that hold no pointers, so the collector marks them without
// reading them. The cache holds up to maxCachedWords words, each with up
// to 50 variants. Kept as a map of *wordTerms, with the variants as
// strings into the vocabulary, it was a quarter of a million pointers at
// a million books: every collection read them all, which was most of its
// work, and an uncached search leaves enough garbage for several
// collections a second (BenchmarkCollectWithExpansions).
type expansions struct {
	mu      sync.Mutex
	seed    maphash.Seed
	at      map[uint64]int32 // a word's hash (see key) -> its entry
	entries []expansion
	words   []byte  // the entries' words, one after another
	ids     []int32 // the entries' variants, one after another
}

// expansion is a wordTerms without its pointers: its word and variants
// are ranges of expansions.words and expansions.ids.
type expansion struct {
	wordStart, wordLen int32
	idsStart, idsLen   int32
	id, lo, hi         int32
	last, exact, pref  bool
	extraSet           termFilter
}

func newExpansions() *expansions {
	return &expansions{seed: maphash.MakeSeed(), at: map[uint64]int32{}}
}

func (c *expansions) key(word string, last bool) uint64 {
	h := maphash.String(c.seed, word)
	if last {
		h = ^h
	}
	return h
}

// get returns word's expansion when it is kept. Its variants are a range
// of an array that is only ever appended to, or dropped whole when the
// cache starts over, so they stay as they are for as long as the caller
// holds them.
func (c *expansions) get(word string, last bool) (*wordTerms, bool) {
	h := c.key(word, last)
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.at[h]
	if !ok {
		return nil, false
	}
	e := &c.entries[i]
	// Another word with the same hash is a miss; its entry is replaced.
	if e.last != last || string(c.words[e.wordStart:e.wordStart+e.wordLen]) != word {
		return nil, false
	}
	ids := c.ids[e.idsStart : e.idsStart+e.idsLen : e.idsStart+e.idsLen]
	if e.idsLen == 0 {
		ids = nil
	}
	return &wordTerms{word: word, last: e.last, exact: e.exact, pref: e.pref,
		id: e.id, lo: e.lo, hi: e.hi, extraIDs: ids, extraSet: e.extraSet}, true
}

// put keeps w, starting over when the cache is full. Starting over
// allocates new arrays: the old ones stay with whoever holds a part.
func (c *expansions) put(w *wordTerms) {
	h := c.key(w.word, w.last)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedWords {
		c.at, c.entries, c.words, c.ids = map[uint64]int32{}, nil, nil, nil
	}
	c.at[h] = int32(len(c.entries))
	c.entries = append(c.entries, expansion{
		wordStart: int32(len(c.words)), wordLen: int32(len(w.word)),
		idsStart: int32(len(c.ids)), idsLen: int32(len(w.extraIDs)),
		id: w.id, lo: w.lo, hi: w.hi, last: w.last, exact: w.exact, pref: w.pref,
		extraSet: w.extraSet,
	})
	c.words = append(c.words, w.word...)
	c.ids = append(c.ids, w.extraIDs...)
}

// len returns how many words are kept.
func (c *expansions) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
