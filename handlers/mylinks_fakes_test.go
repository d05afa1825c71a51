package handlers

import (
	"context"
	"sync"

	"shelf/store/previews"
)

// fakePreviews keeps previews in memory, all pending.
type fakePreviews struct {
	mu       sync.Mutex
	enqueued []string
	byKey    map[string]previews.Preview
}

func (f *fakePreviews) Enqueue(_ context.Context, url string) (previews.Preview, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := previews.KeyOf(url)
	if p, ok := f.byKey[key]; ok {
		return p, nil
	}
	if f.byKey == nil {
		f.byKey = map[string]previews.Preview{}
	}
	p := previews.Preview{Key: key, URL: url, Status: previews.Pending}
	f.byKey[key] = p
	f.enqueued = append(f.enqueued, url)
	return p, nil
}

func (f *fakePreviews) Get(_ context.Context, key string) (previews.Preview, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.byKey[key]
	return p, ok, nil
}
