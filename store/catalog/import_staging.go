package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"shelf/store"
)

// An import must not stall the server beside it, so it never holds the
// database for long. It inserts its books in small transactions as staged
// books, which readers do not see (ids from catalog_state.staged_from on,
// see sqlVisibleBelow), indexing each batch as it goes, and publishes them
// all in one short transaction at the end. Between transactions it pauses
// now and then so that writers waiting for the database get it.
//
// An import that stops half-way (an error, a cancelled ctx, kill -9)
// leaves staged books that nobody sees; the import itself removes them on
// an error, and the next import removes what a killed one left. Imports
// hold an exclusive lock (lockImports) so two never interleave.
const (
	stageBatch = 2000 // books per transaction: tens of milliseconds

	// stageStretch is how long an import writes, in back-to-back batches,
	// before it pauses for stagePause. A writer waiting for the database
	// retries it every 100 ms at most (SQLite's busy handler), so a pause
	// longer than that lets every waiting writer in: none waits much more
	// than stageStretch + stagePause + one batch (0.5 s measured beside a
	// million-book import, TestImportBesideWriter).
	stageStretch = 300 * time.Millisecond
	stagePause   = 110 * time.Millisecond

	// stageBusyTimeout is how long an import waits for other writers: their
	// transactions are short, but may be many.
	stageBusyTimeout = 60 * time.Second

	// mergeStepPages is how many pages one incremental merge of the search
	// index writes in one transaction.
	mergeStepPages = 400
)

// stager inserts an import's books as staged books and publishes them.
type stager struct {
	db   *sql.DB   // the importer's own connection to the database
	conn *sql.Conn // ... pinned, so its PRAGMAs hold
	pace pacer

	nextID            int64 // the id the next book gets
	added, duplicates int
	batch             []bookRow // books not yet inserted
}

// newStager opens a connection of its own to c's database: the import's
// transactions then queue with other writers' in SQLite, the same whether
// those are in this process or another.
func (c *Catalog) newStager(ctx context.Context) (*stager, error) {
	db, err := sql.Open("sqlite", store.WriterDSN(c.db.Path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &stager{db: db, conn: conn, pace: pacer{since: time.Now()}}
	for _, pragma := range []string{
		fmt.Sprintf(`PRAGMA busy_timeout = %d`, stageBusyTimeout.Milliseconds()),
		`PRAGMA cache_size = -65536`, // 64 MiB: the search index's pages being merged
		// Checkpoint every 40 MB of WAL rather than 4: the index's pages
		// are rewritten often, and copied to the database once per
		// checkpoint.
		`PRAGMA wal_autocheckpoint = 10000`,
	} {
		if _, err := conn.ExecContext(ctx, pragma); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

func (s *stager) firstID() int64 { return s.nextID }

func (s *stager) queryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	return s.conn.QueryRowContext(ctx, query, args...)
}

func (s *stager) close() {
	s.conn.Close()
	s.db.Close()
}

// begin starts staging after the last book stored.
func (s *stager) begin(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var maxID int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM books`).Scan(&maxID); err != nil {
			return err
		}
		s.nextID = maxID + 1
		if _, err := tx.ExecContext(ctx, sqlStagingMerges); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE catalog_state SET staged_from = $1`, s.nextID)
		return err
	})
}

// add queues b, inserting a batch when there are enough.
func (s *stager) add(ctx context.Context, b bookRow) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.batch = append(s.batch, b)
	if len(s.batch) < stageBatch {
		return nil
	}
	return s.flush(ctx)
}

// flush inserts the queued books in one transaction and indexes them in
// rowid order: FTS5 writes out its pending terms whenever a rowid is lower
// than the one before, and rowids ordered by popularity come in random
// order book by book.
func (s *stager) flush(ctx context.Context) error {
	if len(s.batch) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, sqlInsertBook)
		if err != nil {
			return err
		}
		defer stmt.Close()
		first := s.nextID
		for i := range s.batch {
			if err := s.insert(ctx, stmt, &s.batch[i]); err != nil {
				return err
			}
		}
		if s.nextID == first {
			return nil
		}
		_, err = tx.ExecContext(ctx, sqlIndexStaged, first, s.nextID)
		return err
	})
	s.batch = s.batch[:0]
	if err != nil {
		return err
	}
	return s.pace.rest(ctx)
}

const sqlInsertBook = `INSERT INTO books (id, title, authors, year, isbn13, language, average_rating, ratings_count, dedupe_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (dedupe_key) DO NOTHING`

// sqlIndexStaged indexes the staged books with ids in [?, ?). The rowid
// expression must match books_search_insert in store/migrations/sqlite/0006 (a test
// compares the two).
const sqlIndexStaged = `INSERT INTO book_search (rowid, title, authors)
SELECT (ratings_count << 24) | (16777215 - id), title, authors FROM books WHERE id >= $1 AND id < $2 ORDER BY 1`

// insert inserts b with the next id, unless a book with its dedupe key is
// there already.
func (s *stager) insert(ctx context.Context, stmt *sql.Stmt, b *bookRow) error {
	if s.nextID > MaxBookID {
		return fmt.Errorf("%w: book ids may not exceed %d", ErrCatalogFull, MaxBookID)
	}
	var year, isbn, rating any
	if b.year != 0 {
		year = b.year
	}
	if b.isbn13 != "" {
		isbn = b.isbn13
	}
	if b.hasRating {
		rating = b.rating
	}
	res, err := stmt.ExecContext(ctx, s.nextID, b.title, b.authors, year, isbn, b.language, rating, b.count, b.key)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		s.duplicates++
		return nil
	}
	s.nextID++
	s.added++
	return nil
}

// mergeIndex merges the search index into one segment, a few hundred pages
// per transaction. A bulk insert leaves many segments, and every search on
// SQLite's index would otherwise read and merge them all. (A small import
// adds a segment or two, which FTS5's automerge folds in as it goes.)
func (s *stager) mergeIndex(ctx context.Context) error {
	for {
		var changes int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var before, after int64
			if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO book_search (book_search, rank) VALUES ('merge', $1)`, -mergeStepPages); err != nil {
				return err
			}
			err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&after)
			changes = after - before
			return err
		})
		if err != nil {
			return fmt.Errorf("merge search index: %w", err)
		}
		if changes < 2 { // FTS5's sign that no merge work is left
			return nil
		}
		if err := s.pace.rest(ctx); err != nil {
			return err
		}
	}
}

// Each batch adds a segment to the search index, and FTS5 merges segments
// as it goes, a few pages per write, once 'automerge' of them are on one
// level (4 by default); at 'crisismerge' (16) it merges them all at once,
// however long that takes. While staging, merging 64 at a time means each
// book is rewritten once or twice instead of four or five times (a million
// books imported 20% faster), and 128 keeps those long merges away;
// mergeIndex then merges the rest. Publishing restores the defaults, as does
// clearing an interrupted import.
const (
	sqlStagingMerges = `INSERT INTO book_search (book_search, rank) VALUES ('automerge', 64), ('crisismerge', 128)`
	sqlDefaultMerges = `INSERT INTO book_search (book_search, rank) VALUES ('automerge', 4), ('crisismerge', 16)`
)

// publish makes the staged books visible. With refreshTerms it also
// rebuilds search_terms from the index: the terms are read first, outside
// any write transaction, so the one that publishes only writes them.
func (s *stager) publish(ctx context.Context, refreshTerms bool) error {
	type termDocs struct {
		term string
		docs int64
	}
	var terms []termDocs
	if refreshTerms {
		rows, err := s.conn.QueryContext(ctx, `SELECT term, doc FROM book_terms`)
		if err != nil {
			return fmt.Errorf("read search terms: %w", err)
		}
		for rows.Next() {
			var t termDocs
			if err := rows.Scan(&t.term, &t.docs); err != nil {
				rows.Close()
				return fmt.Errorf("read search terms: %w", err)
			}
			terms = append(terms, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read search terms: %w", err)
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if refreshTerms {
			if _, err := tx.ExecContext(ctx, `DELETE FROM search_terms`); err != nil {
				return fmt.Errorf("refresh search terms: %w", err)
			}
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO search_terms (term, docs) VALUES ($1, $2)`)
			if err != nil {
				return fmt.Errorf("refresh search terms: %w", err)
			}
			defer stmt.Close()
			for _, t := range terms {
				if _, err := stmt.ExecContext(ctx, t.term, t.docs); err != nil {
					return fmt.Errorf("refresh search terms: %w", err)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, sqlDefaultMerges); err != nil {
			return err
		}
		if refreshTerms {
			if _, err := tx.ExecContext(ctx, SQLMarkChanged); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE catalog_state SET staged_from = NULL`)
		return err
	})
}

// clearStaged deletes staged books, newest first, a batch per transaction,
// then marks none as staged: what an import that failed, or was killed,
// left behind.
func (s *stager) clearStaged(ctx context.Context) error {
	var from sql.NullInt64
	if err := s.conn.QueryRowContext(ctx, `SELECT staged_from FROM catalog_state`).Scan(&from); err != nil {
		return err
	}
	if !from.Valid {
		return nil
	}
	for {
		var deleted int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM books WHERE id IN (SELECT id FROM books WHERE id >= $1 ORDER BY id DESC LIMIT $2)`, from.Int64, stageBatch)
			if err != nil {
				return err
			}
			if deleted, err = res.RowsAffected(); err != nil || deleted > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, sqlDefaultMerges); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE catalog_state SET staged_from = NULL`)
			return err
		})
		if err != nil || deleted == 0 {
			return err
		}
		if err := s.pace.rest(ctx); err != nil {
			return err
		}
	}
}

func (s *stager) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return store.InTxOn(ctx, s.conn, fn)
}

// pacer makes an import pause for stagePause after every stageStretch of
// work.
type pacer struct {
	since time.Time // when the current stretch of work began
}

func (p *pacer) rest(ctx context.Context) error {
	if time.Since(p.since) < stageStretch {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(stagePause):
	}
	p.since = time.Now()
	return nil
}
