package search

import (
	"testing"

	"shelf/store/catalog"
)

func TestMatcher(t *testing.T) {
	books := []catalog.Book{
		{ID: 1, Title: "Cien años de soledad", Authors: "Gabriel García Márquez"},
		{ID: 2, Title: "The Hobbit", Authors: "J.R.R. Tolkien"},
		{ID: 3, Title: "Harry Potter and the Philosopher's Stone", Authors: "J.K. Rowling"},
		{ID: 4, Title: "The Lord of the Rings", Authors: "J.R.R. Tolkien"},
	}
	for _, tc := range []struct {
		query string
		want  map[int64]Tier // books not listed: NoMatch
	}{
		{"", map[int64]Tier{1: ExactMatch, 2: ExactMatch, 3: ExactMatch, 4: ExactMatch}},
		{"  !! ", map[int64]Tier{1: ExactMatch, 2: ExactMatch, 3: ExactMatch, 4: ExactMatch}},
		{"garcia", map[int64]Tier{1: ExactMatch}},              // accents folded
		{"MÁRQUEZ soledad", map[int64]Tier{1: ExactMatch}},     // any order, case
		{"tolk", map[int64]Tier{2: ExactMatch, 4: ExactMatch}}, // last word as a prefix
		{"tolk hobbit", map[int64]Tier{2: SimilarMatch}},       // not last: inside a longer word only
		{"hobbit tolk", map[int64]Tier{2: ExactMatch}},
		{"tolkein", map[int64]Tier{2: SimilarMatch, 4: SimilarMatch}}, // a typo
		{"arry", map[int64]Tier{3: SimilarMatch}},                     // inside a longer word
		{"the rings", map[int64]Tier{4: ExactMatch}},
		{"dune", nil},
	} {
		m := NewMatcher(tc.query, books)
		for _, b := range books {
			if got, want := m.Match(b), tc.want[b.ID]; got != want {
				t.Errorf("%q on %q: %v, want %v", tc.query, b.Title, got, want)
			}
		}
	}
}

func TestMatcherHighlight(t *testing.T) {
	b := catalog.Book{ID: 1, Title: "Cien años de soledad", Authors: "Gabriel García Márquez"}
	h := NewMatcher("garc soledad", []catalog.Book{b}).Highlight(b)
	if len(h.TitleParts) != 2 || !h.TitleParts[1].Mark || h.TitleParts[1].Text != "soledad" {
		t.Errorf("title parts %+v", h.TitleParts)
	}
	if len(h.AuthorParts) != 3 || !h.AuthorParts[1].Mark || h.AuthorParts[1].Text != "García" {
		t.Errorf("author parts %+v", h.AuthorParts)
	}
}
