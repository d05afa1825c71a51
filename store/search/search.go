// Package search finds books: it answers a query typed by a reader with a
// ranked, highlighted page of the catalog's books. Two engines answer by
// the same rules, SQLite's FTS5 index until the in-memory index is built;
// the Searcher owns the vocabulary they share, the current engine and a
// cache of recent result pages. On PostgreSQL the in-memory index is the
// only engine: searches wait for it (ErrNotReady), and every instance
// rebuilds its own whenever another changes the catalog (Follow).
package search

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"shelf/store"
	"shelf/store/catalog"
)

// Search limits. They keep every query bounded, whatever users type.
const (
	PerPage       = 10   // results per page (see below)
	MaxPages      = 100  // pages Shelf shows for one query: MaxCount results
	MaxQueryRunes = 200  // longer queries are cut (and the page says so)
	MaxQueryWords = 12   // further words are dropped (and the page says so)
	MaxCount      = 1000 // counts stop here: "1,000+ books"
)

// PerPage is ten, as on a web search's first page, because pages of
// results are sent as people type: every key asks for one, and all but the
// last are replaced a moment later. Ten fill a desktop window and two phone
// screens; "More results" adds the next ten. Halving the page halves what a
// search spends on it after finding its books (highlighting, rendering,
// compressing, sending), which saved a quarter of the server's time per
// uncached search at a million books (BENCHMARKS.md).

// Hit is one search result: the book and its title and authors split into
// highlighted segments. Its Book holds what a result shows: the ISBN and
// language may be left out (the book page has them).
type Hit struct {
	catalog.Book
	TitleParts  []Segment
	AuthorParts []Segment
}

// Results is one page of search results and everything the page says about
// them.
type Results struct {
	// Query is the search as Shelf ran it: trimmed, spaces collapsed,
	// control characters and invalid UTF-8 removed, cut to MaxQueryRunes.
	Query string
	Page  int // 1-based, within [1, MaxPages]
	Hits  []Hit
	// Total is how many books match, at most MaxCount; TotalCapped is set
	// when there are more than that.
	Total       int64
	TotalCapped bool
	// Similar is set when Total counts only the exact matches, which come
	// first, and matches with typos or inside longer words may follow them.
	// Counting those too would walk every variant's books; it is done only
	// when there is no exact match at all.
	Similar bool
	// AllSimilar is set when no book matches as typed: every match, and
	// Total, has a typo or a word inside a longer one.
	AllSimilar bool
	HasMore    bool // a next page exists
	// Popular is set for the empty query, which lists the most popular
	// books (at most MaxCount of them) of the Catalog books searched.
	Popular bool
	Catalog int64
	// Shortened is set when the query was cut to MaxQueryRunes runes or
	// MaxQueryWords words; PageAdjusted when the requested page was out of
	// range and Page was clamped.
	Shortened    bool
	PageAdjusted bool
	// Suggestion is a corrected query that has results, offered when this
	// one has none ("Did you mean …?").
	Suggestion string
	// LastPage is set on a page past the last one with results: that last
	// page's number. Search leaves such a page empty (an API client paging
	// on stops there); SearchPage shows the last page instead, with PastEnd.
	LastPage int
	PastEnd  bool
}

// Offset is the number of results before this page.
func (r *Results) Offset() int { return (r.Page - 1) * PerPage }

// NextPage is the page after this one.
func (r *Results) NextPage() int { return r.Page + 1 }

// lastPage is the number of the last page of n results (n > 0), at most
// MaxPages.
func lastPage(n int) int { return min((n+PerPage-1)/PerPage, MaxPages) }

// ClampPage brings a requested page number into [1, MaxPages], reporting
// whether it had to change.
func ClampPage(page int) (int, bool) {
	switch {
	case page < 1:
		return 1, true
	case page > MaxPages:
		return MaxPages, true
	}
	return page, false
}

// NormalizeQuery cleans raw user input for searching: invalid UTF-8 and
// control characters become spaces, runs of spaces collapse, and the result
// is cut to MaxQueryRunes runes. shortened reports the cut.
func NormalizeQuery(raw string) (q string, shortened bool) {
	// Work on a bounded prefix: nothing past it could survive the cut.
	if len(raw) > 16*MaxQueryRunes {
		raw, shortened = raw[:16*MaxQueryRunes], true
	}
	raw = strings.ToValidUTF8(raw, " ")
	raw = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, raw)
	q = strings.Join(strings.Fields(raw), " ")
	if n := 0; len(q) > MaxQueryRunes {
		for i := range q {
			if n == MaxQueryRunes {
				q, shortened = strings.TrimSpace(q[:i]), true
				break
			}
			n++
		}
	}
	return q, shortened
}

// ErrNotReady is what Search returns on PostgreSQL before the first index
// of the catalog is built: there is no other engine to answer, and an empty
// page would claim that nothing matches.
var ErrNotReady = errors.New("search: the search index is being built")

// Searcher answers searches over the catalog's published books. It holds
// the vocabulary of the catalog as last loaded, the engine that searches it
// and a cache of recent result pages. On SQLite it searches SQLite's index
// until BuildIndex has built the in-memory one; on PostgreSQL it answers
// ErrNotReady until then.
type Searcher struct {
	db  *store.DB
	fts *ftsEngine // one for the Searcher's life: it keeps prepared statements; nil on PostgreSQL

	mu  sync.RWMutex
	cur state // replaced by Reload and BuildIndex

	// rebuilding is held while an index is built, so changes arriving
	// meanwhile queue up instead of building several at once.
	rebuilding sync.Mutex

	results atomic.Pointer[resultCache] // recent pages of Search results

	// builds asks Follow for a new in-memory index on SQLite (see
	// followSQLite and CatalogHooks).
	builds chan struct{}
}

// state is one catalog's vocabulary and the engine that searches it, and
// the catalog's version they were read at or before (see
// catalog.SQLMarkChanged).
type state struct {
	vocab   *vocabulary
	engine  engine
	version int64
}

// engine finds the books matching a search. ftsEngine (fts.go) searches
// SQLite's FTS5 index, memoryIndex (index.go) the in-memory index, by the
// same rules: TestSearchEnginesAgree holds them to the same answers. The
// Searcher does what they share: cleaning the query, expanding its words
// with the vocabulary, and suggesting corrections.
type engine interface {
	// match fills r, whose Query and Page are set, with its page of the
	// books matching words, and says how many there are.
	match(ctx context.Context, r *Results, words []*wordTerms) error
	// popular fills r with its page of the most popular books.
	popular(ctx context.Context, r *Results) error
	// anyMatch reports whether some book matches every one of terms.
	anyMatch(ctx context.Context, terms []lookupTerm) (bool, error)
}

// lookupTerm is one word of a corrected query as the engines look it up:
// the term text, or with prefix every term that starts with it.
type lookupTerm struct {
	text   string
	id     int32 // text's index in the vocabulary, when not prefix
	prefix bool
	lo, hi int32 // with prefix: the range of terms starting with text
}

// New returns a Searcher of the catalog in db, with its vocabulary loaded
// on SQLite; on PostgreSQL it is not Ready until BuildIndex has run.
func New(ctx context.Context, db *store.DB) (*Searcher, error) {
	s := &Searcher{db: db, builds: make(chan struct{}, 1)}
	s.SetResultCache(DefaultResultCache)
	if db.Backend == store.Postgres {
		return s, nil
	}
	s.fts = &ftsEngine{db: db.Read}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the vocabulary again and empties the result cache. After an
// import publishes books (see catalog.Catalog.Import), searches see them
// once Reload returns. Until BuildIndex runs again, searches run on
// SQLite's index, which has the new books already. On PostgreSQL Reload
// builds a new index (see BuildIndex), and the old one answers meanwhile.
func (s *Searcher) Reload(ctx context.Context) error {
	if s.db.Backend == store.Postgres {
		_, err := s.BuildIndex(ctx)
		return err
	}
	version, err := s.catalogVersion(ctx)
	if err != nil {
		return err
	}
	v, err := readVocabulary(ctx, s.db.Read)
	if err != nil {
		return fmt.Errorf("load vocabulary: %w", err)
	}
	s.use(state{vocab: v, engine: s.fts, version: version})
	return nil
}

// use puts st in use and empties the result cache. Searches still running
// over the old catalog finish into the old cache.
func (s *Searcher) use(st state) {
	s.mu.Lock()
	s.cur = st
	s.mu.Unlock()
	if old := s.results.Load(); old != nil {
		s.results.Store(newResultCache(old.Entries()))
	}
}

// Ready reports whether Search answers: always on SQLite, once the first
// index is built on PostgreSQL.
func (s *Searcher) Ready() bool { return s.state().engine != nil }

// RefreshTerms rebuilds the vocabulary (search_terms) from SQLite's index
// and reloads it. Imports rebuild it themselves; this is for code that
// writes books directly (tests, repairs).
func (s *Searcher) RefreshTerms(ctx context.Context) error {
	if s.db.Backend == store.Postgres {
		return s.Reload(ctx) // the vocabulary comes with the index
	}
	if err := s.db.InTx(ctx, func(tx *sql.Tx) error { return refreshTerms(ctx, tx, true) }); err != nil {
		return err
	}
	return s.Reload(ctx)
}

// BuildIndex builds the in-memory search index of the current catalog and
// puts it in use. Searches are answered from SQLite until then, with the
// same results; Reload drops the index, and the caller builds it again. It
// reads every book once: about 6 s for a million on this project's
// reference machine (BENCHMARKS.md).
//
// On PostgreSQL it builds the vocabulary too, from the books, and puts the
// two in use together, emptying the result cache; the index it replaces
// answers until then.
func (s *Searcher) BuildIndex(ctx context.Context) (IndexStats, error) {
	if s.db.Backend == store.Postgres {
		stats, _, err := s.rebuild(ctx, false)
		return stats, err
	}
	stats, _, err := s.buildSQLite(ctx, false)
	return stats, err
}

// buildSQLite builds the in-memory index of the vocabulary in use on
// SQLite and puts it in use, unless a Reload replaced the vocabulary
// meanwhile; it reports whether it did. With onlyIfMissing it does nothing
// when an index of the vocabulary in use answers already.
func (s *Searcher) buildSQLite(ctx context.Context, onlyIfMissing bool) (IndexStats, bool, error) {
	s.rebuilding.Lock()
	defer s.rebuilding.Unlock()
	start := time.Now()
	st := s.state()
	if _, built := st.engine.(*memoryIndex); built && onlyIfMissing {
		return IndexStats{}, false, nil
	}
	ix, stats, err := buildFromSQLite(ctx, s.db.Read, st.vocab)
	if err != nil {
		return stats, false, fmt.Errorf("build search index: %w", err)
	}
	stats.Took = time.Since(start)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.vocab != st.vocab {
		return stats, false, nil
	}
	s.cur.engine = ix
	return stats, true, nil
}

// RefreshIfChanged brings s up to date when the catalog changed since its
// vocabulary was read, and reports whether it did: on PostgreSQL it
// rebuilds the index (see BuildIndex); on SQLite it reloads (see Reload),
// and the caller builds the in-memory index again.
func (s *Searcher) RefreshIfChanged(ctx context.Context) (IndexStats, bool, error) {
	if s.db.Backend == store.Postgres {
		return s.rebuild(ctx, true)
	}
	v, err := s.catalogVersion(ctx)
	if err != nil || v == s.state().version {
		return IndexStats{}, false, err
	}
	return IndexStats{}, true, s.Reload(ctx)
}

// catalogVersion reads the catalog's version (see catalog.SQLMarkChanged).
func (s *Searcher) catalogVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.Read.QueryRowContext(ctx, catalog.SQLVersion).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the catalog's version: %w", err)
	}
	return v, nil
}

// rebuild builds the vocabulary and index of the catalog on PostgreSQL
// and puts them in use; with onlyIfChanged, only when the catalog's
// version is not the one the index in use was built from.
func (s *Searcher) rebuild(ctx context.Context, onlyIfChanged bool) (IndexStats, bool, error) {
	s.rebuilding.Lock()
	defer s.rebuilding.Unlock()
	if onlyIfChanged && s.Ready() {
		v, err := s.catalogVersion(ctx)
		if err != nil || v == s.state().version {
			return IndexStats{}, false, err
		}
	}
	start := time.Now()
	version, books, textBytes, err := loadCatalog(ctx, s.db.Read)
	if err != nil {
		return IndexStats{}, false, fmt.Errorf("build search index: read the catalog: %w", err)
	}
	ix, stats, err := buildFromBooks(books, textBytes)
	if err != nil {
		return stats, false, fmt.Errorf("build search index: %w", err)
	}
	stats.Took = time.Since(start)
	s.use(state{vocab: ix.vocab, engine: ix, version: version})
	return stats, true, nil
}

// state returns the current vocabulary and the engine searching it.
func (s *Searcher) state() state {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur
}

// Search returns one page of books matching query, best first. Every word
// must match the title or authors, in any order, ignoring case and accents;
// the last word also matches as a prefix. Results come in two tiers:
//
//  1. every word matches exactly (the last as a prefix), ranked by
//     relevance: popularity blended with whole-word and title matches (see
//     rank.go);
//  2. words match with typos (one edit from 4 letters, two from 8) or as
//     substrings of longer words, by popularity.
//
// The empty query lists the most popular books. page is clamped to [1, MaxPages]; no input makes Search fail, only
// database errors do. Results may be shared with other callers (see
// resultCache): treat them as read-only.
//
// Searches run on the in-memory index once BuildIndex has built it,
// and on SQLite's FTS5 index (book_search) until then, by the same rules.
// TestSearchEnginesAgree holds the two to the same answers.
func (s *Searcher) Search(ctx context.Context, query string, page int) (*Results, error) {
	if !s.Ready() {
		return nil, ErrNotReady
	}
	r := &Results{}
	r.Page, r.PageAdjusted = ClampPage(page)
	r.Query, r.Shortened = NormalizeQuery(query)
	cache, key := s.results.Load(), resultKey(r)
	if hit, ok := cache.Get(key); ok {
		return hit, nil
	}
	r, err := s.search(ctx, r)
	if err != nil {
		return nil, err
	}
	cache.Put(key, r)
	return r, nil
}

// SearchPage is Search for a reader's page of results: a page past the
// last one with results (a page number typed into the address, or a list
// that shrank) shows the last page, with PastEnd and PageAdjusted set, not
// an empty page. So does a page past MaxPages when there are that many.
func (s *Searcher) SearchPage(ctx context.Context, query string, page int) (*Results, error) {
	r, err := s.Search(ctx, query, page)
	if err != nil || (r.LastPage == 0 && !(r.PageAdjusted && r.Page == MaxPages)) {
		return r, err
	}
	if r.LastPage > 0 {
		if r, err = s.Search(ctx, query, r.LastPage); err != nil {
			return nil, err
		}
	}
	last := *r // results may be shared: mark a copy
	last.PastEnd, last.PageAdjusted = true, true
	return &last, nil
}

// search fills r, whose Query and Page are set, without the cache.
func (s *Searcher) search(ctx context.Context, r *Results) (*Results, error) {
	st := s.state()
	if r.Query == "" {
		r.Popular, r.Catalog = true, int64(st.vocab.books)
		r.Total = min(st.vocab.books, MaxCount)
		r.TotalCapped = st.vocab.books > MaxCount
		return r, st.engine.popular(ctx, r)
	}
	folded := foldWords(r.Query)
	if len(folded) > MaxQueryWords {
		folded, r.Shortened = folded[:MaxQueryWords], true
	}
	if len(folded) == 0 {
		return r, nil // only punctuation: nothing can match
	}
	words := make([]*wordTerms, len(folded))
	possible := true
	for i, f := range folded {
		words[i] = st.vocab.expand(f, i == len(folded)-1)
		possible = possible && words[i].possible()
	}
	if possible {
		if err := st.engine.match(ctx, r, words); err != nil {
			return nil, err
		}
	}
	if r.Total == 0 && len(r.Hits) == 0 {
		sug, err := suggestion(ctx, st, words)
		if err != nil {
			return nil, err
		}
		r.Suggestion = sug
	}
	return r, nil
}

// suggestion returns a corrected query that has results, or "" when no
// correction helps. Words that match exactly stay; others become the
// closest indexed word found in more books.
func suggestion(ctx context.Context, st state, words []*wordTerms) (string, error) {
	if len(words) == 0 {
		return "", nil
	}
	out := make([]string, len(words))
	terms := make([]lookupTerm, len(words))
	changed := false
	for i, w := range words {
		if w.strict() {
			out[i] = w.word
			terms[i] = lookupTerm{text: w.word, id: w.id}
			if w.pref && !w.exact {
				terms[i] = lookupTerm{text: w.word, id: -1, prefix: true, lo: w.lo, hi: w.hi}
			}
			continue
		}
		sug, ok := st.vocab.suggest(w.word)
		if !ok {
			return "", nil
		}
		out[i], changed = sug, true
		terms[i] = lookupTerm{text: sug, id: int32(st.vocab.lookup(sug))}
	}
	if !changed {
		return "", nil
	}
	found, err := st.engine.anyMatch(ctx, terms)
	if err != nil || !found {
		return "", err
	}
	return strings.Join(out, " "), nil
}

// newHit is b as a result, highlighted for words.
func newHit(b catalog.Book, words []*wordTerms) Hit {
	h := Hit{Book: b}
	if len(words) > 0 {
		h.TitleParts = highlight(b.Title, words)
		h.AuthorParts = highlight(b.Authors, words)
	} else {
		h.TitleParts = []Segment{{Text: b.Title}}
		h.AuthorParts = []Segment{{Text: b.Authors}}
	}
	return h
}
