// Package limits keeps rate limits in the database: every instance of
// Shelf on one database counts the same attempts, so spreading them over
// instances gains nothing, and a restart forgets none. Each check is one
// short transaction on the key's row, holding its lock, so concurrent
// checks of one key, from any instance, take turns and never pass more
// than the limit between them. Keys are stored as their SHA-256.
package limits

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"sync"
	"time"

	"shelf/store"
)

// A Reservation is an attempt that limits have counted before its outcome
// is known. Cancel gives it back; a reservation not cancelled stays counted.
type Reservation struct {
	undo []func(context.Context) error
}

// Cancel uncounts the attempt everywhere it was counted. It may be called
// on the zero Reservation, and more than once.
func (r *Reservation) Cancel(ctx context.Context) error {
	var errs []error
	for _, f := range r.undo {
		errs = append(errs, f(ctx))
	}
	r.undo = nil
	return errors.Join(errs...)
}

// And returns a reservation that cancels both r and other.
func (r Reservation) And(other Reservation) Reservation {
	return Reservation{undo: append(r.undo[:len(r.undo):len(r.undo)], other.undo...)}
}

// storedKey is what the tables hold for key: a fixed-size digest, however
// long the key someone sends, and no address or IP in clear.
func storedKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// onRow runs fn in a short transaction. On PostgreSQL it is READ
// COMMITTED: the row lock fn takes first (Limiter.lock) orders the checks
// of a key, and each then reads the row as the one before it left it,
// where SERIALIZABLE would abort all but one of them. Its commit does not
// wait for the disk either: a crash may forget the last few counts, which
// costs less than the flush would on every check. SQLite has one writer.
func onRow(ctx context.Context, db *store.DB, fn func(*sql.Tx) error) error {
	if db.Backend == store.SQLite {
		return store.InTxOn(ctx, db.Write, fn)
	}
	return store.InTxOn(ctx, beginner{db.Write, &sql.TxOptions{Isolation: sql.LevelReadCommitted}}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		return fn(tx)
	})
}

type beginner struct {
	db   *sql.DB
	opts *sql.TxOptions
}

func (b beginner) BeginTx(ctx context.Context, _ *sql.TxOptions) (*sql.Tx, error) {
	return b.db.BeginTx(ctx, b.opts)
}

// sweeper deletes a limit's expired rows at most once per period, from
// the checks themselves, so the tables hold only the keys active lately.
type sweeper struct {
	mu   sync.Mutex
	last time.Time
}

func (s *sweeper) sweep(ctx context.Context, db *store.DB, table, name string, period time.Duration, now time.Time) error {
	s.mu.Lock()
	due := now.Sub(s.last) >= period || now.Before(s.last)
	if due {
		s.last = now
	}
	s.mu.Unlock()
	if !due {
		return nil
	}
	_, err := db.Write.ExecContext(ctx, `DELETE FROM `+table+` WHERE name = $1 AND expires_at <= $2`, name, now.UnixMilli())
	return err
}
