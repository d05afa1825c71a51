package links

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"

	"shelf/store"
)

// FlushEvery is how often RunFlusher adds the counted clicks to the
// database. A process killed without Flush (kill -9, a crash, power loss)
// loses the clicks of at most this long; a clean shutdown flushes.
const FlushEvery = 5 * time.Second

type clickKey struct {
	link string // folded id
	day  string // UTC, dayLayout
}

// clickCounter adds up clicks in memory between flushes.
type clickCounter struct {
	mu     sync.Mutex
	counts map[clickKey]int64
}

// CountClick counts a visit to the link with id, in memory: nothing is
// written until the next Flush.
func (s *Store) CountClick(id string) {
	k := clickKey{link: fold(id), day: s.now().UTC().Format(dayLayout)}
	s.clicks.mu.Lock()
	if s.clicks.counts == nil {
		s.clicks.counts = make(map[clickKey]int64)
	}
	s.clicks.counts[k]++
	s.clicks.mu.Unlock()
}

// Pending is how many clicks are counted and not yet flushed.
func (s *Store) Pending() int64 {
	s.clicks.mu.Lock()
	defer s.clicks.mu.Unlock()
	var n int64
	for _, c := range s.clicks.counts {
		n += c
	}
	return n
}

// Flush adds the clicks counted since the last flush to the database in
// one transaction. The statements add to what is stored (never overwrite
// it), so several processes sharing a database add up. On failure the
// clicks are kept for the next Flush.
func (s *Store) Flush(ctx context.Context) error {
	s.clicks.mu.Lock()
	batch := s.clicks.counts
	s.clicks.counts = nil
	s.clicks.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	keys := make([]clickKey, 0, len(batch))
	for k := range batch {
		keys = append(keys, k)
	}
	// The same order in every process, so concurrent flushes lock rows in
	// the same order and do not deadlock.
	slices.SortFunc(keys, func(a, b clickKey) int {
		if a.link != b.link {
			return cmp.Compare(a.link, b.link)
		}
		return cmp.Compare(a.day, b.day)
	})
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		totals := map[string]int64{}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO link_clicks (link, day, clicks) VALUES ($1, $2, $3)
				ON CONFLICT (link, day) DO UPDATE SET clicks = link_clicks.clicks + excluded.clicks`, k.link, k.day, batch[k]); err != nil {
				return err
			}
			totals[k.link] += batch[k]
		}
		for _, k := range keys {
			n, ok := totals[k.link]
			if !ok {
				continue
			}
			delete(totals, k.link)
			if _, err := tx.ExecContext(ctx, `UPDATE links SET clicks = clicks + $2 WHERE folded = $1`, k.link, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.clicks.mu.Lock()
		if s.clicks.counts == nil {
			s.clicks.counts = make(map[clickKey]int64)
		}
		for k, n := range batch {
			s.clicks.counts[k] += n
		}
		s.clicks.mu.Unlock()
		return fmt.Errorf("links: flush clicks: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction. On PostgreSQL it is READ COMMITTED: the
// additive upserts need no more, and SERIALIZABLE would abort flushes of
// other processes adding to the same rows.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.db.Backend == store.SQLite {
		return store.InTxOn(ctx, s.db.Write, fn)
	}
	return store.InTxOn(ctx, readCommitted{s.db.Write}, fn)
}

type readCommitted struct{ db *sql.DB }

func (b readCommitted) BeginTx(ctx context.Context, _ *sql.TxOptions) (*sql.Tx, error) {
	return b.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
}

// RunFlusher flushes clicks every interval (FlushEvery when zero) until
// ctx is done, then once more, with a few seconds to do it. Failures go to
// logf and the clicks wait for the next try.
func (s *Store) RunFlusher(ctx context.Context, interval time.Duration, logf func(error)) {
	if interval <= 0 {
		interval = FlushEvery
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.Flush(ctx); err != nil && logf != nil {
				logf(err)
			}
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.Flush(fctx); err != nil && logf != nil {
				logf(err)
			}
			cancel()
			return
		}
	}
}
