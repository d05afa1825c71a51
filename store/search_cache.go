package store

import (
	"strconv"
	"sync"
)

// DefaultResultCache is how many result pages Catalog keeps by default.
const DefaultResultCache = 1024

// resultCache keeps recently served result pages. People typing ask for the
// same popular prefixes ("h", "ha", "har") over and over, and a page costs
// several index queries to build. Two generations approximate LRU without
// bookkeeping on every hit: when the current map fills, it becomes the old
// one, and entries still asked for move back into the current one.
// Imports reset it (see loadVocabulary), so results are never stale.
type resultCache struct {
	mu       sync.Mutex
	max      int // entries per generation; 0 disables the cache
	cur, old map[string]*Results
}

func newResultCache(entries int) *resultCache {
	return &resultCache{max: max(entries/2, 0), cur: map[string]*Results{}}
}

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

func (rc *resultCache) get(key string) *Results {
	if rc.max == 0 {
		return nil
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r, ok := rc.cur[key]; ok {
		return r
	}
	if r, ok := rc.old[key]; ok {
		rc.putLocked(key, r)
		return r
	}
	return nil
}

func (rc *resultCache) put(key string, r *Results) {
	if rc.max == 0 {
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.putLocked(key, r)
}

func (rc *resultCache) putLocked(key string, r *Results) {
	if len(rc.cur) >= rc.max {
		rc.old, rc.cur = rc.cur, make(map[string]*Results, rc.max)
	}
	rc.cur[key] = r
}

// SetResultCache sets how many result pages Search keeps (0 turns the
// cache off) and empties it.
func (c *Catalog) SetResultCache(entries int) {
	c.results.Store(newResultCache(entries))
}
