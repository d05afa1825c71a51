package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// On PostgreSQL an import is one transaction, which readers never see
// half-done: its rows are streamed with COPY into a temporary table, then
// inserted into books in one statement that numbers the new ones in file
// order and skips the books already there (and repeats within the file).
// The same transaction adds one to catalog_state.version and sends NOTIFY,
// so every serving instance rebuilds its search index once it commits.
//
// Two imports take turns on a transaction-level advisory lock: the second
// waits until the first has committed or rolled back, then numbers its
// books after the first's. Other writers are not held up: the import locks
// no rows but its own new ones.

// importLock is the advisory lock key that imports take in turn.
const importLock = 0x5348454c46_01 // "SHELF", 1

// copyBatch is how many rows the parser hands COPY at once.
const copyBatch = 1000

const sqlImportTable = `CREATE TEMPORARY TABLE import_books (
	seq            bigint NOT NULL,
	title          text   NOT NULL,
	authors        text   NOT NULL,
	year           integer,
	isbn13         text,
	language       text   NOT NULL,
	average_rating double precision,
	ratings_count  bigint NOT NULL,
	dedupe_key     text   NOT NULL
) ON COMMIT DROP`

var importColumns = []string{"seq", "title", "authors", "year", "isbn13", "language", "average_rating", "ratings_count", "dedupe_key"}

// sqlInsertImported inserts the staged rows whose dedupe key is new, the
// first of each key in the file, with ids from $1 on in file order.
// ON CONFLICT only matters for a book written meanwhile by something that
// does not take importLock.
const sqlInsertImported = `INSERT INTO books (id, title, authors, year, isbn13, language, average_rating, ratings_count, dedupe_key)
SELECT $1 + row_number() OVER (ORDER BY seq) - 1, title, authors, year, isbn13, language, average_rating, ratings_count, dedupe_key
FROM (
	SELECT DISTINCT ON (dedupe_key) * FROM import_books i
	WHERE NOT EXISTS (SELECT 1 FROM books b WHERE b.dedupe_key = i.dedupe_key)
	ORDER BY dedupe_key, seq
) fresh
ORDER BY seq
ON CONFLICT (dedupe_key) DO NOTHING`

// copyImport is bulkInsert on PostgreSQL.
func (c *Catalog) copyImport(ctx context.Context, noDuplicates bool, fill func(context.Context, loader) error) (added, duplicates int, err error) {
	err = c.db.PgxConn(ctx, func(conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(importLock)); err != nil {
			return fmt.Errorf("lock imports: %w", err)
		}
		var maxID int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM books`).Scan(&maxID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlImportTable); err != nil {
			return err
		}
		cp := &copier{tx: tx, nextID: maxID + 1}
		if err := fill(ctx, cp); err != nil {
			cp.abort(err)
			return err
		}
		rows, err := cp.finish()
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if rows > 0 {
			if _, err := tx.Exec(ctx, `ANALYZE import_books`); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, sqlInsertImported, cp.nextID)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23514" && pe.ConstraintName == "books_id_check" {
			return fmt.Errorf("%w: book ids may not exceed %d", ErrCatalogFull, MaxBookID)
		}
		if err != nil {
			return err
		}
		added, duplicates = int(tag.RowsAffected()), int(rows-tag.RowsAffected())
		if noDuplicates && duplicates > 0 {
			return fmt.Errorf("%d dedupe keys collided", duplicates)
		}
		if added > 0 {
			// Books inserted without an id (by tests, say) number after these.
			for _, q := range []string{
				`SELECT setval(pg_get_serial_sequence('books', 'id'), (SELECT max(id) FROM books))`,
				SQLMarkChanged,
				SQLNotifyChanged,
			} {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return 0, 0, err
	}
	return added, duplicates, nil
}

// copier streams an import's books to COPY, which runs on another goroutine
// from the first add on: the parser and the server work side by side.
type copier struct {
	tx     pgx.Tx
	nextID int64 // the id the first new book gets

	seq      int64
	batch    [][]any
	batches  chan [][]any  // to COPY; closed at the end
	aborted  chan struct{} // closed to make COPY fail
	abortErr error
	done     chan struct{} // closed when COPY has returned
	rows     int64         // what COPY returned, once done
	err      error
}

func (cp *copier) firstID() int64 { return cp.nextID }

func (cp *copier) queryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	if cp.batches != nil {
		return errRow{errors.New("copier: query after the first book")}
	}
	return cp.tx.QueryRow(ctx, query, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (cp *copier) add(ctx context.Context, b bookRow) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if cp.batches == nil {
		cp.start(ctx)
	}
	var year, isbn, rating any
	if b.year != 0 {
		year = int32(b.year)
	}
	if b.isbn13 != "" {
		isbn = b.isbn13
	}
	if b.hasRating {
		rating = b.rating
	}
	cp.seq++
	cp.batch = append(cp.batch, []any{cp.seq, b.title, b.authors, year, isbn, b.language, rating, b.count, b.key})
	if len(cp.batch) < copyBatch {
		return nil
	}
	return cp.send(ctx)
}

func (cp *copier) send(ctx context.Context) error {
	select {
	case cp.batches <- cp.batch:
		cp.batch = make([][]any, 0, copyBatch)
		return nil
	case <-cp.done:
		return cp.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (cp *copier) start(ctx context.Context) {
	cp.batches = make(chan [][]any, 4)
	cp.aborted = make(chan struct{})
	cp.done = make(chan struct{})
	cp.batch = make([][]any, 0, copyBatch)
	src := &copySource{cp: cp}
	go func() {
		defer close(cp.done)
		cp.rows, cp.err = cp.tx.CopyFrom(ctx, pgx.Identifier{"import_books"}, importColumns, src)
		if cp.err == nil && src.err != nil {
			cp.err = src.err
		}
	}()
}

// finish sends the last rows and returns how many COPY loaded.
func (cp *copier) finish() (int64, error) {
	if cp.batches == nil {
		return 0, nil
	}
	if len(cp.batch) > 0 {
		select {
		case cp.batches <- cp.batch:
		case <-cp.done:
		}
	}
	close(cp.batches)
	<-cp.done
	return cp.rows, cp.err
}

// abort makes a running COPY fail with err, and waits for it.
func (cp *copier) abort(err error) {
	if cp.batches == nil {
		return
	}
	cp.abortErr = err
	close(cp.aborted)
	<-cp.done
}

// copySource is pgx's view of the copier's batches.
type copySource struct {
	cp    *copier
	batch [][]any
	row   []any
	err   error
}

func (s *copySource) Next() bool {
	for len(s.batch) == 0 {
		select {
		case b, ok := <-s.cp.batches:
			if !ok {
				return false
			}
			s.batch = b
		case <-s.cp.aborted:
			s.err = s.cp.abortErr
			return false
		}
	}
	s.row, s.batch = s.batch[0], s.batch[1:]
	return true
}

func (s *copySource) Values() ([]any, error) { return s.row, nil }

func (s *copySource) Err() error { return s.err }
