package search

import (
	"cmp"
	"context"
	"database/sql"
	"slices"

	"shelf/store/catalog"
)

// On PostgreSQL there is no FTS5: the in-memory index is the only engine,
// and its vocabulary is counted here, in Go, from the books themselves
// with the index's own tokenizer, as the index is built. Keeping a
// search_terms table on PostgreSQL instead would mean maintaining it in
// every transaction that changes books, and reading it would save nothing:
// building the index reads and tokenizes every book anyway.

const sqlAllBooks = `SELECT id, title, authors, coalesce(year, 0), coalesce(average_rating, 0), ratings_count FROM books WHERE ` + catalog.SQLVisibleBook

// loadCatalog reads the catalog's version and every published book, from
// one snapshot, most popular first (book_search's rowid order on SQLite:
// most ratings first, then lowest id).
func loadCatalog(ctx context.Context, db *sql.DB) (version int64, books []indexedBook, textBytes int64, err error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return 0, nil, 0, err
	}
	defer tx.Rollback()
	var n int64
	if err := tx.QueryRowContext(ctx, catalog.SQLVersion).Scan(&version); err != nil {
		return 0, nil, 0, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM books WHERE `+catalog.SQLVisibleBook).Scan(&n); err != nil {
		return 0, nil, 0, err
	}
	rows, err := tx.QueryContext(ctx, sqlAllBooks)
	if err != nil {
		return 0, nil, 0, err
	}
	defer rows.Close()
	books = make([]indexedBook, 0, n)
	var b indexedBook
	for rows.Next() {
		if err := rows.Scan(&b.id, &b.title, &b.authors, &b.year, &b.rating, &b.ratings); err != nil {
			return 0, nil, 0, err
		}
		textBytes += int64(len(b.title) + len(b.authors))
		books = append(books, b)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, 0, err
	}
	slices.SortFunc(books, func(a, b indexedBook) int {
		if c := cmp.Compare(b.ratings, a.ratings); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return version, books, textBytes, nil
}

// vocabularyOf counts the books each word of books appears in, as FTS5's
// book_terms does on SQLite.
func vocabularyOf(books []indexedBook) *vocabulary {
	ids := map[string]int32{}
	var terms []string
	var docs, lastDoc []int32
	for d := range books {
		count := func(_, _ int, folded []byte) {
			t, ok := ids[string(folded)]
			if !ok {
				term := string(folded)
				t = int32(len(terms))
				ids[term] = t
				terms, docs, lastDoc = append(terms, term), append(docs, 0), append(lastDoc, -1)
			}
			if lastDoc[t] != int32(d) {
				lastDoc[t] = int32(d)
				docs[t]++
			}
		}
		tokenize(books[d].title, count)
		tokenize(books[d].authors, count)
	}
	return sortedVocabulary(int64(len(books)), terms, docs)
}

// buildFromBooks builds the vocabulary and the index of books.
func buildFromBooks(books []indexedBook, textBytes int64) (*memoryIndex, IndexStats, error) {
	v := vocabularyOf(books)
	return buildMemoryIndex(v, textBytes, func(add func(*indexedBook) error) error {
		for i := range books {
			if err := add(&books[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
