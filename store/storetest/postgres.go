package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"shelf/store"
)

// DefaultPostgres is the server the tests use when SHELF_TEST_POSTGRES is
// not set: the one .ci/run starts, with the role it creates.
const DefaultPostgres = "postgres://shelf:shelf@127.0.0.1:5432/postgres?sslmode=disable"

// postgresServer returns the URL of the PostgreSQL server the tests may
// create databases on. Without one the test is skipped, or fails when
// CI=true: CI must run these tests, not skip them.
func postgresServer(t testing.TB) string {
	t.Helper()
	server := os.Getenv("SHELF_TEST_POSTGRES")
	if server == "" {
		server = DefaultPostgres
	}
	serverOnce.Do(func() { serverErr = ping(server) })
	if serverErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is needed under CI=true: %v (.ci/run installs and starts it)", redacted(server), serverErr)
		}
		t.Skipf("no PostgreSQL at %s (set SHELF_TEST_POSTGRES, or run .ci/run once): %v", redacted(server), serverErr)
	}
	return server
}

var (
	serverOnce sync.Once
	serverErr  error
)

func ping(server string) error {
	db, err := sql.Open("pgx", server)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

func redacted(server string) string {
	u, err := url.Parse(server)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// PostgresURL creates an empty database on the test server and returns its
// URL; the database is dropped when the test ends. For tests that start
// processes of their own on it; others use OpenPostgres.
func PostgresURL(t testing.TB) string {
	t.Helper()
	server := postgresServer(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "shelf_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// OpenPostgres opens a fresh, migrated PostgreSQL database and closes it
// when the test ends.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Backends runs test once on each backend, as subtests named "sqlite" and
// "postgres", each with a fresh database. The postgres one is skipped when
// no server is reachable, unless CI=true.
func Backends(t *testing.T, test func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, b := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", Open}, {"postgres", OpenPostgres}} {
		t.Run(b.name, func(t *testing.T) { test(t, b.open(t)) })
	}
}
