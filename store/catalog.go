package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Book is one catalog entry. Zero values mean unknown: Year 0, ISBN13 "",
// AverageRating 0.
type Book struct {
	ID            int64
	Title         string
	Authors       string
	Year          int
	ISBN13        string
	Language      string
	AverageRating float64
	RatingsCount  int64
}

// MaxBookID is the largest id the search index can encode in its rowid.
const MaxBookID = 1<<24 - 1

// Catalog is the book collection and its search index.
type Catalog struct {
	db *DB

	mu    sync.RWMutex
	vocab *vocabulary  // in-memory copy of search_terms, replaced after imports
	index *searchIndex // built from vocab's catalog, or nil (see BuildSearchIndex)

	stmts sync.Map // SQL text -> *sql.Stmt on db.Read, see (*Catalog).stmt

	results atomic.Pointer[resultCache] // recent pages of Search results
}

// NewCatalog opens the catalog over db and loads the search vocabulary.
func NewCatalog(ctx context.Context, db *DB) (*Catalog, error) {
	c := &Catalog{db: db}
	c.SetResultCache(DefaultResultCache)
	if err := c.loadVocabulary(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Readers see only published books. An import stages its books with ids
// from catalog_state.staged_from on and publishes them by clearing it (see
// migrations/0006_staged_imports.sql and stager).
const (
	// sqlVisibleBelow is the first id readers may not see.
	sqlVisibleBelow = `(SELECT coalesce(staged_from, 16777216) FROM catalog_state)`
	// sqlVisibleBook holds for the books rows readers see.
	sqlVisibleBook = `id < ` + sqlVisibleBelow
	// sqlVisibleEntry holds for the book_search rows readers see (the id
	// is encoded in the rowid, see bookID).
	sqlVisibleEntry = `16777215 - (rowid & 16777215) < ` + sqlVisibleBelow
)

const bookColumns = `id, title, authors, coalesce(year, 0), coalesce(isbn13, ''), language, coalesce(average_rating, 0), ratings_count`

func scanBook(row interface{ Scan(...any) error }) (Book, error) {
	var b Book
	err := row.Scan(&b.ID, &b.Title, &b.Authors, &b.Year, &b.ISBN13, &b.Language, &b.AverageRating, &b.RatingsCount)
	return b, err
}

// Get returns the book with the given id, or ErrNotFound.
func (c *Catalog) Get(ctx context.Context, id int64) (Book, error) {
	b, err := scanBook(c.db.Read.QueryRowContext(ctx, `SELECT `+bookColumns+` FROM books WHERE id = ? AND `+sqlVisibleBook, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Book{}, ErrNotFound
	}
	if err != nil {
		return Book{}, fmt.Errorf("get book %d: %w", id, err)
	}
	return b, nil
}

// Count returns how many books the catalog holds.
func (c *Catalog) Count(ctx context.Context) (int64, error) {
	var n int64
	err := c.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM books WHERE `+sqlVisibleBook).Scan(&n)
	return n, err
}

// IsEmpty reports whether the catalog has no books, without counting them.
func (c *Catalog) IsEmpty(ctx context.Context) (bool, error) {
	var one int
	err := c.db.Read.QueryRowContext(ctx, `SELECT 1 FROM books WHERE `+sqlVisibleBook+` LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	return false, err
}

// refreshSearchTerms rebuilds search_terms from the index inside tx, for
// code that writes books directly (see RefreshSearchTerms; imports refresh
// the terms when they publish, see stager.publish). With optimize it first
// merges the index into one segment, in this one transaction.
func refreshSearchTerms(ctx context.Context, tx *sql.Tx, optimize bool) error {
	if optimize {
		if _, err := tx.ExecContext(ctx, `INSERT INTO book_search (book_search) VALUES ('optimize')`); err != nil {
			return fmt.Errorf("optimize search index: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_terms`); err != nil {
		return fmt.Errorf("refresh search terms: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO search_terms (term, docs) SELECT term, doc FROM book_terms`); err != nil {
		return fmt.Errorf("refresh search terms: %w", err)
	}
	return nil
}
