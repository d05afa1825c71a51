package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	neturl "net/url"
	"sync"
	"testing"

	"shelf/store"
	"shelf/store/storetest"
)

// Instances starting together on one empty PostgreSQL database migrate it
// once between them, and each then finds it complete.
func TestPostgresInstancesMigrateTogether(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	const n = 4
	dbs := make([]*store.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = store.Open(ctx, url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	var applied int
	if err := dbs[0].Read.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied == 0 {
		t.Fatal("no migration recorded")
	}
	a, err := dbs[1].Secret(ctx, "cookies")
	if err != nil {
		t.Fatal(err)
	}
	b, err := dbs[3].Secret(ctx, "cookies")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two instances got different secrets")
	}
}

// Read-modify-write transactions racing on one row all count: InTx's
// transactions behave as if run one at a time on both backends, running
// one again when PostgreSQL aborts it for a conflict.
func TestInTxIsSerializable(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Write.Exec(`INSERT INTO secrets (name, value) VALUES ('counter', $1)`, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
		const workers, each = 4, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					errs <- db.InTx(ctx, func(tx *sql.Tx) error {
						var v []byte
						if err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = 'counter'`).Scan(&v); err != nil {
							return err
						}
						v[0]++
						_, err := tx.ExecContext(ctx, `UPDATE secrets SET value = $1 WHERE name = 'counter'`, v)
						return err
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var v []byte
		if err := db.Read.QueryRow(`SELECT value FROM secrets WHERE name = 'counter'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v[0] != workers*each {
			t.Fatalf("counter = %d after %d increments: some were lost", v[0], workers*each)
		}
	})
}

func TestIsUniqueViolation(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		insert := func() error {
			_, err := db.Write.Exec(`INSERT INTO secrets (name, value) VALUES ('twice', $1)`, make([]byte, 32))
			return err
		}
		if err := insert(); err != nil {
			t.Fatal(err)
		}
		err := insert()
		if !store.IsUniqueViolation(err) {
			t.Fatalf("second insert: %v; want a unique violation", err)
		}
		if store.IsUniqueViolation(errors.New("something else")) || store.Unavailable(err) {
			t.Fatal("misclassified error")
		}
	})
}

// A PostgreSQL server that drops the connection, or is gone, is a fault to
// retry later (503), not a bug (500).
func TestPostgresFaultsAreUnavailable(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	conn, err := db.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
	if err == nil || !store.Unavailable(err) {
		t.Fatalf("terminated connection: %v; want Unavailable", err)
	}
	_, err = store.Open(ctx, "postgres://nobody:x@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil || !store.Unavailable(err) {
		t.Fatalf("unreachable server: %v; want Unavailable", err)
	}
	if _, err := store.Open(ctx, "postgres://bad url"); err == nil || bytes.Contains([]byte(err.Error()), []byte("bad url")) {
		t.Fatalf("bad URL: %v; want an error that does not quote it", err)
	}
}

// A server that answers but refuses to open a connection to the database
// (it no longer takes connections to it, or it was dropped or renamed
// during a restore) is an outage like one that does not answer: the
// request that needed a connection gets a 503, not a 500.
func TestPostgresRefusedConnectionIsUnavailable(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.Read.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	server, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	server.Path = "/postgres"
	admin, err := sql.Open("pgx", server.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
		t.Fatal(err)
	}
	var one int
	for range 3 { // the first use of a killed pooled connection may fail otherwise
		err = db.Read.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	}
	if err == nil || !store.Unavailable(err) {
		t.Fatalf("database refusing connections: %v; want Unavailable", err)
	}
}
