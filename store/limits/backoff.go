package limits

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"shelf/store"
)

// Backoff lets a key's first Free attempts through, then spaces attempts
// by a delay that doubles from Base up to Max: a script slows to one guess
// per Max, while a person who mistypes a few times hardly waits. A key is
// forgotten after Forget without attempts (Forget must exceed Max, or a
// patient script would be forgotten between guesses). Attempts are
// reserved, as with Limiter, so concurrent callers never get more than the
// delays allow.
type Backoff struct {
	Free      int
	Base, Max time.Duration
	Forget    time.Duration

	db    *store.DB
	name  string
	swept sweeper
}

// NewBackoff returns the backoff called name (a key space of its own),
// kept in db, with the given parameters.
func NewBackoff(db *store.DB, name string, free int, base, maxDelay, forget time.Duration) *Backoff {
	return &Backoff{Free: free, Base: base, Max: maxDelay, Forget: forget, db: db, name: name}
}

// backoffState is a key's row: times in Unix milliseconds.
type backoffState struct {
	attempts int   // counted attempts, reserved ones included
	started  int64 // the first attempt since the key was last forgotten
	last     int64 // the latest attempt
}

// delay is the space required after the n-th counted attempt.
func (b *Backoff) delay(n int) time.Duration {
	if n < b.Free {
		return 0
	}
	d := b.Base
	for i := b.Free; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Reserve counts an attempt for key and returns zero, or returns how long
// key must wait and counts nothing.
func (b *Backoff) Reserve(ctx context.Context, key string, now time.Time) (Reservation, time.Duration, error) {
	if err := b.swept.sweep(ctx, b.db, "backoffs", b.name, b.Forget, now); err != nil {
		return Reservation{}, 0, fmt.Errorf("backoff %s: %w", b.name, err)
	}
	k, at := storedKey(key), now.UnixMilli()
	var wait time.Duration
	var st backoffState
	err := onRow(ctx, b.db, func(tx *sql.Tx) error {
		wait = 0
		var err error
		if st, err = b.lock(ctx, tx, k); err != nil {
			return err
		}
		if at-st.last >= b.Forget.Milliseconds() {
			st = backoffState{started: at}
		}
		if w := time.UnixMilli(st.last).Add(b.delay(st.attempts)).Sub(now); st.attempts > 0 && w > 0 {
			wait = w
			return nil
		}
		st.attempts++
		st.last = at
		return b.store(ctx, tx, k, st)
	})
	if err != nil {
		return Reservation{}, 0, fmt.Errorf("backoff %s: %w", b.name, err)
	}
	if wait > 0 {
		return Reservation{}, wait, nil
	}
	started := st.started
	return Reservation{undo: []func(context.Context) error{func(ctx context.Context) error { return b.uncount(ctx, k, started) }}}, 0, nil
}

// uncount takes back one attempt of key k, unless the key has been
// forgotten since the attempt (a new run of attempts started then).
func (b *Backoff) uncount(ctx context.Context, k []byte, started int64) error {
	err := onRow(ctx, b.db, func(tx *sql.Tx) error {
		st, err := b.lock(ctx, tx, k)
		if err != nil || st.started != started || st.attempts == 0 {
			return err
		}
		st.attempts--
		return b.store(ctx, tx, k, st)
	})
	if err != nil {
		return fmt.Errorf("backoff %s: cancel: %w", b.name, err)
	}
	return nil
}

// lock locks key k's row, creating it if needed, and returns its state
// (see Limiter.lock).
func (b *Backoff) lock(ctx context.Context, tx *sql.Tx, k []byte) (backoffState, error) {
	var st backoffState
	err := tx.QueryRowContext(ctx, `INSERT INTO backoffs (name, key, expires_at) VALUES ($1, $2, 0)
		ON CONFLICT (name, key) DO UPDATE SET attempts = backoffs.attempts RETURNING attempts, started_at, last_at`, b.name, k).
		Scan(&st.attempts, &st.started, &st.last)
	return st, err
}

func (b *Backoff) store(ctx context.Context, tx *sql.Tx, k []byte, st backoffState) error {
	_, err := tx.ExecContext(ctx, `UPDATE backoffs SET attempts = $3, started_at = $4, last_at = $5, expires_at = $6 WHERE name = $1 AND key = $2`,
		b.name, k, st.attempts, st.started, st.last, st.last+b.Forget.Milliseconds())
	return err
}
