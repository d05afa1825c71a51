// Package catalog keeps the books: it reads them and imports them (from
// CSV, the bundled catalog or a synthetic generator). On SQLite it stages
// each import and publishes it in one step, and maintains the search tables
// an import fills (book_search, search_terms), which package search reads;
// on PostgreSQL an import is one transaction loaded with COPY, announced to
// every instance with NOTIFY.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"shelf/store"
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

// Catalog is the book collection.
type Catalog struct {
	db    *store.DB
	now   func() time.Time
	hooks ChangeHooks // see SetChangeHooks
}

// New opens the catalog over db.
func New(db *store.DB) *Catalog {
	return &Catalog{db: db, now: time.Now}
}

// Readers see only published books. An import stages its books with ids
// from catalog_state.staged_from on and publishes them by clearing it (see
// store/migrations/sqlite/0006_staged_imports.sql and stager).
// Package search reads books with the same conditions, so they are exported.
const (
	// sqlVisibleBelow is the first id readers may not see.
	sqlVisibleBelow = `(SELECT coalesce(staged_from, 16777216) FROM catalog_state)`
	// SQLVisibleBook holds for the books rows readers see.
	SQLVisibleBook = `id < ` + sqlVisibleBelow
	// SQLVisibleEntry holds for the book_search rows readers see (the id
	// is encoded in the rowid: MaxBookID - rowid&MaxBookID).
	SQLVisibleEntry = `16777215 - (rowid & 16777215) < ` + sqlVisibleBelow
)

// ChangeChannel is the PostgreSQL channel on which every transaction that
// changes books sends a notification as it commits (see SQLMarkChanged):
// serving instances listen on it and rebuild their search index.
const ChangeChannel = "shelf_catalog"

// SQLMarkChanged records a change to books: it adds one to
// catalog_state.version. A transaction that changes books runs it, and on
// PostgreSQL SQLNotifyChanged too, before it commits.
const (
	SQLMarkChanged   = `UPDATE catalog_state SET version = version + 1`
	SQLNotifyChanged = `SELECT pg_notify('` + ChangeChannel + `', '')`
)

// SQLVersion reads the catalog's version (see SQLMarkChanged).
const SQLVersion = `SELECT version FROM catalog_state`

// SQLBookColumns selects a Book from the books table, for ScanBook.
const SQLBookColumns = `id, title, authors, coalesce(year, 0), coalesce(isbn13, ''), language, coalesce(average_rating, 0), ratings_count`

// ScanBook reads a row of SQLBookColumns.
func ScanBook(row interface{ Scan(...any) error }) (Book, error) {
	var b Book
	err := row.Scan(&b.ID, &b.Title, &b.Authors, &b.Year, &b.ISBN13, &b.Language, &b.AverageRating, &b.RatingsCount)
	return b, err
}

// Get returns the book with the given id, or store.ErrNotFound.
func (c *Catalog) Get(ctx context.Context, id int64) (Book, error) {
	b, err := ScanBook(c.db.Read.QueryRowContext(ctx, `SELECT `+SQLBookColumns+` FROM books WHERE id = $1 AND `+SQLVisibleBook, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Book{}, store.ErrNotFound
	}
	if err != nil {
		return Book{}, fmt.Errorf("get book %d: %w", id, err)
	}
	return b, nil
}

// getManyBatch bounds an IN list (both backends limit parameters).
const getManyBatch = 500

// GetMany returns the books with the given ids, by id, in one query per
// 500 ids; ids of no book readers may see are left out.
func (c *Catalog) GetMany(ctx context.Context, ids []int64) (map[int64]Book, error) {
	out := make(map[int64]Book, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), getManyBatch)]
		ids = ids[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		if err := c.readBooks(ctx, out, `SELECT `+SQLBookColumns+` FROM books
			WHERE id IN (`+store.Params(1, len(batch))+`) AND `+SQLVisibleBook, args...); err != nil {
			return nil, fmt.Errorf("get books: %w", err)
		}
	}
	return out, nil
}

func (c *Catalog) readBooks(ctx context.Context, into map[int64]Book, query string, args ...any) error {
	rows, err := c.db.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		b, err := ScanBook(rows)
		if err != nil {
			return err
		}
		into[b.ID] = b
	}
	return rows.Err()
}

// Count returns how many books the catalog holds.
func (c *Catalog) Count(ctx context.Context) (int64, error) {
	var n int64
	err := c.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM books WHERE `+SQLVisibleBook).Scan(&n)
	return n, err
}

// IsEmpty reports whether the catalog has no books, without counting them.
func (c *Catalog) IsEmpty(ctx context.Context) (bool, error) {
	var one int
	err := c.db.Read.QueryRowContext(ctx, `SELECT 1 FROM books WHERE `+SQLVisibleBook+` LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	return false, err
}
