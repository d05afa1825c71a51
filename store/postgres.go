package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresConns is how many connections one instance opens at most. Several
// instances share one server (100 connections by default), and searches
// never reach it: the writes and page reads of one instance fit in this.
const postgresConns = 12

func openPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message can quote the URL, password included.
		return nil, errors.New("open postgres: the SHELF_DB URL is not a valid PostgreSQL connection URL")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(postgresConns)
	pool.SetMaxIdleConns(postgresConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres %s: %w", redact(cfg), err)
	}
	db := &DB{Write: pool, Read: pool, Backend: Postgres, URL: url}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// redact names a server without its password, for messages and logs.
func redact(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// Where returns where db lives, for logs: the SQLite file, or the
// PostgreSQL server and database without the password.
func (db *DB) Where() string {
	if db.Backend == SQLite {
		return db.Path
	}
	cfg, err := pgx.ParseConfig(db.URL)
	if err != nil {
		return "postgres"
	}
	return "postgres://" + redact(cfg)
}

// maxTxAttempts bounds how often InTx runs a transaction that keeps losing
// serialization conflicts; past it the error stands (and is Unavailable).
const maxTxAttempts = 20

func inSerializableTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := func() error {
			tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
			if err != nil {
				return err
			}
			if err := fn(tx); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}()
		if err == nil || !retryable(err) || attempt == maxTxAttempts {
			return err
		}
		// Back off a little, at random, so the two that conflicted don't
		// meet again at once.
		wait := time.Duration(rand.Int64N(int64(min(time.Millisecond<<attempt, 50*time.Millisecond))))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// retryable reports a PostgreSQL error that running the same transaction
// again may not meet: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// IsUniqueViolation reports whether err is a UNIQUE constraint refusing a
// row, on either backend.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// PgxConn runs fn with the pgx connection under one of db's PostgreSQL
// connections, for what database/sql cannot do: COPY, say.
func (db *DB) PgxConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	if db.Backend != Postgres {
		return errors.New("store: not a PostgreSQL database")
	}
	c, err := db.Write.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}
