package goodreads

import (
	"context"
	"fmt"
	"strings"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/search"
)

// Catalog is what matching needs from the catalog.
type Catalog interface {
	// ByISBN returns the books with the given ISBN-13s, by ISBN.
	ByISBN(ctx context.Context, isbns []string) (map[string]catalog.Book, error)
	// Candidates returns books that may be the one a title and author
	// name: the first page of a catalog search for them.
	Candidates(ctx context.Context, query string) ([]catalog.Book, error)
}

// How a row was matched.
const (
	ByISBN        = "ISBN"
	ByTitleAuthor = "title and author"
)

// Match is one row of the export and the catalog book it is, if any.
type Match struct {
	Row
	Book   catalog.Book // ID 0 when not matched
	By     string       // ByISBN or ByTitleAuthor when matched
	Reason string       // why not, when not matched
}

// Matched reports whether the row found its book.
func (m Match) Matched() bool { return m.Book.ID != 0 }

// MatchRows finds each row's book: by ISBN-13 first (an ISBN-10 was
// converted by Parse), then by title and author, compared folded as search
// folds them, with a series suffix ("Opal (Lux, #3)") or a subtitle after a
// colon on either side tolerated. Several books fitting equally, or a
// second row naming the same book, are reported rather than guessed at.
// progress, when set, is called with the rows done so far.
func MatchRows(ctx context.Context, cat Catalog, rows []Row, progress func(done int)) ([]Match, error) {
	out := make([]Match, len(rows))
	const batch = 200
	firstLine := map[int64]int{}
	for start := 0; start < len(rows); start += batch {
		end := min(start+batch, len(rows))
		var isbns []string
		for _, r := range rows[start:end] {
			if r.ISBN13 != "" {
				isbns = append(isbns, r.ISBN13)
			}
		}
		byISBN, err := cat.ByISBN(ctx, isbns)
		if err != nil {
			return nil, err
		}
		for i := start; i < end; i++ {
			m := Match{Row: rows[i]}
			if b, ok := byISBN[m.ISBN13]; ok && m.ISBN13 != "" {
				m.Book, m.By = b, ByISBN
			} else if err := matchTitle(ctx, cat, &m); err != nil {
				return nil, err
			}
			if m.Matched() {
				if line, dup := firstLine[m.Book.ID]; dup {
					m.Reason = fmt.Sprintf("the same book as line %d", line)
					m.Book, m.By = catalog.Book{}, ""
				} else {
					firstLine[m.Book.ID] = m.Line
				}
			}
			out[i] = m
		}
		if progress != nil {
			progress(end)
		}
	}
	return out, nil
}

func matchTitle(ctx context.Context, cat Catalog, m *Match) error {
	var noTitle string
	switch {
	case m.ISBN13 != "":
		noTitle = "ISBN " + m.ISBN13 + " is not in the catalog"
	case m.Unknown != "":
		noTitle = fmt.Sprintf("ISBN %s is not a valid ISBN", quote(m.Unknown))
	default:
		noTitle = "not in the catalog: no ISBN"
	}
	switch {
	case m.Title == "":
		m.Reason = noTitle + ", and the row has no title"
		return nil
	case search.Fold(m.Author) == "":
		m.Reason = noTitle + ", and the row has no author to match the title with"
		return nil
	}
	noTitle += ", and no book with this title and author"
	want := titleForms(m.Title)
	author := search.Fold(m.Author)
	query := want.main + " " + lastWord(author)
	books, err := cat.Candidates(ctx, query)
	if err != nil {
		return err
	}
	var best []catalog.Book
	bestScore := 0
	for _, b := range books {
		if !authorMatches(author, b.Authors) {
			continue
		}
		score := want.score(titleForms(b.Title))
		switch {
		case score == 0 || score < bestScore:
		case score > bestScore:
			best, bestScore = []catalog.Book{b}, score
		default:
			best = append(best, b)
		}
	}
	switch len(best) {
	case 0:
		m.Reason = noTitle
	case 1:
		m.Book, m.By = best[0], ByTitleAuthor
	default:
		ids := make([]string, len(best))
		for i, b := range best {
			ids[i] = fmt.Sprintf("#%d", b.ID)
		}
		m.Reason = fmt.Sprintf("ambiguous: %d catalog books have this title and author (%s)", len(best), strings.Join(ids, ", "))
	}
	return nil
}

// forms are a title folded whole, without a trailing parenthesis (a series,
// "(Lux, #3)"), and without that and a subtitle after a colon.
type forms struct{ full, noSeries, main string }

func titleForms(title string) forms {
	f := forms{full: search.Fold(title)}
	t := strings.TrimSpace(title)
	if strings.HasSuffix(t, ")") {
		if i := strings.LastIndex(t, "("); i > 0 {
			t = strings.TrimSpace(t[:i])
		}
	}
	f.noSeries = search.Fold(t)
	if i := strings.Index(t, ":"); i > 0 {
		t = t[:i]
	}
	f.main = search.Fold(t)
	if f.noSeries == "" {
		f.noSeries = f.full
	}
	if f.main == "" {
		f.main = f.noSeries
	}
	return f
}

// score says how well two titles agree: 3 the same, 2 the same but for a
// series, 1 the same main title, 0 different.
func (f forms) score(g forms) int {
	switch {
	case f.full == g.full:
		return 3
	case f.noSeries == g.noSeries:
		return 2
	case f.main == g.main:
		return 1
	}
	return 0
}

// authorMatches reports whether author (folded) is one of authors, the
// catalog's comma-separated list: the same folded name, or the same last
// name and first initial ("J. R. R. Tolkien" and "J.R.R. Tolkien").
func authorMatches(author, authors string) bool {
	for _, a := range strings.Split(authors, ",") {
		a = search.Fold(a)
		if a == "" {
			continue
		}
		if a == author || (lastWord(a) == lastWord(author) && a[0] == author[0]) {
			return true
		}
	}
	return false
}

func lastWord(s string) string {
	if i := strings.LastIndexByte(s, ' '); i >= 0 {
		return s[i+1:]
	}
	return s
}

// CatalogLookup looks books up in the catalog's database and search index.
type CatalogLookup struct {
	DB     *store.DB
	Search *search.Searcher
}

// ByISBN reads the books with the given ISBN-13s. A book with an ISBN has
// it as its dedupe key (see catalog's dedupeKey), which is indexed; the
// ISBN column itself is not.
func (l CatalogLookup) ByISBN(ctx context.Context, isbns []string) (map[string]catalog.Book, error) {
	out := map[string]catalog.Book{}
	if len(isbns) == 0 {
		return out, nil
	}
	args := make([]any, len(isbns))
	for i, s := range isbns {
		args[i] = s
	}
	rows, err := l.DB.Read.QueryContext(ctx, `SELECT `+catalog.SQLBookColumns+` FROM books WHERE dedupe_key IN (`+
		store.Params(1, len(isbns))+`) AND `+catalog.SQLVisibleBook, args...)
	if err != nil {
		return nil, fmt.Errorf("books by ISBN: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		b, err := catalog.ScanBook(rows)
		if err != nil {
			return nil, fmt.Errorf("books by ISBN: %w", err)
		}
		if b.ISBN13 != "" {
			out[b.ISBN13] = b
		}
	}
	return out, rows.Err()
}

// Candidates returns the first page of a catalog search for query.
func (l CatalogLookup) Candidates(ctx context.Context, query string) ([]catalog.Book, error) {
	r, err := l.Search.SearchUncached(ctx, query, 1)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", query, err)
	}
	books := make([]catalog.Book, len(r.Hits))
	for i, h := range r.Hits {
		books[i] = h.Book
	}
	return books, nil
}
