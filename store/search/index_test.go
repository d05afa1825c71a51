package search

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"shelf/store/catalog"
)

func TestBuildSearchIndex(t *testing.T) {
	c := newTestSearcher(t, fixture...)
	ctx := context.Background()
	stats, err := c.BuildIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, ix := c.searchState()
	if ix == nil || ix.vocab != v {
		t.Fatal("the built index is not in use")
	}
	var postings int
	for _, d := range v.docs {
		postings += int(d)
	}
	if stats.Books != len(fixture) || stats.Terms != len(v.terms) || stats.Postings != postings || stats.Unindexed != 0 {
		t.Errorf("stats %+v; want %d books, %d terms, %d postings (FTS5's counts), 0 unindexed",
			stats, len(fixture), len(v.terms), postings)
	}
	// Docs are numbered most popular first.
	for d := 1; d < ix.docs(); d++ {
		prev, cur := fixture[ix.info[d-1].book-1].RatingsCount, fixture[ix.info[d].book-1].RatingsCount
		if prev < cur {
			t.Errorf("doc %d (book %d, %d ratings) after a less popular one (%d ratings)", d, ix.info[d].book, cur, prev)
		}
	}
	// Each doc shows its own book.
	for d := range uint32(ix.docs()) {
		got, want := ix.book(d), fixture[ix.info[d].book-1]
		if got.Title != want.Title || got.Authors != want.Authors || got.Year != want.Year ||
			got.AverageRating != want.AverageRating || got.RatingsCount != want.RatingsCount {
			t.Errorf("doc %d shows %+v, want %+v", d, got, want)
		}
	}
	// Every list is strictly ascending, and the openings are the titles' first words.
	for term := range v.terms {
		for _, list := range [][]uint32{ix.post[ix.postStart[term]:ix.postStart[term+1]], ix.open[ix.openStart[term]:ix.openStart[term+1]]} {
			if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
				t.Errorf("term %q: list %v is not strictly ascending", v.terms[term], list)
			}
		}
		if got, want := len(ix.post[ix.postStart[term]:ix.postStart[term+1]]), int(v.docs[term]); got != want {
			t.Errorf("term %q: %d postings, FTS5 counts %d", v.terms[term], got, want)
		}
	}
	dune := v.lookup("dune")
	opens := ix.open[ix.openStart[dune]:ix.openStart[dune+1]]
	var books []int32
	for _, d := range opens {
		books = append(books, ix.info[d].book)
	}
	if !slices.Equal(books, []int32{9, 8}) { // Dune Messiah is more popular; Children of Dune does not open with it
		t.Errorf("titles opening with dune: books %v, want [9 8]", books)
	}

	// An import replaces the vocabulary and drops the index, which would
	// miss the new books.
	if _, err := c.db.Write.Exec(`INSERT INTO books (title, authors, ratings_count, dedupe_key) VALUES ('Dune Again', 'New Author', 1, 'index-test')`); err != nil {
		t.Fatal(err)
	}
	if err := c.RefreshTerms(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ix := c.searchState(); ix != nil {
		t.Error("the index survived an import")
	}
}

// TestSearchEnginesAgree runs a few thousand generated queries against a
// generated catalog on both engines and requires the same answers: counts,
// flags, suggestions and the ids of the first two pages: both rank the
// same window of candidates by the same relevance (rank.go).
func TestSearchEnginesAgree(t *testing.T) {
	books := benchBooks(3000)
	fts := newTestSearcher(t, books...)
	mem := newIndexedSearcher(t, books...)
	fts.SetResultCache(0)
	mem.SetResultCache(0)
	ctx := context.Background()
	queries := engineQueries(books, 1500)
	compared := 0 // pages with hits whose ids were compared
	for _, q := range queries {
		for _, page := range []int{1, 2} {
			a, err := fts.Search(ctx, q, page)
			if err != nil {
				t.Fatalf("fts: Search(%q): %v", q, err)
			}
			b, err := mem.Search(ctx, q, page)
			if err != nil {
				t.Fatalf("memory: Search(%q): %v", q, err)
			}
			if d := diffResults(a, b); d != "" {
				t.Errorf("Search(%q, page %d): fts and memory differ: %s", q, page, d)
			}
			if len(b.Hits) > 0 {
				compared++
			}
		}
	}
	// The queries must exercise the engines, not just agree on nothing.
	if compared < len(queries)/2 {
		t.Errorf("only %d pages of %d queries had hits to compare", compared, len(queries))
	}
	t.Logf("%d queries, %d pages with hits compared id by id", len(queries), compared)
}

func diffResults(a, b *Results) string {
	var d []string
	if !slices.Equal(ids(a), ids(b)) {
		d = append(d, fmt.Sprintf("ids %v vs %v", ids(a), ids(b)))
	}
	if a.Total != b.Total || a.TotalCapped != b.TotalCapped || a.Similar != b.Similar || a.AllSimilar != b.AllSimilar || a.HasMore != b.HasMore {
		d = append(d, fmt.Sprintf("total %d/%v similar %v/%v more %v vs total %d/%v similar %v/%v more %v",
			a.Total, a.TotalCapped, a.Similar, a.AllSimilar, a.HasMore, b.Total, b.TotalCapped, b.Similar, b.AllSimilar, b.HasMore))
	}
	if len(a.Hits) == len(b.Hits) {
		for i := range a.Hits {
			x, y := a.Hits[i], b.Hits[i]
			x.ISBN13, x.Language = "", "" // results leave them out
			if x.Book != y.Book || !slices.Equal(x.TitleParts, y.TitleParts) || !slices.Equal(x.AuthorParts, y.AuthorParts) {
				d = append(d, fmt.Sprintf("hit %d: %+v vs %+v", i, x, y))
			}
		}
	}
	if a.Suggestion != b.Suggestion {
		d = append(d, fmt.Sprintf("suggestion %q vs %q", a.Suggestion, b.Suggestion))
	}
	return strings.Join(d, "; ")
}

// engineQueries makes n queries of the kinds people type from the books'
// own words: prefixes, whole words, two and three words, typos, substrings
// and misses.
func engineQueries(books []catalog.Book, n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := books[rng.IntN(len(books))]
		w := foldWords(b.Title + " " + b.Authors)
		return w[rng.IntN(len(w))]
	}
	typo := func(w string) string {
		r := []rune(w)
		if len(r) < 2 {
			return w
		}
		i := rng.IntN(len(r) - 1)
		switch rng.IntN(3) {
		case 0:
			r[i], r[i+1] = r[i+1], r[i]
		case 1:
			r = append(r[:i], r[i+1:]...)
		default:
			r[i] = 'a' + rune(rng.IntN(26))
		}
		return string(r)
	}
	prefix := func(w string) string {
		r := []rune(w)
		return string(r[:1+rng.IntN(len(r))])
	}
	var out []string
	for range n {
		var q string
		switch rng.IntN(9) {
		case 0:
			q = prefix(word())
		case 1:
			q = word()
		case 2:
			q = word() + " " + prefix(word())
		case 3:
			q = word() + " " + word() + " " + prefix(word())
		case 4:
			q = typo(word())
		case 5:
			q = typo(word()) + " " + typo(word())
		case 6:
			w := []rune(word())
			i := rng.IntN(len(w))
			q = string(w[i:min(len(w), i+3+rng.IntN(3))])
		case 7:
			q = word() + " zq" + prefix(word())
		default:
			b := books[rng.IntN(len(books))]
			q = prefix(b.Title)
		}
		out = append(out, q)
	}
	return out
}

func TestMerged(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var lists [][]uint32
		want := map[uint32]bool{}
		for range 1 + rng.IntN(12) {
			var l []uint32
			for d := uint32(rng.IntN(5)); d < 300; d += 1 + uint32(rng.IntN(40)) {
				l = append(l, d)
				want[d] = true
			}
			lists = append(lists, l)
		}
		var union []uint32
		for d := range want {
			union = append(union, d)
		}
		slices.Sort(union)

		var got []uint32
		m := newMerged(slices.Clone(lists))
		for d, ok := m.next(); ok; d, ok = m.next() {
			got = append(got, d)
		}
		if !slices.Equal(got, union) {
			t.Fatalf("merged = %v, want %v", got, union)
		}
	}
}

// matchesEvery is the definition of a match: each set holds one of doc d's
// terms.
func matchesEvery(ix *memoryIndex, d uint32, sets []termSet) bool {
	for i := range sets {
		if !sets[i].matchesAny(ix.tokens(d)) {
			return false
		}
	}
	return true
}

// TestEachFindsEveryMatch checks both ways of intersecting (lazily, and
// with bitmaps) against the definition: a doc matches when each set holds
// one of its terms.
func TestEachFindsEveryMatch(t *testing.T) {
	c := newIndexedSearcher(t, benchBooks(4000)...)
	v, ix := c.searchState()
	if len(ix.initials) == 0 {
		t.Fatal("no initial has a bitmap: the test would not cover them")
	}
	// Twice: the second time, the common prefixes have bitmaps (see
	// prefixBitmaps).
	queries := engineQueries(benchBooks(4000), 400)
	anded := 0
	for _, q := range append(slices.Clone(queries), queries...) {
		words := queryWords(v, q)
		if words == nil {
			continue
		}
		for _, loose := range []bool{false, true} {
			sets := ix.termSets(words, loose)
			var want []uint32
			for d := range uint32(ix.docs()) {
				if matchesEvery(ix, d, sets) {
					want = append(want, d)
				}
			}
			sizes := make([]int, len(sets))
			for i := range sets {
				sizes[i] = sets[i].size(ix.postStart)
			}
			ways := map[string]func(fn func(uint32) bool){
				"each":           func(fn func(uint32) bool) { ix.each(sets, MaxCount+1, fn) },
				"each for a few": func(fn func(uint32) bool) { ix.each(sets, PerPage+1, fn) },
			}
			allBits := true
			for i := range sets {
				allBits = allBits && sets[i].bits != nil
			}
			if slices.Min(sizes) > 0 {
				ways["lazy"] = func(fn func(uint32) bool) {
					if _, done := ix.eachLazy(sets, sizes, math.MaxInt, fn); !done {
						t.Fatalf("eachLazy(%q) not done without a budget", q)
					}
				}
				for _, budget := range []int{0, 1, 7} {
					ways[fmt.Sprintf("lazy for %d, then bitmaps", budget)] = func(fn func(uint32) bool) {
						ix.eachLazyThenBitmap(sets, sizes, budget, fn)
					}
				}
				ways["bitmap"] = func(fn func(uint32) bool) { ix.eachBitmap(sets, sizes, fn) }
				if allBits {
					ways["and"] = func(fn func(uint32) bool) { ix.eachAnd(sets, sizes, fn) }
					anded++
				}
			}
			for name, walk := range ways {
				var got []uint32
				walk(func(d uint32) bool { got = append(got, d); return true })
				if !slices.Equal(got, want) {
					t.Fatalf("%s(%q, loose %v): %d docs, want %d", name, q, loose, len(got), len(want))
				}
				// Stopping early stops.
				if len(want) > 1 {
					n := 0
					walk(func(uint32) bool { n++; return n < 2 })
					if n != 2 {
						t.Fatalf("%s(%q): went on after fn returned false (%d calls)", name, q, n)
					}
				}
			}
		}
	}
	if len(ix.prefixes.kept) == 0 {
		t.Error("no prefix got a bitmap: the test did not cover them")
	}
	if anded == 0 {
		t.Error("no query had a bitmap for every word: the test did not cover eachAnd")
	}
}

// eachTitled walks, in order, exactly the docs whose title opens with the
// query's words (rankTitle), whether it checks each title or trusts the
// lists it walks.
func TestEachTitledFindsEveryOpening(t *testing.T) {
	c := newIndexedSearcher(t, benchBooks(4000)...)
	v, ix := c.searchState()
	counted := map[int]int{} // queries with some titled doc, by words
	for _, q := range engineQueries(benchBooks(4000), 400) {
		words := queryWords(v, q)
		if words == nil {
			continue
		}
		var want []uint32
		for d := range uint32(ix.docs()) {
			if ix.rankTitle(d, words) != titleOther {
				want = append(want, d)
			}
		}
		var got []uint32
		ix.eachTitled(words, ix.termSets(words, false), func(d uint32) bool { got = append(got, d); return true })
		if !slices.Equal(got, want) {
			t.Fatalf("eachTitled(%q): %v, want %v", q, got, want)
		}
		if len(want) > 0 {
			counted[min(len(words), 3)]++
		}
	}
	for n := 1; n <= 3; n++ {
		if counted[n] == 0 {
			t.Errorf("no query of %d words had a title opening with it: the test did not cover them", n)
		}
	}
}

// TestSearchIndexConcurrently searches from several goroutines at once while
// the index is rebuilt and swapped in (run with -race): the index is read
// only, and per-search state (cursors, heaps, pooled bitmaps) is not shared.
func TestSearchIndexConcurrently(t *testing.T) {
	books := benchBooks(2000)
	c := newIndexedSearcher(t, books...)
	c.SetResultCache(0)
	queries := engineQueries(books, 200)
	want := map[string][]int64{}
	for _, q := range queries {
		r, err := c.Search(context.Background(), q, 1)
		if err != nil {
			t.Fatal(err)
		}
		want[q] = ids(r)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queries {
				q := queries[(i+g*50)%len(queries)]
				r, err := c.Search(context.Background(), q, 1)
				if err != nil {
					errs <- err.Error()
					return
				}
				if got := ids(r); !slices.Equal(got, want[q]) {
					errs <- fmt.Sprintf("Search(%q) = %v, want %v", q, got, want[q])
					return
				}
			}
		}()
	}
	if _, err := c.BuildIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestDocBitmap checks the bitmap and its summary against sets of docs:
// ANDing, walking in order, and clearing for reuse.
func TestDocBitmap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const docs = 300_000
	ix := &memoryIndex{info: make([]docInfo, docs+1)}
	ix.bitmaps.New = func() any { return newDocBitmap(docs) }
	for range 50 {
		a, b := map[uint32]bool{}, map[uint32]bool{}
		var la, lb []uint32
		for d := uint32(rng.IntN(500)); d < docs; d += 1 + uint32(rng.IntN(20000)) {
			la = append(la, d)
			a[d] = true
		}
		for d := uint32(rng.IntN(500)); d < docs; d += 1 + uint32(rng.IntN(3000)) {
			lb = append(lb, d)
			b[d] = true
		}
		ix.postStart, ix.post = []uint32{0, uint32(len(la)), uint32(len(la) + len(lb))}, slices.Concat(la, lb)
		ba, bb := ix.bitmap(&termSet{id: 0}), ix.bitmap(&termSet{id: 1})
		var want []uint32
		for _, d := range la {
			if b[d] {
				want = append(want, d)
			}
		}
		if n := ba.and(bb); n != len(want) {
			t.Fatalf("and counted %d, want %d", n, len(want))
		}
		var got []uint32
		ba.each(func(d uint32) bool { got = append(got, d); return true })
		if !slices.Equal(got, want) {
			t.Fatalf("each after and = %v, want %v", got, want)
		}
		ix.release(ba)
		ix.release(bb)
		clean := ix.bitmaps.Get().(*docBitmap)
		if slices.ContainsFunc(clean.words, func(w uint64) bool { return w != 0 }) || slices.ContainsFunc(clean.sum, func(w uint64) bool { return w != 0 }) {
			t.Fatal("a released bitmap is not clear")
		}
		ix.bitmaps.Put(clean)
	}
}

// A common prefix gets a bitmap the second time it is searched, holding
// exactly its terms' docs; at most maxPrefixBitmaps are kept, the most
// searched ones.
func TestPrefixBitmaps(t *testing.T) {
	c := newIndexedSearcher(t, benchBooks(4000)...)
	v, ix := c.searchState()
	var ranges []prefixRange
	seen := map[prefixRange]bool{}
	for _, term := range v.terms {
		for n := 2; n <= 3 && n < len(term); n++ {
			lo, hi := v.prefixRange(term[:n])
			r := prefixRange{lo, hi}
			if hi-lo > 1 && !seen[r] {
				seen[r] = true
				ranges = append(ranges, r)
			}
		}
	}
	if len(ranges) <= maxPrefixBitmaps {
		t.Fatalf("only %d prefixes: eviction is not covered", len(ranges))
	}
	if ix.prefixBits(ranges[0].lo, ranges[0].hi) != nil {
		t.Fatal("a bitmap the first time a prefix is searched")
	}
	b := ix.prefixBits(ranges[0].lo, ranges[0].hi)
	if b == nil {
		t.Fatal("no bitmap the second time")
	}
	want := ix.newBitmap(&termSet{id: -1, lo: ranges[0].lo, hi: ranges[0].hi})
	if !slices.Equal(b.words, want.words) || !slices.Equal(b.sum, want.sum) {
		t.Fatal("the kept bitmap differs from its terms' docs")
	}
	for range 5 { // the most searched one
		ix.prefixBits(ranges[0].lo, ranges[0].hi)
	}
	for _, r := range ranges[1:] {
		ix.prefixBits(r.lo, r.hi)
		ix.prefixBits(r.lo, r.hi)
	}
	if n := len(ix.prefixes.kept); n != maxPrefixBitmaps {
		t.Fatalf("%d bitmaps kept, want %d", n, maxPrefixBitmaps)
	}
	if ix.prefixes.kept[ranges[0]] == nil {
		t.Fatal("the most searched prefix lost its bitmap to ones searched less")
	}
}

// A termFilter never rules out one of its terms, and rules out terms that
// share no bit with them.
func TestTermFilter(t *testing.T) {
	for _, terms := range [][]int32{nil, {0}, {63, 64, 255, 256, 1000}, {7, 7 + 256, 7 + 512}} {
		f := newTermFilter(terms)
		for _, term := range terms {
			if !f.maybe(term) {
				t.Errorf("filter of %v rules out %d", terms, term)
			}
		}
		for term := int32(0); term < 2048; term++ {
			shared := false
			for _, m := range terms {
				shared = shared || m%256 == term%256
			}
			if f.maybe(term) != shared {
				t.Errorf("filter of %v: maybe(%d) = %v", terms, term, f.maybe(term))
			}
		}
	}
}

// TestRankWindowStopsEarlyInTheSameOrder checks that ranking only as much
// of a window as a page needs (docs in popularity order, byRatings) gives
// the first keep of ranking all of it, ties included.
func TestRankWindowStopsEarlyInTheSameOrder(t *testing.T) {
	books := benchBooks(3000)
	for i := range books { // many equal ratings, so ties are ranked too
		books[i].RatingsCount = int64(i % 7 * 10)
	}
	s := newIndexedSearcher(t, books...)
	st := s.state()
	ix := st.engine.(*memoryIndex)
	if !ix.byRatings {
		t.Fatal("docs are not in popularity order: the early stop is never used")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	compared := 0
	for _, q := range engineQueries(books, 400) {
		words := queryWords(st.vocab, q)
		if words == nil {
			continue
		}
		var exact []uint32
		ix.each(ix.termSets(words, false), MaxCount+1, func(d uint32) bool {
			exact = append(exact, d)
			return len(exact) < titleWindow
		})
		var titled []uint32
		for d := range uint32(ix.docs()) {
			if rng.IntN(200) == 0 {
				titled = append(titled, d)
			}
		}
		for _, keep := range []int{1, PerPage + 1, 2*PerPage + 1, 200} {
			ix.byRatings = false
			want := ix.rankWindow(exact, titled, words, keep)
			ix.byRatings = true
			got := ix.rankWindow(exact, titled, words, keep)
			if !slices.Equal(got, want) {
				t.Fatalf("%q, keep %d: got %v, want %v", q, keep, got, want)
			}
			compared++
		}
	}
	if compared < 400 {
		t.Fatalf("only %d windows compared", compared)
	}
}

// TestPopularPageEndsWithAWordlessBook: the least popular book, last in the
// index, has no terms and no text after it; reading ahead (touch) must not
// read past the index's ends.
func TestPopularPageEndsWithAWordlessBook(t *testing.T) {
	books := []catalog.Book{
		{Title: "Dune", Authors: "Frank Herbert", RatingsCount: 100},
		{Title: "?!", Authors: "—", RatingsCount: 1},
	}
	s := newIndexedSearcher(t, books...)
	ix := s.state().engine.(*memoryIndex)
	last := &ix.info[ix.docs()-1]
	if int(last.tokStart) != len(ix.toks) {
		t.Fatalf("the last doc's terms start at %d of %d: it is not wordless", last.tokStart, len(ix.toks))
	}
	r, err := s.Search(context.Background(), "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Hits) != 2 || r.Hits[1].Title != "?!" {
		t.Fatalf("got %+v", r.Hits)
	}
}
