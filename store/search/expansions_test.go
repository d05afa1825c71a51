package search

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// hasPointers reports whether values of t hold pointers the collector
// must follow.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func,
		reflect.Interface, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// TestExpansionsHoldNoPointers: what the cache keeps is in arrays and a
// map whose elements the collector need not read. Kept as *wordTerms with
// their variants as strings, a full cache was most of every collection's
// work at a million books.
func TestExpansionsHoldNoPointers(t *testing.T) {
	c := reflect.TypeFor[expansions]()
	for _, f := range []string{"at", "entries", "words", "ids"} {
		field, ok := c.FieldByName(f)
		if !ok {
			t.Fatalf("expansions has no field %s", f)
		}
		typ := field.Type
		elems := []reflect.Type{typ.Elem()}
		if typ.Kind() == reflect.Map {
			elems = append(elems, typ.Key())
		}
		for _, e := range elems {
			if hasPointers(e) {
				t.Errorf("expansions.%s holds %v, which has pointers", f, e)
			}
		}
	}
}

func testWord(i int) *wordTerms {
	w := &wordTerms{word: fmt.Sprintf("word%d", i), last: i%2 == 0, exact: i%3 == 0, pref: i%5 == 0,
		id: int32(i), lo: int32(i), hi: int32(i + i%7)}
	for j := range i % 9 {
		w.extraIDs = append(w.extraIDs, int32(i*10+j))
	}
	w.extraSet = newTermFilter(w.extraIDs)
	return w
}

func TestExpansionsKeepWhatIsPut(t *testing.T) {
	c := newExpansions()
	for i := range 100 {
		c.put(testWord(i))
	}
	for i := range 100 {
		want := testWord(i)
		got, ok := c.get(want.word, want.last)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("get(%q, %v) = %+v, %v; want %+v", want.word, want.last, got, ok, want)
		}
		if _, ok := c.get(want.word, !want.last); ok {
			t.Errorf("get(%q, %v) found the word as the other kind", want.word, !want.last)
		}
	}
	if _, ok := c.get("word100", true); ok {
		t.Error("get found a word never put")
	}
}

// TestExpansionsTellCollidingWordsApart: two words with one hash are
// never mistaken for each other.
func TestExpansionsTellCollidingWordsApart(t *testing.T) {
	c := newExpansions()
	a, b := testWord(1), testWord(3)
	c.put(a)
	c.at[c.key(b.word, b.last)] = c.at[c.key(a.word, a.last)] // b's hash now leads to a
	if got, ok := c.get(b.word, b.last); ok {
		t.Fatalf("get(%q) = %+v, the entry of %q", b.word, got, a.word)
	}
	c.put(b)
	if got, ok := c.get(b.word, b.last); !ok || !reflect.DeepEqual(got, b) {
		t.Errorf("get(%q) after put = %+v, %v", b.word, got, ok)
	}
}

// TestExpansionsStartOverWithoutChangingWhatWasGot: a full cache starts
// over, and what a search already holds of it stays as it was.
func TestExpansionsStartOverWithoutChangingWhatWasGot(t *testing.T) {
	c := newExpansions()
	for i := range maxCachedWords {
		c.put(testWord(i))
	}
	held, ok := c.get(testWord(8).word, testWord(8).last)
	if !ok || len(held.extraIDs) == 0 {
		t.Fatalf("get = %+v, %v", held, ok)
	}
	heldIDs := slices.Clone(held.extraIDs)
	c.put(testWord(maxCachedWords))
	if c.len() != 1 {
		t.Errorf("%d words kept after the cache filled up, want 1", c.len())
	}
	for i := range 50 {
		c.put(testWord(maxCachedWords + 100 + i))
	}
	if !slices.Equal(held.extraIDs, heldIDs) {
		t.Errorf("held variants changed from %v to %v", heldIDs, held.extraIDs)
	}
	if _, ok := c.get(testWord(8).word, testWord(8).last); ok {
		t.Error("a word from before the start-over is still kept")
	}
}

// BenchmarkCollectWithExpansions times a collection with the cache full:
// the part of every collection the cache costs.
func BenchmarkCollectWithExpansions(b *testing.B) {
	c := newExpansions()
	for i := range maxCachedWords {
		w := testWord(i)
		for j := range 20 {
			w.extraIDs = append(w.extraIDs, int32(j))
		}
		c.put(w)
	}
	for b.Loop() {
		runtime.GC()
	}
	runtime.KeepAlive(c)
}

// TestExpansionsUnderConcurrentUse: searches get and put at once, through
// several start-overs, and every word got is the word put (run with
// -race, as CI does).
func TestExpansionsUnderConcurrentUse(t *testing.T) {
	c := newExpansions()
	words := 3 * maxCachedWords / 2
	if testing.Short() {
		words = maxCachedWords + 100
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < 2*words; i += 4 {
				want := testWord(i % words)
				got, ok := c.get(want.word, want.last)
				if !ok {
					c.put(want)
					continue
				}
				if !reflect.DeepEqual(got, want) {
					errs <- fmt.Errorf("get(%q, %v) = %+v, want %+v", want.word, want.last, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
