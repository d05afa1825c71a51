package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode"
)

// Search limits. They keep every query bounded, whatever users type.
const (
	PerPage       = 20   // results per page
	MaxPages      = 50   // pages Shelf shows for one query
	MaxQueryRunes = 200  // longer queries are cut (and the page says so)
	MaxQueryWords = 12   // further words are dropped (and the page says so)
	MaxCount      = 1000 // counts stop here: "1,000+ books"
)

// Hit is one search result: the book and its title and authors split into
// highlighted segments. Its Book holds what a result shows: the ISBN and
// language may be left out (the book page has them).
type Hit struct {
	Book
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
	HasMore bool // a next page exists
	// Popular is set for the empty query, which lists the most popular books.
	Popular bool
	// Shortened is set when the query was cut to MaxQueryRunes runes or
	// MaxQueryWords words; PageAdjusted when the requested page was out of
	// range and Page was clamped.
	Shortened    bool
	PageAdjusted bool
	// Suggestion is a corrected query that has results, offered when this
	// one has none ("Did you mean …?").
	Suggestion string
}

// Offset is the number of results before this page.
func (r *Results) Offset() int { return (r.Page - 1) * PerPage }

// NextPage is the page after this one.
func (r *Results) NextPage() int { return r.Page + 1 }

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

// Search returns one page of books matching query, best first. Every word
// must match the title or authors, in any order, ignoring case and accents;
// the last word also matches as a prefix. Results come in tiers:
//
//  0. the title equals the query, then titles that start with it;
//  1. every word matches exactly (the last as a prefix);
//  2. words match with typos (one edit from 4 letters, two from 8) or as
//     substrings of longer words;
//
// and by popularity within a tier. The empty query lists the most popular
// books. page is clamped to [1, MaxPages]; no input makes Search fail, only
// database errors do. Results may be shared with other callers (see
// resultCache): treat them as read-only.
//
// Searches run on the in-memory index once BuildSearchIndex has built it,
// and on SQLite's FTS5 index (book_search) until then, by the same rules.
// TestSearchEnginesAgree holds the two to the same answers.
func (c *Catalog) Search(ctx context.Context, query string, page int) (*Results, error) {
	r := &Results{}
	r.Page, r.PageAdjusted = ClampPage(page)
	r.Query, r.Shortened = NormalizeQuery(query)
	cache, key := c.results.Load(), resultKey(r)
	if hit, ok := cache.Get(key); ok {
		return hit, nil
	}
	r, err := c.search(ctx, r)
	if err != nil {
		return nil, err
	}
	cache.Put(key, r)
	return r, nil
}

// search fills r, whose Query and Page are set, without the cache.
func (c *Catalog) search(ctx context.Context, r *Results) (*Results, error) {
	v, ix := c.searchState()
	if r.Query == "" {
		r.Popular = true
		return r, c.popular(ctx, v, ix, r)
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
		words[i] = v.expand(f, i == len(folded)-1)
		possible = possible && words[i].possible()
	}
	if possible {
		if ix != nil {
			ix.match(r, words)
		} else if err := c.match(ctx, r, words); err != nil {
			return nil, err
		}
	}
	if r.Total == 0 && len(r.Hits) == 0 {
		s, err := c.suggestion(ctx, v, ix, words)
		if err != nil {
			return nil, err
		}
		r.Suggestion = s
	}
	return r, nil
}

// quote makes s one FTS5 string: whatever it holds is a term to look up,
// never query syntax.
func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// matchQueries builds the FTS queries of Search: exact, every word as
// typed (the last also as a prefix), empty when some word has no exact
// match; and loose, which also takes each word's typo and substring
// variants, empty when no word has any. loose matches include exact's.
func matchQueries(words []*wordTerms) (exact, loose string) {
	strict, hasVariants := true, false
	for _, w := range words {
		strict = strict && w.strict()
		hasVariants = hasVariants || len(w.extra) > 0
	}
	if strict {
		var b strings.Builder
		for i, w := range words {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(quote(w.word))
			if w.last {
				b.WriteByte('*')
			}
		}
		exact = b.String()
	}
	if hasVariants {
		var b strings.Builder
		for i, w := range words {
			if i > 0 {
				b.WriteString(" AND ")
			}
			b.WriteByte('(')
			n := 0
			add := func(s string) {
				if n > 0 {
					b.WriteString(" OR ")
				}
				b.WriteString(s)
				n++
			}
			switch {
			case w.pref:
				add(quote(w.word) + "*")
			case w.exact:
				add(quote(w.word))
			}
			for _, e := range w.extra {
				add(quote(e))
			}
			b.WriteByte(')')
		}
		loose = b.String()
	}
	return exact, loose
}

// bookID decodes a book_search rowid (see 0001_catalog.sql).
func bookID(rowid int64) int64 { return MaxBookID - rowid&MaxBookID }

const (
	sqlTier      = `SELECT rowid FROM book_search WHERE book_search MATCH ? AND ` + sqlVisibleEntry + ` ORDER BY rowid DESC LIMIT ?`
	sqlTierTitle = `SELECT s.rowid, b.title FROM (` + sqlTier + `) s JOIN books b ON b.id = 16777215 - (s.rowid & 16777215) ORDER BY s.rowid DESC`
	sqlCount     = `SELECT count(*) FROM (SELECT rowid FROM book_search WHERE book_search MATCH ? AND ` + sqlVisibleEntry + ` LIMIT ?)`
	sqlPopular   = `SELECT rowid FROM book_search WHERE ` + sqlVisibleEntry + ` ORDER BY rowid DESC LIMIT ?`
)

// match fills r with the page of books matching words.
//
// Most searches have few matches, and for them one walk of the index
// settles everything: the exact all-words tier is read once, with titles,
// up to titleWindow books; when that is all of them, the title tiers are
// ranked here in Go and the count is exact, with no other query. Only when
// matches abound (where the title-prefix query finds its LIMIT quickly)
// does the title tier get its own query and the total a counting one.
func (c *Catalog) match(ctx context.Context, r *Results, words []*wordTerms) error {
	exact, loose := matchQueries(words)
	need := r.Offset() + PerPage + 1 // one more tells whether a next page exists
	var ids []int64
	seen := map[int64]bool{}
	add := func(id int64) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}

	var strictTotal int64 = -1 // how many exact matches, when all were read
	if exact != "" {
		window := max(need, titleWindow)
		books, err := c.collectTitled(ctx, exact, window)
		if err != nil {
			return err
		}
		ranked := books
		if len(books) < window {
			strictTotal = int64(len(books))
		} else if len(words) == 1 {
			// Many books hold the word: titles that start with it may be
			// beyond the window, and are plentiful enough that the
			// title-prefix query finds them fast. (For several words a
			// rare phrase makes that query walk every match; their title
			// matches are ranked within the window.)
			prefix, err := c.collectTitled(ctx, titlePrefixMatch(words), need)
			if err != nil {
				return err
			}
			ranked = append(prefix, books...)
		}
		ranks := make([]titleRank, len(ranked))
		for i, b := range ranked {
			ranks[i] = rankTitle(b.title, words)
		}
		for _, rank := range []titleRank{titleExact, titlePrefix, titleOther} {
			for i, b := range ranked {
				if ranks[i] == rank {
					add(b.id)
				}
			}
		}
	}

	looseRead, looseExhausted := false, false
	if loose != "" && len(ids) < need {
		got, err := c.collect(ctx, add, sqlTier, loose, need)
		if err != nil {
			return err
		}
		looseRead, looseExhausted = true, got < need
	}
	switch {
	case looseRead && looseExhausted:
		r.Total = int64(len(ids)) // every match, exact and similar, was read
	case strictTotal > 0:
		r.Total, r.Similar = strictTotal, loose != ""
	case strictTotal == 0 && loose == "":
		r.Total = 0
	default:
		// Too many to have read them all: count, counting only the exact
		// matches when there are many (similar spellings follow them).
		match, similar := loose, false
		if exact != "" && strictTotal < 0 {
			match, similar = exact, loose != ""
		}
		n, err := c.count(ctx, match)
		if err != nil {
			return err
		}
		r.Total = min(n, MaxCount)
		r.TotalCapped = n > MaxCount
		r.Similar = similar && !r.TotalCapped
	}
	return c.fill(ctx, r, ids, words)
}

// match is Catalog.match on the in-memory index: the same tiers, counts
// and flags, except that every title equal to the query ranks first, not
// only those among the first titleWindow exact matches.
func (ix *searchIndex) match(r *Results, words []*wordTerms) {
	need := r.Offset() + PerPage + 1
	strict, hasVariants := true, false
	for _, w := range words {
		strict = strict && w.strict()
		hasVariants = hasVariants || len(w.extra) > 0
	}
	docs := make([]uint32, 0, need)
	seen := make(map[uint32]struct{}, need)
	add := func(d uint32) {
		if len(docs) >= need {
			return
		}
		if _, ok := seen[d]; !ok {
			seen[d] = struct{}{}
			docs = append(docs, d)
		}
	}
	// countAll walks sets for a count up to MaxCount+1, passing the docs
	// to each until it returns false. A single word matches at least as
	// many books as its most common term: when that is over MaxCount
	// already, the page is all it walks.
	countAll := func(sets []termSet, each func(d uint32, n int) bool) (n int) {
		capped := len(sets) == 1 && sets[0].longest(ix.postStart) > MaxCount
		ix.each(sets, func(d uint32) bool {
			n++
			return each(d, n) && n <= MaxCount && !(capped && n >= need)
		})
		if capped {
			n = max(n, MaxCount+1)
		}
		return n
	}

	exactN, looseN := 0, 0 // matches counted, up to MaxCount+1
	if strict {
		// Titles equal to the query, then titles starting with it, then
		// the other exact matches. When those are few, their titles are
		// ranked as they come; when many, the titles are looked up.
		sets := ix.termSets(words, false)
		var exact []uint32
		exactN = countAll(sets, func(d uint32, _ int) bool {
			if len(exact) < max(need, titleWindow) {
				exact = append(exact, d)
			}
			return true
		})
		if exactN <= len(exact) {
			for _, rank := range []titleRank{titleExact, titlePrefix} {
				for _, d := range exact {
					if ix.rankTitle(d, words) == rank {
						add(d)
					}
				}
			}
		} else {
			ix.eachTitleEqual(words, func(d uint32) bool {
				add(d)
				return len(docs) < need
			})
			ix.eachTitled(words, sets, func(d uint32) bool {
				add(d)
				return len(docs) < need
			})
		}
		for _, d := range exact {
			add(d)
		}
	}
	if hasVariants && exactN < need {
		looseN = countAll(ix.termSets(words, true), func(d uint32, n int) bool {
			add(d)
			// With exact matches the count is theirs (similar spellings
			// follow): a page, and knowing they are not all, is enough.
			return exactN == 0 || len(docs) < need || n < need
		})
	}
	switch {
	case hasVariants && exactN < need && looseN < need:
		r.Total = int64(looseN) // every match, exact and similar
	case exactN > 0:
		r.Total, r.TotalCapped = int64(min(exactN, MaxCount)), exactN > MaxCount
		r.Similar = hasVariants && !r.TotalCapped
	default:
		r.Total, r.TotalCapped = int64(min(looseN, MaxCount)), looseN > MaxCount
	}
	ix.fill(r, docs, words)
}

// titleWindow is how many exact matches one search reads at most before
// deciding they are many; below it, ranking and counting need no other query.
const titleWindow = 64

type titleRank int

const (
	titleExact  titleRank = iota // the title is the query
	titlePrefix                  // the title starts with the query (its last word as a prefix)
	titleOther
)

// rankTitle places a title in Search's title tiers for words.
func rankTitle(title string, words []*wordTerms) titleRank {
	tw := foldWords(title)
	if len(tw) < len(words) {
		return titleOther
	}
	for i, w := range words {
		switch {
		case tw[i] == w.word:
		case i == len(words)-1 && w.last && strings.HasPrefix(tw[i], w.word):
			return titlePrefix
		default:
			return titleOther
		}
	}
	if len(tw) == len(words) {
		return titleExact
	}
	return titlePrefix
}

// titlePrefixMatch is the FTS query for titles that start with the words.
func titlePrefixMatch(words []*wordTerms) string {
	phrase := make([]string, len(words))
	for i, w := range words {
		phrase[i] = w.word
	}
	return "title : ^" + quote(strings.Join(phrase, " ")) + "*"
}

type titledBook struct {
	id    int64
	title string
}

// collectTitled returns up to limit books matching the FTS query, most
// popular first, with their titles.
func (c *Catalog) collectTitled(ctx context.Context, match string, limit int) ([]titledBook, error) {
	rows, err := c.query(ctx, sqlTierTitle, match, limit)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", match, err)
	}
	defer rows.Close()
	var out []titledBook
	for rows.Next() {
		var rowid int64
		var b titledBook
		if err := rows.Scan(&rowid, &b.title); err != nil {
			return nil, fmt.Errorf("search %q: %w", match, err)
		}
		b.id = bookID(rowid)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search %q: %w", match, err)
	}
	return out, nil
}

// collect runs query, which selects book_search rowids, and passes their
// books to add in order. It returns how many rows the query gave.
func (c *Catalog) collect(ctx context.Context, add func(id int64), query string, args ...any) (int, error) {
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("search %q: %w", args[0], err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var rowid int64
		if err := rows.Scan(&rowid); err != nil {
			return 0, fmt.Errorf("search %q: %w", args[0], err)
		}
		n++
		add(bookID(rowid))
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("search %q: %w", args[0], err)
	}
	return n, nil
}

// count returns how many books match, counting no further than MaxCount+1.
func (c *Catalog) count(ctx context.Context, match string) (int64, error) {
	var n int64
	st, err := c.stmt(ctx, sqlCount)
	if err == nil {
		err = st.QueryRowContext(ctx, match, MaxCount+1).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", match, err)
	}
	return n, nil
}

// popular fills r with a page of the most popular books.
func (c *Catalog) popular(ctx context.Context, v *vocabulary, ix *searchIndex, r *Results) error {
	need := r.Offset() + PerPage + 1
	r.Total = min(v.books, MaxCount)
	r.TotalCapped = v.books > MaxCount
	if ix != nil {
		docs := make([]uint32, min(need, len(ix.books)))
		for i := range docs {
			docs[i] = uint32(i) // docs are numbered by popularity
		}
		ix.fill(r, docs, nil)
		return nil
	}
	var ids []int64 // rowids are unique: no book comes twice
	if _, err := c.collect(ctx, func(id int64) { ids = append(ids, id) }, sqlPopular, need); err != nil {
		return err
	}
	return c.fill(ctx, r, ids, nil)
}

// sqlBooksByID fetches one page of books.
var sqlBooksByID = `SELECT ` + bookColumns + ` FROM books WHERE id IN (?` + strings.Repeat(",?", PerPage-1) + `)`

// fill loads the books of r's page from ids (the ranked ids of every page
// up to this one, plus one) and highlights them.
func (c *Catalog) fill(ctx context.Context, r *Results, ids []int64, words []*wordTerms) error {
	r.HasMore = len(ids) > r.Offset()+PerPage && r.Page < MaxPages
	if r.Offset() >= len(ids) {
		return nil
	}
	page := ids[r.Offset():min(len(ids), r.Offset()+PerPage)]
	args := make([]any, PerPage)
	for i := range args {
		args[i] = 0
		if i < len(page) {
			args[i] = page[i]
		}
	}
	rows, err := c.query(ctx, sqlBooksByID, args...)
	if err != nil {
		return fmt.Errorf("search: load books: %w", err)
	}
	defer rows.Close()
	byID := make(map[int64]Book, len(page))
	for rows.Next() {
		b, err := scanBook(rows)
		if err != nil {
			return fmt.Errorf("search: load books: %w", err)
		}
		byID[b.ID] = b
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("search: load books: %w", err)
	}
	r.Hits = make([]Hit, 0, len(page))
	for _, id := range page {
		b, ok := byID[id]
		if !ok {
			continue // deleted between the two queries
		}
		r.Hits = append(r.Hits, newHit(b, words))
	}
	return nil
}

// newHit is b as a result, highlighted for words.
func newHit(b Book, words []*wordTerms) Hit {
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

// fill is Catalog.fill from the in-memory index: r's page of docs, the
// ranked docs of every page up to this one, plus one. Its books carry what
// a result shows (not their ISBN or language).
func (ix *searchIndex) fill(r *Results, docs []uint32, words []*wordTerms) {
	r.HasMore = len(docs) > r.Offset()+PerPage && r.Page < MaxPages
	if r.Offset() >= len(docs) {
		return
	}
	page := docs[r.Offset():min(len(docs), r.Offset()+PerPage)]
	r.Hits = make([]Hit, len(page))
	for i, d := range page {
		r.Hits[i] = newHit(ix.book(d), words)
	}
}

// suggestion returns a corrected query that has results, or "" when no
// correction helps. Words that match exactly stay; others become the
// closest indexed word found in more books.
func (c *Catalog) suggestion(ctx context.Context, v *vocabulary, ix *searchIndex, words []*wordTerms) (string, error) {
	if len(words) == 0 {
		return "", nil
	}
	out := make([]string, len(words))
	match := make([]string, len(words))
	sets := make([]termSet, len(words))
	changed := false
	for i, w := range words {
		if w.strict() {
			out[i], match[i] = w.word, quote(w.word)
			sets[i] = termSet{id: w.id}
			if w.pref && !w.exact {
				match[i] += "*"
				sets[i] = termSet{id: -1, lo: w.lo, hi: w.hi}
			}
			continue
		}
		s, ok := v.suggest(w.word)
		if !ok {
			return "", nil
		}
		out[i], match[i], changed = s, quote(s), true
		sets[i] = termSet{id: int32(v.lookup(s))}
	}
	if !changed {
		return "", nil
	}
	if ix != nil {
		found := false
		ix.each(sets, func(uint32) bool { found = true; return false })
		if !found {
			return "", nil
		}
		return strings.Join(out, " "), nil
	}
	rows, err := c.query(ctx, sqlTier, strings.Join(match, " "), 1)
	if err != nil {
		return "", fmt.Errorf("suggest: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return "", rows.Err()
	}
	return strings.Join(out, " "), nil
}

// stmt returns query prepared on the read pool, preparing it once: search
// runs a handful of fixed statements thousands of times a second, and
// parsing them again each time would cost more than running them.
func (c *Catalog) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.Read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// query runs a prepared read query.
func (c *Catalog) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
