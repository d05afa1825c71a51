package links

import (
	"context"
	"sync"
	"time"
)

// The resolve cache's bounds. Each process caches on its own: a link
// disabled or deleted here stops at once here, and within DefaultCacheTTL
// in the other processes sharing the database.
const (
	DefaultCacheSize = 10000
	DefaultCacheTTL  = 2 * time.Second
)

// Resolve returns the link with id for GET /s/{id}: from memory when it was
// looked up in the last DefaultCacheTTL, so a popular link costs no query,
// and so do repeated unknown ids (cached as unknown). Ids that could never
// have been stored are answered without a lookup. Deleted and disabled
// links are returned, for the caller to answer 410.
func (s *Store) Resolve(ctx context.Context, id string) (Link, bool, error) {
	if !idLooksValid(id) {
		return Link{}, false, nil
	}
	key := fold(id)
	now := s.now()
	if e, ok := s.cache.get(key, now); ok {
		return e.link, e.found, nil
	}
	gen := s.cache.generation()
	l, found, err := s.lookup(ctx, id)
	if err != nil {
		return Link{}, false, err
	}
	s.cache.putUnchangedSince(gen, key, cacheEntry{link: l, found: found, at: now})
	return l, found, nil
}

type cacheEntry struct {
	link  Link
	found bool
	at    time.Time
}

// resolveCache maps folded ids to what the database said of them, for
// ttl, holding at most size entries: when full, expired entries go, and
// if none has, an arbitrary half (Go's map order).
type resolveCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	size    int
	ttl     time.Duration
	// gen counts forgets: a lookup that began before one may have read
	// what it changed, and is not cached.
	gen uint64
}

func (c *resolveCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// putUnchangedSince puts e unless a link changed since generation gen.
func (c *resolveCache) putUnchangedSince(gen uint64, key string, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.putLocked(key, e)
	}
}

func (c *resolveCache) init(size int, ttl time.Duration) {
	c.entries = make(map[string]cacheEntry)
	c.size, c.ttl = size, ttl
}

func (c *resolveCache) get(key string, now time.Time) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.at) >= c.ttl || now.Before(e.at) {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *resolveCache) putLocked(key string, e cacheEntry) {
	if len(c.entries) >= c.size {
		for k, old := range c.entries {
			if e.at.Sub(old.at) >= c.ttl {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.size/2 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = e
}

func (c *resolveCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
	c.gen++
}

func (c *resolveCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
