package search

import (
	"strconv"
	"sync"
)

// DefaultResultCache is how many result pages a Searcher keeps by default.
const DefaultResultCache = 1024

// RecentCache keeps the values most recently asked for, up to about a
// given number of entries. Two generations approximate LRU without
// bookkeeping on every hit: when the current map fills, it becomes the old
// one, and entries still asked for move back into the current one.
type RecentCache[K comparable, V any] struct {
	mu       sync.Mutex
	max      int // entries per generation; 0 disables the cache
	cur, old map[K]V
}

// NewRecentCache returns a cache of about entries values; 0 keeps none.
func NewRecentCache[K comparable, V any](entries int) *RecentCache[K, V] {
	return &RecentCache[K, V]{max: max(entries/2, 0), cur: map[K]V{}}
}

// Entries is how many values the cache keeps at most.
func (rc *RecentCache[K, V]) Entries() int { return 2 * rc.max }

// Get returns the value kept for key, if any.
func (rc *RecentCache[K, V]) Get(key K) (V, bool) {
	if rc.max == 0 {
		var zero V
		return zero, false
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if v, ok := rc.cur[key]; ok {
		return v, true
	}
	v, ok := rc.old[key]
	if ok {
		rc.putLocked(key, v)
	}
	return v, ok
}

// Put keeps v for key.
func (rc *RecentCache[K, V]) Put(key K, v V) {
	if rc.max == 0 {
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.putLocked(key, v)
}

func (rc *RecentCache[K, V]) putLocked(key K, v V) {
	if len(rc.cur) >= rc.max {
		rc.old, rc.cur = rc.cur, make(map[K]V, rc.max)
	}
	rc.cur[key] = v
}

// resultCache keeps recently served result pages. People typing ask for the
// same popular prefixes ("h", "ha", "har") over and over, and a page costs
// several index lookups to build. Reload resets it, so
// results are never stale.
type resultCache = RecentCache[string, *Results]

func newResultCache(entries int) *resultCache { return NewRecentCache[string, *Results](entries) }

// resultKey identifies a page of results by what Search computed from its
// input, so raw queries that clean up the same share an entry.
func resultKey(r *Results) string {
	flags := byte('0')
	if r.Shortened {
		flags |= 1
	}
	if r.PageAdjusted {
		flags |= 2
	}
	return strconv.Itoa(r.Page) + string(flags) + r.Query
}

// SetResultCache sets how many result pages Search keeps (0 turns the
// cache off) and empties it.
func (s *Searcher) SetResultCache(entries int) {
	s.results.Store(newResultCache(entries))
}
