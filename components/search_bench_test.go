package components

import (
	"context"
	"io"
	"strings"
	"testing"

	"shelf/store/catalog"
	"shelf/store/search"
)

// benchResults is a page of results (search.PerPage) shaped like a real one: marked
// words in titles and authors, a series note, an escaped character.
func benchResults() *search.Results {
	r := &search.Results{Query: "mystery of", Page: 1, Total: 158, HasMore: true}
	for i := range search.PerPage {
		b := catalog.Book{ID: int64(1000 + i), Title: "The Mystery of the Blue Train (Hercule Poirot, #6)",
			Authors: "Agatha Christie, Someone O'Brien", Year: 1928, AverageRating: 3.77, RatingsCount: 17011}
		r.Hits = append(r.Hits, search.Hit{Book: b,
			TitleParts: []search.Segment{{Text: "The "}, {Text: "Mystery", Mark: true}, {Text: " "}, {Text: "of", Mark: true},
				{Text: " the Blue Train (Hercule Poirot, #6)"}},
			AuthorParts: []search.Segment{{Text: b.Authors}}})
	}
	return r
}

// BenchmarkResults renders the fragment an instant search answers with.
func BenchmarkResults(b *testing.B) {
	r := benchResults()
	var sb strings.Builder
	if err := Results(r).Render(context.Background(), &sb); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := Results(r).Render(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
