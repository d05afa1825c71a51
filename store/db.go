// Package store opens and migrates Shelf's database, on either backend (a
// SQLite file, or PostgreSQL for several instances), and hands out its
// connections and transactions (and keeps the secret that signs cookies).
// Queries are written once for both: $N placeholders, times as UTC text.
// What the database holds is kept by the packages below it: accounts,
// catalog, search, sessions and the mail outbox.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// Backend is the kind of database a DB is.
type Backend int

const (
	SQLite Backend = iota
	Postgres
)

func (b Backend) String() string {
	if b == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is Shelf's database. On SQLite it is one file opened twice: a single
// writer connection, so writes queue in Go instead of failing with
// SQLITE_BUSY, and a pool of read-only connections that WAL lets run
// alongside the writer. On PostgreSQL Write and Read are one pool.
type DB struct {
	Write   *sql.DB
	Read    *sql.DB
	Backend Backend
	Path    string // the SQLite file; "" on PostgreSQL
	URL     string // the PostgreSQL connection URL; "" on SQLite
}

// IsPostgresURL reports whether source names a PostgreSQL database
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(source string) bool {
	return strings.HasPrefix(source, "postgres://") || strings.HasPrefix(source, "postgresql://")
}

// Open opens the database source names, a PostgreSQL URL or a SQLite file
// path (created if needed), and applies every pending migration.
func Open(ctx context.Context, source string) (*DB, error) {
	if IsPostgresURL(source) {
		return openPostgres(ctx, source)
	}
	return openSQLite(ctx, source)
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{Write: w, Path: path}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	db.Read = r
	return db, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	// A write that waits this long for another process's lock (an import,
	// a backup) fails with SQLITE_BUSY, which the handlers answer with 503:
	// well inside the request deadline and the server's 30 s WriteTimeout.
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Each connection has its own page cache (KiB when negative). Readers
	// share the OS's file cache too, and searches read the in-memory index,
	// not SQLite's, so a small one each keeps memory bounded with several
	// of them open.
	if readOnly {
		q.Add("_pragma", "cache_size(-2000)")
	} else {
		q.Add("_pragma", "cache_size(-32000)")
	}
	q.Add("_pragma", "temp_store(MEMORY)")
	// Times are written as "YYYY-MM-DD HH:MM:SS.SSS+00:00" so SQLite's own
	// date functions understand them.
	q.Set("_time_format", "sqlite")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// WriterDSN is the data source name of a connection like DB.Write to the
// file at path, for code that needs a writer connection of its own (an
// import does, see package catalog).
func WriterDSN(path string) string { return dsn(path, false) }

// Close closes both connection pools.
func (db *DB) Close() error {
	if db.Backend == Postgres {
		return db.Write.Close()
	}
	var errs []error
	if db.Read != nil {
		errs = append(errs, db.Read.Close())
	}
	if db.Write != nil {
		// Fold the WAL back into the main file so a copied .db is complete.
		_, _ = db.Write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, db.Write.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers a read.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

type txKey struct{}

// WithTx returns ctx carrying tx, so that writes made through Writer with
// it join tx (the session store's, for one): a change and the session that
// carries it are then committed together, or not at all.
func WithTx(ctx context.Context, tx *sql.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// Execer is what a write needs: the writer pool, or a transaction on it.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Writer returns the transaction ctx carries (WithTx), if any, else the
// writer pool. Inside a transaction it must be the transaction: on SQLite
// the pool has a single connection, which the transaction holds.
func (db *DB) Writer(ctx context.Context) Execer {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	return db.Write
}

// InTx runs fn in a write transaction, rolling back when fn fails.
//
// Its transactions are serializable on both backends, so what fn reads
// stays true until it commits: SQLite has one writer at a time; PostgreSQL
// runs them side by side and aborts one of two that conflict
// (serialization_failure), which InTx then runs again, up to a few times.
// fn may therefore run more than once: it must do nothing outside tx that
// a second run would repeat wrongly.
func (db *DB) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if db.Backend == Postgres {
		return inSerializableTx(ctx, db.Write, fn)
	}
	return InTxOn(ctx, db.Write, fn)
}

// TxBeginner opens transactions: a *sql.DB, or a *sql.Conn held for a run
// of them (the importer's own connection).
type TxBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// InTxOn runs fn in a transaction begun on b, rolling back when fn fails.
func InTxOn(ctx context.Context, b TxBeginner, fn func(*sql.Tx) error) error {
	tx, err := b.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Params returns n numbered placeholders from $first on, comma-separated
// ("$2, $3, $4"), for an IN list of n values. Both backends take $N.
func Params(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+i))
	}
	return b.String()
}
