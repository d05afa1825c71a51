package search

import "testing"

func TestRecentCache(t *testing.T) {
	rc := NewRecentCache[int, string](4) // two generations of 2
	rc.Put(1, "a")
	rc.Put(2, "b")
	rc.Put(3, "c") // 1 and 2 become the old generation
	if v, ok := rc.Get(1); !ok || v != "a" {
		t.Fatalf("Get(1) = %q, %v: the old generation is still kept", v, ok)
	}
	// Get(1) moved 1 back into the current generation (now full: 3, 1), so
	// the next Put retires it with 3, and 2, never asked for, is dropped.
	rc.Put(4, "d")
	if _, ok := rc.Get(2); ok {
		t.Error("2 was not asked for and should be gone")
	}
	for _, k := range []int{1, 3, 4} {
		if _, ok := rc.Get(k); !ok {
			t.Errorf("Get(%d): gone too early", k)
		}
	}
	if rc.Entries() != 4 {
		t.Errorf("Entries() = %d, want 4", rc.Entries())
	}

	off := NewRecentCache[int, string](0)
	off.Put(1, "a")
	if _, ok := off.Get(1); ok || off.Entries() != 0 {
		t.Error("a cache of 0 entries keeps nothing")
	}
}
