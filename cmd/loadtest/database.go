package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL databases (-postgres)
	_ "modernc.org/sqlite"             // SQLite databases

	"shelf/store"
)

// The database of one catalog size: a SQLite file in -dir, or, with
// -postgres, a database named shelf_loadtest_N on that server, created
// when missing.

// databaseFor names the database that holds n books.
func databaseFor(o *options, n int) (string, error) {
	if o.postgres == "" {
		return filepath.Join(o.dir, fmt.Sprintf("shelf-%d.db", n)), nil
	}
	u, err := url.Parse(o.postgres)
	if err != nil {
		return "", fmt.Errorf("-postgres: %w", err)
	}
	u.Path = fmt.Sprintf("/shelf_loadtest_%d", n)
	return u.String(), nil
}

// stampFor is where the schema stamp of db is kept (see schemaStamp).
func stampFor(o *options, db string) string {
	if store.IsPostgresURL(db) {
		u, _ := url.Parse(db)
		return filepath.Join(o.dir, "postgres-"+strings.TrimPrefix(u.Path, "/")+".stamp")
	}
	return db + ".stamp"
}

// openDatabase opens db for reading.
func openDatabase(db string) (*sql.DB, error) {
	if store.IsPostgresURL(db) {
		return sql.Open("pgx", db)
	}
	return sql.Open("sqlite", "file:"+(&url.URL{Path: db}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
}

// adminDatabase opens the server db lives on, for creating and dropping it,
// and returns db's name.
func adminDatabase(db string) (*sql.DB, string, error) {
	u, err := url.Parse(db)
	if err != nil {
		return nil, "", err
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	h, err := sql.Open("pgx", u.String())
	return h, name, err
}

func databaseExists(ctx context.Context, db string) bool {
	if !store.IsPostgresURL(db) {
		return fileExists(db)
	}
	h, name, err := adminDatabase(db)
	if err != nil {
		return false
	}
	defer h.Close()
	var n int
	err = h.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
	return err == nil && n > 0
}

// createDatabase creates db on its PostgreSQL server (shelf migrates it
// when it starts); SQLite files need nothing.
func createDatabase(ctx context.Context, db string) error {
	if !store.IsPostgresURL(db) || databaseExists(ctx, db) {
		return nil
	}
	h, name, err := adminDatabase(db)
	if err != nil {
		return err
	}
	defer h.Close()
	_, err = h.ExecContext(ctx, `CREATE DATABASE `+name)
	return err
}

func removeDatabase(ctx context.Context, db string) error {
	if !store.IsPostgresURL(db) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(db + suffix)
		}
		return nil
	}
	h, name, err := adminDatabase(db)
	if err != nil {
		return err
	}
	defer h.Close()
	_, err = h.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	return err
}

func countBooks(ctx context.Context, db string) (int, error) {
	h, err := openDatabase(db)
	if err != nil {
		return 0, err
	}
	defer h.Close()
	var n int
	if err := h.QueryRowContext(ctx, `SELECT count(*) FROM books`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count books in %s: %w", redactURL(db), err)
	}
	return n, nil
}

// redactURL shows db without a password.
func redactURL(db string) string {
	if !store.IsPostgresURL(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres"
	}
	return u.Redacted()
}
