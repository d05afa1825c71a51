package search

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"shelf/store"
	"shelf/store/catalog"
)

// newTestSearcher opens a fresh database holding books (their IDs are
// assigned in order, from 1) with the search vocabulary loaded.
func newTestSearcher(t testing.TB, books ...catalog.Book) *Searcher {
	t.Helper()
	db := openTestDB(t)
	insertBooks(t, db, books)
	c, err := New(context.Background(), db)
	if err != nil {
		t.Fatalf("new catalog: %v", err)
	}
	return c
}

// newIndexedSearcher is newTestSearcher with the in-memory search index built.
func newIndexedSearcher(t testing.TB, books ...catalog.Book) *Searcher {
	t.Helper()
	c := newTestSearcher(t, books...)
	if _, err := c.BuildIndex(context.Background()); err != nil {
		t.Fatalf("build search index: %v", err)
	}
	return c
}

type openSearcher func(t testing.TB, books ...catalog.Book) *Searcher

// onBothEngines runs a search test on SQLite's FTS index and on the
// in-memory index: they must give the same results.
func onBothEngines(t *testing.T, test func(t *testing.T, open openSearcher)) {
	t.Run("fts", func(t *testing.T) { test(t, newTestSearcher) })
	t.Run("memory", func(t *testing.T) { test(t, newIndexedSearcher) })
}

// insertBooks adds books the way an import does: rows, then the vocabulary
// refresh, in one transaction.
func insertBooks(t testing.TB, db *store.DB, books []catalog.Book) {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO books (title, authors, year, isbn13, language, average_rating, ratings_count, dedupe_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, b := range books {
			if _, err := st.ExecContext(ctx, b.Title, b.Authors, b.Year, b.ISBN13, b.Language, b.AverageRating, b.RatingsCount,
				fmt.Sprintf("test-%d-%s", i, b.Title)); err != nil {
				return err
			}
		}
		return refreshTerms(ctx, tx, true)
	})
	if err != nil {
		t.Fatalf("insert books: %v", err)
	}
}

// fixture is a small catalog where every ranking rule shows. IDs are the
// positions, from 1.
var fixture = []catalog.Book{
	{Title: "Harry Potter and the Sorcerer's Stone", Authors: "J.K. Rowling, Mary GrandPré", RatingsCount: 4602479}, // 1
	{Title: "Harry Potter and the Chamber of Secrets", Authors: "J.K. Rowling", RatingsCount: 1779331},              // 2
	{Title: "Harry Potter and the Prisoner of Azkaban", Authors: "J.K. Rowling", RatingsCount: 1832823},             // 3
	{Title: "The Hobbit", Authors: "J.R.R. Tolkien", RatingsCount: 2071616},                                         // 4
	{Title: "The Lord of the Rings", Authors: "J.R.R. Tolkien", RatingsCount: 500000},                               // 5
	{Title: "One Hundred Years of Solitude", Authors: "Gabriel García Márquez", RatingsCount: 517000},               // 6
	{Title: "Love in the Time of Cholera", Authors: "Gabriel García Márquez", RatingsCount: 200000},                 // 7
	{Title: "Dune", Authors: "Frank Herbert", RatingsCount: 600000},                                                 // 8
	{Title: "Dune Messiah", Authors: "Frank Herbert", RatingsCount: 700000},                                         // 9
	{Title: "Children of Dune", Authors: "Frank Herbert", RatingsCount: 100000},                                     // 10
	{Title: "Harry", Authors: "Someone Else", RatingsCount: 10},                                                     // 11
	{Title: "The Cat in the Hat", Authors: "Dr. Seuss", RatingsCount: 300000},                                       // 12
	{Title: "Dirty Harry Returns", Authors: "Callahan", RatingsCount: 5000},                                         // 13
	{Title: "Hairy Tales", Authors: "Bob Hary", RatingsCount: 100000},                                               // 14
	{Title: "The Hitchhiker's Guide to the Galaxy", Authors: "Douglas Adams", RatingsCount: 1000000},                // 15
	{Title: "Cien años de soledad", Authors: "Gabriel García Márquez", RatingsCount: 1000},                          // 16
}

func ids(r *Results) []int64 {
	out := []int64{}
	for _, h := range r.Hits {
		out = append(out, h.ID)
	}
	return out
}

func TestSearchMatching(t *testing.T) { onBothEngines(t, testSearchMatching) }

func testSearchMatching(t *testing.T, open openSearcher) {
	c := open(t, fixture...)
	ctx := context.Background()
	tests := []struct {
		name, query string
		want        []int64 // exact ranked ids
	}{
		{"accents folded in the query", "garcia marquez", []int64{6, 7, 16}},
		{"accents in the query too", "GARCÍA MÁRQUEZ", []int64{6, 7, 16}},
		{"words in any order", "rowling chamber", []int64{2}},
		{"title and author words mixed", "chamber rowling secrets", []int64{2}},
		{"last word is a prefix", "harry pot", []int64{1, 3, 2}},
		{"prefix of one letter", "hobbit t", []int64{4}},
		{"earlier words are not prefixes", "harr pot", []int64{1, 3, 2}}, // substring expansion of "harr" finds them
		{"substring like ILIKE", "arry", []int64{1, 3, 2, 13, 11}},
		{"three-letter substring", "bbi", []int64{4}},
		{"one typo at four letters", "dnue", []int64{9, 8, 10}}, // all typo matches: by popularity
		{"one typo, deletion", "hary poter", []int64{1, 3, 2}},
		{"transposition counts as one", "tolkein", []int64{4, 5}},
		{"no typo allowed at three letters", "cot", []int64{}},
		{"two typos at eight letters", "hichiker", []int64{15}},
		{"two typos too many at seven letters", "hebrret frank", []int64{}},
		{"unknown word short-circuits", "harry zzzzqqq", []int64{}},
		{"every word must match", "hobbit rowling", []int64{}},
		{"punctuation only", "!!! ???", []int64{}},
		{"quote is inert", `potter"`, []int64{1, 3, 2}},
		{"FTS operators are words", "harry OR dune", []int64{}},
		{"NOT is a word", "NOT dune", []int64{}},
		{"column filter is inert", "title:dune", []int64{}},
		{"minus and caret are inert", "-dune ^", []int64{8, 9, 10}},
		{"star is inert", "dun*", []int64{9, 8, 10}}, // "dun" is a prefix, not the exact title
		{"NEAR is a word", "NEAR(dune herbert)", []int64{}},
		{"html is text", "<b>dune</b>", []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Search(ctx, tt.query, 1)
			if err != nil {
				t.Fatalf("Search(%q): %v", tt.query, err)
			}
			if got := ids(r); !slices.Equal(got, tt.want) {
				t.Errorf("Search(%q) = %v, want %v", tt.query, got, tt.want)
			}
			if int(r.Total) != len(tt.want) || r.TotalCapped || r.HasMore {
				t.Errorf("Search(%q): total %d capped %v more %v, want %d false false", tt.query, r.Total, r.TotalCapped, r.HasMore, len(tt.want))
			}
		})
	}
}

func TestSearchTiers(t *testing.T) { onBothEngines(t, testSearchTiers) }

func testSearchTiers(t *testing.T, open openSearcher) {
	c := open(t, fixture...)
	tests := []struct {
		query string
		want  []int64
		why   string
	}{
		{"harry", []int64{1, 3, 2, 13, 11, 14},
			"whole-word matches by popularity: the title equal to the query has 10 ratings, 500 times fewer than the next; then the typo match (Bob Hary) last"},
		{"hary", []int64{14, 1, 3, 2, 13, 11},
			"the exact match (Bob Hary) before the more popular typo matches (harry), which come by popularity"},
		{"dune", []int64{8, 9, 10}, "exact title before the more popular Dune Messiah, then Children of Dune"},
		{"the", []int64{1, 4, 15, 3, 2, 5, 12, 7},
			"a whole word everywhere: popularity leads, and a title starting with The only settles near ties (The Hobbit after a book with 2.2 times its ratings)"},
	}
	for _, tt := range tests {
		r, err := c.Search(context.Background(), tt.query, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(r); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %v, want %v: %s", tt.query, got, tt.want, tt.why)
		}
	}
}

// rankingFixture holds the books of issue 10's examples, with their
// ratings in the bundled catalog (Dune Messiah's made up).
var rankingFixture = []catalog.Book{
	{Title: "The Stand", Authors: "Stephen King", RatingsCount: 438832},                                    // 1
	{Title: "Standing in the Rainbow (Elmwood Springs, #2)", Authors: "Fannie Flagg", RatingsCount: 11856}, // 2
	{Title: "Stand Tall, Molly Lou Melon", Authors: "Patty Lovell", RatingsCount: 11397},                   // 3
	{Title: "Catching Fire (The Hunger Games, #2)", Authors: "Suzanne Collins", RatingsCount: 1831039},     // 4
	{Title: "Firestarter", Authors: "Stephen King", RatingsCount: 142213},                                  // 5
	{Title: "Fire (Graceling Realm, #2)", Authors: "Kristin Cashore", RatingsCount: 98180},                 // 6
	{Title: "The Hunger Games (The Hunger Games, #1)", Authors: "Suzanne Collins", RatingsCount: 4780653},  // 7
	{Title: "Games People Play", Authors: "Eric Berne", RatingsCount: 17035},                               // 8
	{Title: "The Help", Authors: "Kathryn Stockett", RatingsCount: 1531753},                                // 9
	{Title: "Help Thanks Wow", Authors: "Anne Lamott", RatingsCount: 12245},                                // 10
	{Title: "Dune (Dune Chronicles #1)", Authors: "Frank Herbert", RatingsCount: 485032},                   // 11
	{Title: "Dune Messiah (Dune Chronicles #2)", Authors: "Frank Herbert", RatingsCount: 900000},           // 12
	{Title: "Harry Potter and the Sorcerer's Stone", Authors: "J.K. Rowling", RatingsCount: 4602479},       // 13
	{Title: "Harry", Authors: "Someone Else", RatingsCount: 20000},                                         // 14
}

func TestSearchRanksWhatReadersMean(t *testing.T) { onBothEngines(t, testSearchRanksWhatReadersMean) }

func testSearchRanksWhatReadersMean(t *testing.T, open openSearcher) {
	c := open(t, rankingFixture...)
	tests := []struct {
		query string
		want  []int64 // the first results
		why   string
	}{
		{"stand", []int64{1, 3, 2}, "a whole word above titles starting with the query, the prefix-only title last"},
		{"fire", []int64{4, 6, 5}, "19 times the ratings beat a title equal to the query; a prefix-only match last"},
		{"games", []int64{7, 4, 8}, "whole words in books read 100 times more (its series note counts) beat a title starting with it"},
		{"help", []int64{9, 10}, "a whole word in a book read 125 times more beats a title starting with it"},
		{"dune", []int64{11, 12}, "a title equal to the query, less its series note, beats twice the ratings"},
		{"harry pot", []int64{13}, "the last word is a prefix while it is typed"},
		{"harry", []int64{13, 14}, "230 times the ratings beat a title equal to the query"},
	}
	for _, tt := range tests {
		r, err := c.Search(context.Background(), tt.query, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(r); len(got) < len(tt.want) || !slices.Equal(got[:len(tt.want)], tt.want) {
			t.Errorf("Search(%q) = %v, want it to start %v: %s", tt.query, got, tt.want, tt.why)
		}
	}
}

func TestSearchEmptyQueryListsPopularBooks(t *testing.T) {
	onBothEngines(t, testSearchEmptyQueryListsPopularBooks)
}

func testSearchEmptyQueryListsPopularBooks(t *testing.T, open openSearcher) {
	c := open(t, fixture...)
	want := []int64{1, 4, 3, 2, 15, 9, 8, 6, 5, 12, 7, 10, 14, 13, 16, 11}
	for _, q := range []string{"", "   ", "\t\n"} {
		var got []int64
		for page := 1; ; page++ {
			r, err := c.Search(context.Background(), q, page)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Popular || r.Total != int64(len(fixture)) || len(r.Hits) > PerPage {
				t.Errorf("Search(%q) page %d: popular %v total %d, %d hits; want true %d", q, page, r.Popular, r.Total, len(r.Hits), len(fixture))
			}
			got = append(got, ids(r)...)
			if !r.HasMore {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("Search(%q) = %v, want %v", q, got, want)
		}
	}
}

func TestSearchEmptyCatalog(t *testing.T) { onBothEngines(t, testSearchEmptyCatalog) }

func testSearchEmptyCatalog(t *testing.T, open openSearcher) {
	c := open(t)
	for _, q := range []string{"", "harry", "harry pot", "a", "arry", "tolkein"} {
		r, err := c.Search(context.Background(), q, 1)
		if err != nil {
			t.Fatalf("Search(%q): %v", q, err)
		}
		if len(r.Hits) != 0 || r.Total != 0 || r.HasMore || r.Suggestion != "" {
			t.Errorf("Search(%q) on an empty catalog = %+v", q, r)
		}
	}
}

// pagedCatalog holds 15 books per tier for "alpha": titles starting with it,
// titles containing it, and titles where it is inside a word ("omegalpha").
func pagedCatalog(t *testing.T, open openSearcher) (*Searcher, []int64) {
	var books []catalog.Book
	var want []int64
	for tier, format := range []string{"Alpha Saga %d", "Tales of Alpha %d", "Omegalpha Chronicles %d"} {
		for i := range 15 {
			// Popularity interleaves across tiers, so only the tiers keep them apart.
			books = append(books, catalog.Book{Title: fmt.Sprintf(format, i), Authors: "Writer", RatingsCount: int64(1000 - 3*i - tier)})
			want = append(want, int64(len(books)))
		}
	}
	return open(t, books...), want
}

func TestSearchPagination(t *testing.T) { onBothEngines(t, testSearchPagination) }

func testSearchPagination(t *testing.T, open openSearcher) {
	c, want := pagedCatalog(t, open)
	ctx := context.Background()
	var got []int64
	last := (len(want) + PerPage - 1) / PerPage
	for page := 1; page <= last; page++ {
		r, err := c.Search(ctx, "alpha", page)
		if err != nil {
			t.Fatal(err)
		}
		// Every page counts the 30 exact matches and says similar ones
		// follow, as the first does: the last has walked all 45, but a
		// count that changes from page to page reads as a different search.
		if r.Page != page || r.Total != 30 || !r.Similar || r.AllSimilar || r.PageAdjusted || r.LastPage != 0 {
			t.Errorf("page %d: Page %d Total %d Similar %v AllSimilar %v adjusted %v LastPage %d; want Total 30, similar spellings following",
				page, r.Page, r.Total, r.Similar, r.AllSimilar, r.PageAdjusted, r.LastPage)
		}
		if wantMore := page < last; r.HasMore != wantMore {
			t.Errorf("page %d: HasMore = %v, want %v", page, r.HasMore, wantMore)
		}
		got = append(got, ids(r)...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages 1-%d = %v\nwant        %v", last, got, want)
	}
	// Search leaves a page past the end empty (the API stops there), and
	// names the last page.
	for _, page := range []int{last + 1, MaxPages} {
		r, err := c.Search(ctx, "alpha", page)
		if err != nil || len(r.Hits) != 0 || r.HasMore || r.Total != 30 || !r.Similar || r.LastPage != last || r.PastEnd {
			t.Errorf("page %d, past the end: %+v, %v", page, r, err)
		}
	}
}

// The count is the first page's on every page, for every way a query
// matches: exact only, exact then similar, similar only, and the popular
// list.
func TestSearchCountIsTheSameOnEveryPage(t *testing.T) {
	onBothEngines(t, testSearchCountIsTheSameOnEveryPage)
}

func testSearchCountIsTheSameOnEveryPage(t *testing.T, open openSearcher) {
	var books []catalog.Book
	add := func(n int, format string) {
		for i := range n {
			books = append(books, catalog.Book{Title: fmt.Sprintf(format, i), Authors: "Writer", RatingsCount: int64(500 - len(books))})
		}
	}
	add(3, "Dune Messiah %d")   // "dune": 3 exact, then 25 similar spellings
	add(25, "Dunes of Sand %d") // "dunes" is one letter more: similar for "dune" typed whole
	add(25, "Gardens %d")       // "gardens": 25 exact, then 4 similar
	add(4, "Garden %d")
	add(6, "Quill %d")  // "quil": a prefix, 6 in all
	add(14, "Quilt %d") // "quilts": 14 similar only
	c := open(t, books...)
	ctx := context.Background()
	for _, q := range []string{"dune", "dunes", "gardens", "garden", "quil", "quilts", "quilt", "", "writer", "sand dune"} {
		first, err := c.Search(ctx, q, 1)
		if err != nil {
			t.Fatal(err)
		}
		pages := first.Page
		for page := 2; ; page++ {
			r, err := c.Search(ctx, q, page)
			if err != nil {
				t.Fatal(err)
			}
			if r.Total != first.Total || r.TotalCapped != first.TotalCapped || r.Similar != first.Similar || r.AllSimilar != first.AllSimilar {
				t.Errorf("%q page %d: Total %d capped %v Similar %v AllSimilar %v; page 1 says %d %v %v %v", q, page,
					r.Total, r.TotalCapped, r.Similar, r.AllSimilar, first.Total, first.TotalCapped, first.Similar, first.AllSimilar)
			}
			if len(r.Hits) == 0 {
				if r.LastPage != pages {
					t.Errorf("%q page %d is past the end: LastPage %d, want %d", q, page, r.LastPage, pages)
				}
				break
			}
			pages = page
		}
	}
}

// SearchPage shows the last page for a page past it, and says so.
func TestSearchPagePastTheEnd(t *testing.T) { onBothEngines(t, testSearchPagePastTheEnd) }

func testSearchPagePastTheEnd(t *testing.T, open openSearcher) {
	c, want := pagedCatalog(t, open)
	ctx := context.Background()
	last := (len(want) + PerPage - 1) / PerPage
	lastIDs := want[(last-1)*PerPage:]
	for _, tt := range []struct {
		query          string
		page, wantPage int
		pastEnd        bool
		wantIDs        []int64
	}{
		{"alpha", last, last, false, lastIDs},
		{"alpha", last + 1, last, true, lastIDs},
		{"alpha", MaxPages, last, true, lastIDs},
		{"alpha", int(^uint(0) >> 1), last, true, lastIDs},
		{"alpha", 0, 1, false, want[:PerPage]},
		{"", last + 3, last, true, nil},    // the popular list of 45 books
		{"saga 3", 2, 1, true, want[3:4]},  // one page: the only one
		{"zzzqqq", 3, 3, false, []int64{}}, // nothing matches: nothing to go back to
	} {
		r, err := c.SearchPage(ctx, tt.query, tt.page)
		if err != nil {
			t.Fatal(err)
		}
		wantMore := tt.query == "alpha" && tt.wantPage < last
		if r.Page != tt.wantPage || r.PastEnd != tt.pastEnd || r.PageAdjusted != (tt.page != tt.wantPage) || r.HasMore != wantMore {
			t.Errorf("SearchPage(%q, %d): Page %d PastEnd %v adjusted %v more %v; want Page %d PastEnd %v more %v",
				tt.query, tt.page, r.Page, r.PastEnd, r.PageAdjusted, r.HasMore, tt.wantPage, tt.pastEnd, wantMore)
		}
		if tt.wantIDs != nil && !slices.Equal(ids(r), tt.wantIDs) {
			t.Errorf("SearchPage(%q, %d) = %v, want %v", tt.query, tt.page, ids(r), tt.wantIDs)
		}
	}
	// The shown page is a copy: the cached last page is unmarked.
	if r, err := c.Search(ctx, "alpha", last); err != nil || r.PastEnd || r.PageAdjusted {
		t.Errorf("Search(alpha, %d) after SearchPage: PastEnd %v adjusted %v, %v", last, r.PastEnd, r.PageAdjusted, err)
	}

	// With MaxCount matches, page MaxPages is the last Shelf shows.
	books := make([]catalog.Book, MaxCount+5)
	for i := range books {
		books[i] = catalog.Book{Title: fmt.Sprintf("Common Title %d", i), Authors: "Writer", RatingsCount: int64(i)}
	}
	c = open(t, books...)
	for _, tt := range []struct {
		page    int
		pastEnd bool
	}{{MaxPages, false}, {MaxPages + 1, true}} {
		r, err := c.SearchPage(ctx, "common", tt.page)
		if err != nil || r.Page != MaxPages || r.PastEnd != tt.pastEnd || len(r.Hits) != PerPage || r.HasMore {
			t.Errorf("SearchPage(common, %d): %+v, %v", tt.page, r, err)
		}
	}
}

// A search that nothing matches as typed says so (AllSimilar): its count
// is of similar spellings only, on every page and when capped.
func TestSearchAllSimilar(t *testing.T) { onBothEngines(t, testSearchAllSimilar) }

func testSearchAllSimilar(t *testing.T, open openSearcher) {
	c := open(t, fixture...)
	ctx := context.Background()
	for _, tt := range []struct {
		query string
		want  bool
	}{
		{"hary poter", true}, // typos only
		{"dnue", true},
		{"arry", true},     // inside longer words only
		{"harry", false},   // exact, then similar
		{"hary", false},    // Bob Hary as typed, then harry
		{"dune", false},    // exact only
		{"zzzzqqq", false}, // nothing at all
		{"", false},        // the popular list
	} {
		r, err := c.Search(ctx, tt.query, 1)
		if err != nil {
			t.Fatal(err)
		}
		if r.AllSimilar != tt.want || (tt.want && (r.Similar || r.Total == 0)) {
			t.Errorf("Search(%q): AllSimilar %v Similar %v Total %d; want AllSimilar %v", tt.query, r.AllSimilar, r.Similar, r.Total, tt.want)
		}
	}

	books := make([]catalog.Book, MaxCount+100)
	for i := range books {
		books[i] = catalog.Book{Title: fmt.Sprintf("Comon Title %d", i), Authors: "Writer", RatingsCount: int64(i)}
	}
	c = open(t, books...)
	for _, page := range []int{1, 2} {
		r, err := c.Search(ctx, "common", page)
		if err != nil {
			t.Fatal(err)
		}
		if !r.AllSimilar || r.Total != MaxCount || !r.TotalCapped {
			t.Errorf("common, page %d: AllSimilar %v Total %d capped %v; want true %d true", page, r.AllSimilar, r.Total, r.TotalCapped, MaxCount)
		}
	}
}

func TestSearchPageClamping(t *testing.T) { onBothEngines(t, testSearchPageClamping) }

func testSearchPageClamping(t *testing.T, open openSearcher) {
	c, _ := pagedCatalog(t, open)
	tests := []struct {
		page, want int
		adjusted   bool
	}{
		{1, 1, false}, {2, 2, false}, {0, 1, true}, {-5, 1, true}, {MaxPages, MaxPages, false},
		{MaxPages + 1, MaxPages, true}, {int(^uint(0) >> 1), MaxPages, true}, {-int(^uint(0)>>1) - 1, 1, true},
	}
	for _, tt := range tests {
		r, err := c.Search(context.Background(), "alpha", tt.page)
		if err != nil {
			t.Fatal(err)
		}
		if r.Page != tt.want || r.PageAdjusted != tt.adjusted {
			t.Errorf("page %d: got page %d adjusted %v, want %d %v", tt.page, r.Page, r.PageAdjusted, tt.want, tt.adjusted)
		}
	}
}

func TestSearchCountIsCapped(t *testing.T) { onBothEngines(t, testSearchCountIsCapped) }

func testSearchCountIsCapped(t *testing.T, open openSearcher) {
	books := make([]catalog.Book, MaxCount+100)
	for i := range books {
		books[i] = catalog.Book{Title: fmt.Sprintf("Common Title %d", i), Authors: "Writer", RatingsCount: int64(i)}
	}
	c := open(t, books...)
	ctx := context.Background()
	r, err := c.Search(ctx, "common", 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != MaxCount || !r.TotalCapped || !r.HasMore || len(r.Hits) != PerPage {
		t.Errorf("total %d capped %v more %v hits %d", r.Total, r.TotalCapped, r.HasMore, len(r.Hits))
	}
	if r.Hits[0].Title != fmt.Sprintf("Common Title %d", len(books)-1) {
		t.Errorf("first hit %q, want the most popular", r.Hits[0].Title)
	}
	r, err = c.Search(ctx, "common", MaxPages)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Hits) != PerPage || r.HasMore {
		t.Errorf("last page: %d hits, more %v; want %d, false", len(r.Hits), r.HasMore, PerPage)
	}
	r, err = c.Search(ctx, "", 1)
	if err != nil || r.Total != MaxCount || !r.TotalCapped {
		t.Errorf("empty query: total %d capped %v, %v", r.Total, r.TotalCapped, err)
	}
}

func TestSearchHostileInput(t *testing.T) { onBothEngines(t, testSearchHostileInput) }

func testSearchHostileInput(t *testing.T, open openSearcher) {
	c := open(t, fixture...)
	for _, q := range hostileQueries() {
		for _, page := range []int{-1, 0, 1, 2, 1 << 40} {
			r, err := c.Search(context.Background(), q, page)
			if err != nil {
				t.Errorf("Search(%.40q, %d): %v", q, page, err)
				continue
			}
			if len([]rune(r.Query)) > MaxQueryRunes {
				t.Errorf("Search(%.40q): query kept %d runes", q, len([]rune(r.Query)))
			}
		}
	}
}

// hostileQueries is input meant to break a search: FTS5 syntax, markup,
// control characters, invalid UTF-8 and sheer length.
func hostileQueries() []string {
	return []string{
		`"`, `""`, `"harry`, `*`, `harry*`, `**`, `NEAR(`, `NEAR(harry potter, 2)`, `harry OR potter`, `OR`, `AND`, `NOT`,
		`harry NOT potter`, `-harry`, `^harry`, `^`, `title:harry`, `title : harry`, `{title}: harry`, `:`, `(`, `)`, `(harry`,
		`harry)`, `+`, `'`, `\`, `%`, `_`, `;`, `--`, `/* */`, `' OR 1=1 --`, `<script>alert(1)</script>`, `<b>harry</b>`,
		"\x00", "harry\x00potter", "\x1b[31m", "\u202e", "\ufeff", "\xff\xfe", "harry\xc3", "\xed\xa0\x80",
		"e\u0301", "\u0301", "😀", strings.Repeat("a", 10<<10), strings.Repeat("harry ", 2000), strings.Repeat("é", 300),
		strings.Repeat("a b ", 100), strings.Repeat(`"*(`, 1000),
	}
}

func TestNormalizeQuery(t *testing.T) {
	tests := []struct {
		in, want  string
		shortened bool
	}{
		{"  harry   potter  ", "harry potter", false},
		{"harry\x00potter\tx", "harry potter x", false},
		{"bad\xffutf8", "bad utf8", false},
		{strings.Repeat("é", MaxQueryRunes), strings.Repeat("é", MaxQueryRunes), false},
		{strings.Repeat("é", MaxQueryRunes+1), strings.Repeat("é", MaxQueryRunes), true},
		{strings.Repeat("ab ", 100), strings.TrimSpace(strings.Repeat("ab ", 67)[:MaxQueryRunes]), true},
		{strings.Repeat("x", 10<<10), strings.Repeat("x", MaxQueryRunes), true},
	}
	for _, tt := range tests {
		got, shortened := NormalizeQuery(tt.in)
		if got != tt.want || shortened != tt.shortened {
			t.Errorf("NormalizeQuery(%.30q) = %.30q, %v; want %.30q, %v", tt.in, got, shortened, tt.want, tt.shortened)
		}
	}
}

func TestSearchShortensLongQueries(t *testing.T) { onBothEngines(t, testSearchShortensLongQueries) }

func testSearchShortensLongQueries(t *testing.T, open openSearcher) {
	c := open(t, fixture...)
	ctx := context.Background()
	r, err := c.Search(ctx, "harry "+strings.Repeat("x", 300), 1)
	if err != nil || !r.Shortened || len(r.Query) != MaxQueryRunes {
		t.Errorf("long query: shortened %v len %d, %v", r.Shortened, len(r.Query), err)
	}
	r, err = c.Search(ctx, strings.Repeat("harry ", MaxQueryWords+3), 1)
	if err != nil || !r.Shortened || len(r.Hits) == 0 {
		t.Errorf("many words: shortened %v hits %d, %v", r.Shortened, len(r.Hits), err)
	}
	r, err = c.Search(ctx, "harry potter", 1)
	if err != nil || r.Shortened {
		t.Errorf("short query marked shortened: %v", err)
	}
}

func TestSearchSuggestion(t *testing.T) { onBothEngines(t, testSearchSuggestion) }

func testSearchSuggestion(t *testing.T, open openSearcher) {
	c := open(t, fixture...)
	tests := []struct{ query, want string }{
		{"hubbut", "hobbit"},                 // two edits in six letters: no typo match, but a suggestion
		{"hubbut tolkien", "hobbit tolkien"}, // words that match stay
		{"hebrret", "herbert"},
		{"hobbit", ""},         // has results
		{"zzzzzzzz", ""},       // nothing close
		{"hobbit rowling", ""}, // every word exists, just not together
		{"hubbut rowling", ""}, // the correction has no results either
	}
	for _, tt := range tests {
		r, err := c.Search(context.Background(), tt.query, 1)
		if err != nil {
			t.Fatal(err)
		}
		if r.Suggestion != tt.want {
			t.Errorf("Search(%q).Suggestion = %q, want %q (hits %v)", tt.query, r.Suggestion, tt.want, ids(r))
		}
	}
}

func TestSearchHighlights(t *testing.T) { onBothEngines(t, testSearchHighlights) }

func testSearchHighlights(t *testing.T, open openSearcher) {
	c := open(t, fixture...)
	r, err := c.Search(context.Background(), "garcia soli", 1)
	// 6 matches exactly; 16 ("soledad") only with a typo in the prefix.
	if err != nil || !slices.Equal(ids(r), []int64{6, 16}) {
		t.Fatalf("hits %v, %v", ids(r), err)
	}
	h := r.Hits[0]
	wantTitle := []Segment{{Text: "One Hundred Years of "}, {Text: "Solitude", Mark: true}}
	wantAuthors := []Segment{{Text: "Gabriel "}, {Text: "García", Mark: true}, {Text: " Márquez"}}
	if !slices.Equal(h.TitleParts, wantTitle) || !slices.Equal(h.AuthorParts, wantAuthors) {
		t.Errorf("segments %+v / %+v", h.TitleParts, h.AuthorParts)
	}
}

func TestSearchResultCache(t *testing.T) {
	c := newTestSearcher(t, fixture...)
	ctx := context.Background()
	first, err := c.Search(ctx, "harry", 1)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := c.Search(ctx, "  harry ", 1)
	if again != first {
		t.Error("the same cleaned query and page should be served from the cache")
	}
	if other, _ := c.Search(ctx, "harry", 2); other == first {
		t.Error("another page must not share the entry")
	}
	// New books reload the vocabulary and empty the cache.
	if _, err := c.db.Write.Exec(`INSERT INTO books (title, authors, ratings_count, dedupe_key) VALUES ('Harry Again', 'New Author', 999999999, 'cache-test')`); err != nil {
		t.Fatal(err)
	}
	if err := c.RefreshTerms(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, _ := c.Search(ctx, "harry", 1)
	if fresh == first || !slices.Contains(ids(fresh), 17) {
		t.Errorf("after an import the cache must not serve old results: got %v", ids(fresh))
	}
	c.SetResultCache(0)
	a, _ := c.Search(ctx, "harry", 1)
	b, _ := c.Search(ctx, "harry", 1)
	if a == b {
		t.Error("with the cache off every search is computed afresh")
	}
}
