package search

import (
	"context"
	"testing"
	"unicode/utf8"
)

// FuzzSearch throws arbitrary queries and pages at Search: it must never
// fail, panic, or return more than a page of results, and SQLite's index and
// the in-memory one must agree. `go test` runs the seeds (the hostile
// inputs); `go test -fuzz FuzzSearch ./store` explores.
func FuzzSearch(f *testing.F) {
	for _, q := range hostileQueries() {
		f.Add(q, 1)
	}
	for _, q := range []string{"", "harry pot", "garcia marquez", "tolkein", "arry", "hubbut"} {
		f.Add(q, 2)
	}
	f.Add("harry", -1)
	f.Add("harry", 1<<62)
	c := newTestSearcher(f, fixture...)
	mem := newIndexedSearcher(f, fixture...)
	f.Fuzz(func(t *testing.T, q string, page int) {
		r, err := c.Search(context.Background(), q, page)
		if err != nil {
			t.Fatalf("Search(%q, %d): %v", q, page, err)
		}
		m, err := mem.Search(context.Background(), q, page)
		if err != nil {
			t.Fatalf("memory: Search(%q, %d): %v", q, page, err)
		}
		if d := diffResults(r, m); d != "" {
			t.Fatalf("Search(%q, %d): fts and memory differ: %s", q, page, d)
		}
		if len(r.Hits) > PerPage || r.Page < 1 || r.Page > MaxPages || r.Total > MaxCount {
			t.Fatalf("Search(%q, %d): %d hits, page %d, total %d", q, page, len(r.Hits), r.Page, r.Total)
		}
		if !utf8.ValidString(r.Query) || utf8.RuneCountInString(r.Query) > MaxQueryRunes {
			t.Fatalf("Search(%q): query %q", q, r.Query)
		}
		for _, h := range r.Hits {
			var title string
			for _, s := range h.TitleParts {
				title += s.Text
			}
			if title != h.Title {
				t.Fatalf("Search(%q): segments %q do not rebuild title %q", q, title, h.Title)
			}
		}
	})
}
