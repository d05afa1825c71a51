package search

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"

	"shelf/store"
	"shelf/store/catalog"
)

// ftsEngine searches SQLite's FTS5 index of the books (book_search, kept
// up to date by the catalog): Shelf's engine until the in-memory index is
// built, and the reference that index is held to.
type ftsEngine struct {
	db    *sql.DB  // the read pool
	stmts sync.Map // SQL text -> *sql.Stmt on db, see stmt
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
	strict, hasVariants := kinds(words)
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
			for _, t := range w.extraIDs {
				add(quote(w.terms[t]))
			}
			b.WriteByte(')')
		}
		loose = b.String()
	}
	return exact, loose
}

// bookID decodes a book_search rowid (see 0001_catalog.sql).
func bookID(rowid int64) int64 { return catalog.MaxBookID - rowid&catalog.MaxBookID }

const (
	sqlTier      = `SELECT rowid FROM book_search WHERE book_search MATCH $1 AND ` + catalog.SQLVisibleEntry + ` ORDER BY rowid DESC LIMIT $2`
	sqlTierTitle = `SELECT s.rowid, b.title, b.authors, b.ratings_count FROM (` + sqlTier + `) s JOIN books b ON b.id = 16777215 - (s.rowid & 16777215) ORDER BY s.rowid DESC`
	sqlCount     = `SELECT count(*) FROM (SELECT rowid FROM book_search WHERE book_search MATCH $1 AND ` + catalog.SQLVisibleEntry + ` LIMIT $2)`
	sqlPopular   = `SELECT rowid FROM book_search WHERE ` + catalog.SQLVisibleEntry + ` ORDER BY rowid DESC LIMIT $1`
)

// match fills r with the page of books matching words.
//
// Most searches have few matches, and for them one walk of the index
// settles everything: the exact matches are read once, with what ranking
// needs, up to the window (see rank.go); when that is all of them, they
// are ranked here in Go and the count is exact, with no other query. Only
// when matches abound does the window's titles starting with the query get
// their own query, and the total a counting one.
func (e *ftsEngine) match(ctx context.Context, r *Results, words []*wordTerms) error {
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
		books, err := e.collectTitled(ctx, exact, window)
		if err != nil {
			return err
		}
		var titled []titledBook
		if len(books) < window {
			strictTotal = int64(len(books))
			for _, b := range books {
				if len(titled) < titleWindow && rankTitle(b.title, words) != titleOther {
					titled = append(titled, b)
				}
			}
		} else {
			titled, err = e.collectTitled(ctx, titlePrefixMatch(words), titleWindow)
			if err != nil {
				return err
			}
		}
		for _, b := range rankWindow(books[:min(len(books), titleWindow)], titled, words) {
			add(b.id)
		}
		for _, b := range books {
			add(b.id)
		}
	}

	looseRead, looseExhausted := false, false
	if loose != "" && len(ids) < need {
		got, err := e.collect(ctx, add, sqlTier, loose, need)
		if err != nil {
			return err
		}
		looseRead, looseExhausted = true, got < need
	}
	switch {
	case looseRead && looseExhausted && (len(ids) <= PerPage || strictTotal <= 0):
		// Every match, exact and similar, was read. With exact matches,
		// that is the count only when they all fit on the first page: every
		// page gives the count the first one does.
		r.Total = int64(len(ids))
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
		n, err := e.count(ctx, match)
		if err != nil {
			return err
		}
		r.Total = min(n, MaxCount)
		r.TotalCapped = n > MaxCount
		r.Similar = similar && !r.TotalCapped
	}
	r.AllSimilar = (exact == "" || strictTotal == 0) && r.Total > 0
	return e.fill(ctx, r, ids, words)
}

// titlePrefixMatch is the FTS query for titles that start with the words.
func titlePrefixMatch(words []*wordTerms) string {
	phrase := make([]string, len(words))
	for i, w := range words {
		phrase[i] = w.word
	}
	return "title : ^" + quote(strings.Join(phrase, " ")) + "*"
}

// titledBook is a match with what ranking needs.
type titledBook struct {
	rowid, id      int64
	title, authors string
	ratings        int64
}

// rankWindow orders the union of the most popular exact matches and the
// most popular titles starting with the query, both most popular first, by
// relevance, as memoryIndex.rankWindow does.
func rankWindow(popular, titled []titledBook, words []*wordTerms) []titledBook {
	cands := slices.Clone(popular)
	for _, b := range titled {
		if !slices.ContainsFunc(popular, func(p titledBook) bool { return p.id == b.id }) {
			cands = append(cands, b)
		}
	}
	slices.SortFunc(cands, func(a, b titledBook) int { return cmp.Compare(b.rowid, a.rowid) })
	ranked := make([]scored[titledBook], len(cands))
	for i, b := range cands {
		ranked[i] = scored[titledBook]{b, relevance(b.ratings, lastWordWhole(b.title, b.authors, words), rankTitle(b.title, words))}
	}
	sortByRelevance(ranked)
	for i := range ranked {
		cands[i] = ranked[i].c
	}
	return cands
}

// collectTitled returns up to limit books matching the FTS query, most
// popular first, with their titles.
func (e *ftsEngine) collectTitled(ctx context.Context, match string, limit int) ([]titledBook, error) {
	rows, err := e.query(ctx, sqlTierTitle, match, limit)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", match, err)
	}
	defer rows.Close()
	var out []titledBook
	for rows.Next() {
		var b titledBook
		if err := rows.Scan(&b.rowid, &b.title, &b.authors, &b.ratings); err != nil {
			return nil, fmt.Errorf("search %q: %w", match, err)
		}
		b.id = bookID(b.rowid)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search %q: %w", match, err)
	}
	return out, nil
}

// collect runs query, which selects book_search rowids, and passes their
// books to add in order. It returns how many rows the query gave.
func (e *ftsEngine) collect(ctx context.Context, add func(id int64), query string, args ...any) (int, error) {
	rows, err := e.query(ctx, query, args...)
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
func (e *ftsEngine) count(ctx context.Context, match string) (int64, error) {
	var n int64
	st, err := e.stmt(ctx, sqlCount)
	if err == nil {
		err = st.QueryRowContext(ctx, match, MaxCount+1).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", match, err)
	}
	return n, nil
}

// popular fills r with a page of the most popular books.
func (e *ftsEngine) popular(ctx context.Context, r *Results) error {
	need := r.Offset() + PerPage + 1
	var ids []int64 // rowids are unique: no book comes twice
	if _, err := e.collect(ctx, func(id int64) { ids = append(ids, id) }, sqlPopular, need); err != nil {
		return err
	}
	return e.fill(ctx, r, ids, nil)
}

// sqlBooksByID fetches one page of books.
var sqlBooksByID = `SELECT ` + catalog.SQLBookColumns + ` FROM books WHERE id IN (` + store.Params(1, PerPage) + `)`

// fill loads the books of r's page from ids (the ranked ids of every page
// up to this one, plus one) and highlights them.
func (e *ftsEngine) fill(ctx context.Context, r *Results, ids []int64, words []*wordTerms) error {
	r.HasMore = len(ids) > r.Offset()+PerPage && r.Page < MaxPages
	if r.Offset() >= len(ids) {
		r.LastPage = lastPage(len(ids))
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
	rows, err := e.query(ctx, sqlBooksByID, args...)
	if err != nil {
		return fmt.Errorf("search: load books: %w", err)
	}
	defer rows.Close()
	byID := make(map[int64]catalog.Book, len(page))
	for rows.Next() {
		b, err := catalog.ScanBook(rows)
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

// anyMatch reports whether some book matches every one of terms.
func (e *ftsEngine) anyMatch(ctx context.Context, terms []lookupTerm) (bool, error) {
	match := make([]string, len(terms))
	for i, t := range terms {
		match[i] = quote(t.text)
		if t.prefix {
			match[i] += "*"
		}
	}
	rows, err := e.query(ctx, sqlTier, strings.Join(match, " "), 1)
	if err != nil {
		return false, fmt.Errorf("suggest: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	return true, nil
}

// stmt returns query prepared on the read pool, preparing it once: search
// runs a handful of fixed statements thousands of times a second, and
// parsing them again each time would cost more than running them.
func (e *ftsEngine) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := e.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := e.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := e.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// query runs a prepared read query.
func (e *ftsEngine) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := e.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
