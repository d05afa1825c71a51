package components

import (
	"testing"

	"shelf/store/search"
)

// What the line above the results says. The popular list counts the whole
// catalog, though it lists at most search.MaxCount: "1,000+ books" read as
// a wrong count beside a footer saying 10,000.
func TestCountText(t *testing.T) {
	for _, c := range []struct {
		r    search.Results
		want string
	}{
		{search.Results{Popular: true}, "The catalog is empty."},
		{search.Results{Popular: true, Total: 1, Catalog: 1}, "The one book in the catalog."},
		{search.Results{Popular: true, Total: 6, Catalog: 6}, "The most popular of 6 books."},
		{search.Results{Popular: true, Total: search.MaxCount, TotalCapped: true, Catalog: 10000}, "The most popular of 10,000 books."},
		{search.Results{Query: "zq"}, "No books match “zq”."},
		{search.Results{Query: "dune", Total: 1}, "1 book matches “dune”."},
		{search.Results{Query: "dun", Total: 1, Similar: true}, "1 book matches “dun” exactly; similar spellings follow."},
		{search.Results{Query: "the", Total: search.MaxCount, TotalCapped: true}, "1,000+ books match “the”."},
		{search.Results{Query: "harry", Total: 70, Similar: true}, "70 books match “harry” exactly; similar spellings follow."},
		// Nothing as typed: every result is a similar spelling, and the
		// count says so rather than "22 books match “harry poter”".
		{search.Results{Query: "harry poter", Total: 22, AllSimilar: true}, "No books match “harry poter” as typed; 22 books have similar spellings."},
		{search.Results{Query: "dnue", Total: 1, AllSimilar: true}, "No books match “dnue” as typed; 1 book has a similar spelling."},
		{search.Results{Query: "comon", Total: search.MaxCount, TotalCapped: true, AllSimilar: true}, "No books match “comon” as typed; 1,000+ books have similar spellings."},
	} {
		if got := countText(&c.r); got != c.want {
			t.Errorf("countText(%+v) = %q, want %q", c.r, got, c.want)
		}
	}
}
