package search

import (
	"context"
	"reflect"
	"testing"

	"shelf/store/catalog"
)

// SearchUncached answers as Search does, and keeps nothing in the cache
// readers' pages are served from.
func TestSearchUncached(t *testing.T) {
	s := newTestSearcher(t, catalog.Book{Title: "Dune", Authors: "Frank Herbert"}, catalog.Book{Title: "Dune Messiah", Authors: "Frank Herbert"})
	ctx := context.Background()
	got, err := s.SearchUncached(ctx, "dune  herbert", 1)
	if err != nil {
		t.Fatal(err)
	}
	r := &Results{Page: 1, Query: "dune herbert"}
	if _, ok := s.results.Load().Get(resultKey(r)); ok {
		t.Fatal("SearchUncached filled the result cache")
	}
	want, err := s.Search(ctx, "dune  herbert", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hits) != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("SearchUncached %+v\nSearch %+v", got, want)
	}
	if _, ok := s.results.Load().Get(resultKey(r)); !ok {
		t.Fatal("the cache key is not the one Search uses")
	}
}
