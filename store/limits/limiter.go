package limits

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"time"

	"shelf/store"
)

// Limiter allows at most Limit events per key in any sliding Window.
type Limiter struct {
	Limit  int
	Window time.Duration

	db    *store.DB
	name  string
	swept sweeper
}

// NewLimiter returns the limit called name (a key space of its own) of
// limit events per window, kept in db.
func NewLimiter(db *store.DB, name string, limit int, window time.Duration) *Limiter {
	return &Limiter{Limit: limit, Window: window, db: db, name: name}
}

// Allow records an event and returns zero if key is under its limit, or
// returns the wait and records nothing.
func (l *Limiter) Allow(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	_, wait, err := l.Reserve(ctx, key, now)
	return wait, err
}

// Reserve is Allow that can be taken back: the event is counted at once,
// so concurrent callers cannot all pass a check made before any of them
// records, and Cancel uncounts it (a login that turned out right).
func (l *Limiter) Reserve(ctx context.Context, key string, now time.Time) (Reservation, time.Duration, error) {
	if err := l.swept.sweep(ctx, l.db, "limiter_hits", l.name, l.Window, now); err != nil {
		return Reservation{}, 0, fmt.Errorf("limit %s: %w", l.name, err)
	}
	k, at := storedKey(key), now.UnixMilli()
	var wait time.Duration
	err := onRow(ctx, l.db, func(tx *sql.Tx) error {
		wait = 0
		hits, err := l.lock(ctx, tx, k)
		if err != nil {
			return err
		}
		hits = l.live(hits, at)
		if len(hits) >= l.Limit {
			// The oldest of the last Limit events must leave the window.
			wait = time.UnixMilli(hits[len(hits)-l.Limit]).Add(l.Window).Sub(now)
			return nil
		}
		return l.store(ctx, tx, k, append(hits, at))
	})
	if err != nil {
		return Reservation{}, 0, fmt.Errorf("limit %s: %w", l.name, err)
	}
	if wait > 0 {
		return Reservation{}, wait, nil
	}
	return Reservation{undo: []func(context.Context) error{func(ctx context.Context) error { return l.unhit(ctx, k, at) }}}, 0, nil
}

// unhit removes one event of key k recorded at at, if it is still there.
func (l *Limiter) unhit(ctx context.Context, k []byte, at int64) error {
	err := onRow(ctx, l.db, func(tx *sql.Tx) error {
		hits, err := l.lock(ctx, tx, k)
		if err != nil {
			return err
		}
		for i := len(hits) - 1; i >= 0; i-- {
			if hits[i] == at {
				return l.store(ctx, tx, k, append(hits[:i:i], hits[i+1:]...))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("limit %s: cancel: %w", l.name, err)
	}
	return nil
}

// lock locks key k's row, creating it if needed, and returns its events.
// One statement on both backends: an upsert that changes nothing takes
// the row's lock and, by RETURNING, reads it as the last holder left it.
func (l *Limiter) lock(ctx context.Context, tx *sql.Tx, k []byte) ([]int64, error) {
	var raw []byte
	err := tx.QueryRowContext(ctx, `INSERT INTO limiter_hits (name, key, expires_at) VALUES ($1, $2, 0)
		ON CONFLICT (name, key) DO UPDATE SET hits = limiter_hits.hits RETURNING hits`, l.name, k).Scan(&raw)
	if err != nil {
		return nil, err
	}
	hits := make([]int64, 0, len(raw)/8+1)
	for ; len(raw) >= 8; raw = raw[8:] {
		hits = append(hits, int64(binary.BigEndian.Uint64(raw)))
	}
	return hits, nil
}

// store writes key k's events, at most the last Limit of them.
func (l *Limiter) store(ctx context.Context, tx *sql.Tx, k []byte, hits []int64) error {
	if len(hits) > l.Limit {
		hits = hits[len(hits)-l.Limit:]
	}
	raw := make([]byte, 0, 8*len(hits))
	var expires int64
	for _, h := range hits {
		raw = binary.BigEndian.AppendUint64(raw, uint64(h))
		expires = max(expires, h+l.Window.Milliseconds())
	}
	_, err := tx.ExecContext(ctx, `UPDATE limiter_hits SET hits = $3, expires_at = $4 WHERE name = $1 AND key = $2`, l.name, k, raw, expires)
	return err
}

// live drops the events older than the window.
func (l *Limiter) live(hits []int64, at int64) []int64 {
	i := 0
	for i < len(hits) && hits[i] <= at-l.Window.Milliseconds() {
		i++
	}
	return hits[i:]
}
