package limits

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/storetest"
)

var ctx = context.Background()

// reserve is Reserve that fails the test on a database error.
func reserve(t *testing.T, l interface {
	Reserve(context.Context, string, time.Time) (Reservation, time.Duration, error)
}, key string, now time.Time) (Reservation, time.Duration) {
	t.Helper()
	r, wait, err := l.Reserve(ctx, key, now)
	if err != nil {
		t.Fatal(err)
	}
	return r, wait
}

func cancel(t *testing.T, r *Reservation) {
	t.Helper()
	if err := r.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
}

// rows counts the stored keys of limit name.
func rows(t *testing.T, db *store.DB, table, name string) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(`SELECT count(*) FROM `+table+` WHERE name = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// instances runs test on both backends with two handles on one database,
// as two processes of Shelf would have: two opens of one SQLite file, two
// pools on one PostgreSQL database.
func instances(t *testing.T, test func(t *testing.T, a, b *store.DB)) {
	t.Helper()
	open := func(t *testing.T, source string) *store.DB {
		db, err := store.Open(ctx, source)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "shelf.db")
		test(t, open(t, path), open(t, path))
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		test(t, open(t, url), open(t, url))
	})
}

func TestLimiter(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		l := NewLimiter(db, "test", 2, time.Minute)
		now := time.Unix(1000, 0)
		allow := func(key string, at time.Time) time.Duration {
			t.Helper()
			wait, err := l.Allow(ctx, key, at)
			if err != nil {
				t.Fatal(err)
			}
			return wait
		}
		if allow("k", now) != 0 || allow("k", now.Add(time.Second)) != 0 {
			t.Fatal("first two refused")
		}
		if w := allow("k", now.Add(2*time.Second)); w != 58*time.Second {
			t.Fatalf("third: wait %v", w)
		}
		if allow("other", now) != 0 {
			t.Fatal("keys share limits")
		}
		other := NewLimiter(db, "another", 1, time.Minute)
		if w, err := other.Allow(ctx, "k", now); w != 0 || err != nil {
			t.Fatalf("limits of another name share keys: %v, %v", w, err)
		}
		if w := allow("k", now.Add(time.Minute+time.Millisecond)); w != 0 {
			t.Fatalf("after the window: wait %v", w)
		}
		// Keys idle for a window are swept.
		allow("gone", now)
		allow("x", now.Add(10*time.Minute))
		if n := rows(t, db, "limiter_hits", "test"); n != 1 {
			t.Fatalf("%d keys stored, want 1 (the idle ones swept)", n)
		}
		// Keys are stored hashed.
		var stored int
		if err := db.Read.QueryRow(`SELECT count(*) FROM limiter_hits WHERE key = $1`, []byte("x")).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("a key stored in clear (%v)", err)
		}
	})
}

func TestLimiterReserveAndCancel(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		l := NewLimiter(db, "test", 2, time.Minute)
		now := time.Unix(1000, 0)
		r1, w1 := reserve(t, l, "k", now)
		_, w2 := reserve(t, l, "k", now)
		if w1 != 0 || w2 != 0 {
			t.Fatal("first two refused")
		}
		if _, w := reserve(t, l, "k", now); w != time.Minute {
			t.Fatalf("third: wait %v, want 1m", w)
		}
		cancel(t, &r1)
		cancel(t, &r1) // twice is once
		if _, w := reserve(t, l, "k", now); w != 0 {
			t.Fatalf("after a cancel: wait %v", w)
		}
		if _, w := reserve(t, l, "k", now); w == 0 {
			t.Fatal("a second cancel gave back another event")
		}
		var zero Reservation
		cancel(t, &zero)
	})
}

// Two instances reserving at once never pass more than the limit between
// them, and a cancel on one gives the event back to both.
func TestLimiterSharedByInstances(t *testing.T) {
	instances(t, func(t *testing.T, a, b *store.DB) {
		la, lb := NewLimiter(a, "test", 5, time.Minute), NewLimiter(b, "test", 5, time.Minute)
		now := time.Unix(1000, 0)
		var passed atomic.Int64
		var first sync.Once
		var kept Reservation
		var wg sync.WaitGroup
		for i := range 60 {
			l := la
			if i%2 == 1 {
				l = lb
			}
			wg.Go(func() {
				r, w, err := l.Reserve(ctx, "k", now)
				if err != nil {
					t.Error(err)
					return
				}
				if w == 0 {
					passed.Add(1)
					first.Do(func() { kept = r })
				}
			})
		}
		wg.Wait()
		if passed.Load() != 5 {
			t.Fatalf("%d passed, want 5", passed.Load())
		}
		if _, w := reserve(t, lb, "k", now); w != time.Minute {
			t.Fatalf("b after the limit: wait %v", w)
		}
		cancel(t, &kept)
		if _, w := reserve(t, la, "k", now); w != 0 {
			t.Fatalf("a after a cancel: wait %v", w)
		}
		if _, w := reserve(t, lb, "k", now); w == 0 {
			t.Fatal("b passed past the limit")
		}
	})
}

func TestBackoff(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		b := NewBackoff(db, "test", 3, time.Second, 10*time.Second, time.Minute)
		now := time.Unix(1000, 0)
		for i := range 3 {
			if _, w := reserve(t, b, "k", now); w != 0 {
				t.Fatalf("free attempt %d: wait %v", i, w)
			}
		}
		for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
			if _, w := reserve(t, b, "k", now); w != want {
				t.Fatalf("wait %v, want %v", w, want)
			}
			now = now.Add(want)
			if _, w := reserve(t, b, "k", now); w != 0 {
				t.Fatalf("after %v: wait %v", want, w)
			}
		}
		if _, w := reserve(t, b, "other", now); w != 0 {
			t.Fatal("keys share a backoff")
		}
		// A cancelled attempt (a right password) is not counted.
		c := NewBackoff(db, "cancelled", 1, time.Second, time.Hour, time.Hour)
		for range 3 {
			r, w := reserve(t, c, "k", now)
			if w != 0 {
				t.Fatalf("after cancelled attempts: wait %v", w)
			}
			cancel(t, &r)
		}
		reserve(t, c, "k", now)
		if _, w := reserve(t, c, "k", now); w != time.Second {
			t.Fatalf("after one failure: wait %v, want 1s", w)
		}
		// Forgotten after a minute without attempts: free again.
		now = now.Add(time.Minute)
		var old Reservation
		for i := range 3 {
			r, w := reserve(t, b, "k", now)
			if w != 0 {
				t.Fatalf("after Forget, attempt %d: wait %v", i, w)
			}
			old = r
		}
		// Cancelling an attempt of a forgotten run gives nothing back to
		// the next run.
		now = now.Add(time.Minute)
		for range 3 {
			reserve(t, b, "k", now)
		}
		cancel(t, &old)
		if _, w := reserve(t, b, "k", now); w != time.Second {
			t.Fatalf("a cancel from a forgotten run counted: wait %v, want 1s", w)
		}
		// Idle keys are swept.
		reserve(t, b, "idle", now)
		reserve(t, b, "x", now.Add(3*time.Minute))
		if n := rows(t, db, "backoffs", "test"); n != 1 {
			t.Fatalf("%d keys stored, want 1 (the idle ones swept)", n)
		}
	})
}

func TestBackoffSharedByInstances(t *testing.T) {
	instances(t, func(t *testing.T, a, b *store.DB) {
		ba := NewBackoff(a, "test", 5, time.Second, time.Minute, time.Hour)
		bb := NewBackoff(b, "test", 5, time.Second, time.Minute, time.Hour)
		now := time.Unix(1000, 0)
		var passed atomic.Int64
		var wg sync.WaitGroup
		for i := range 60 {
			l := ba
			if i%2 == 1 {
				l = bb
			}
			wg.Go(func() {
				_, w, err := l.Reserve(ctx, "k", now)
				if err != nil {
					t.Error(err)
				} else if w == 0 {
					passed.Add(1)
				}
			})
		}
		wg.Wait()
		if passed.Load() != 5 {
			t.Fatalf("%d passed, want 5", passed.Load())
		}
		if _, w := reserve(t, ba, "k", now.Add(999*time.Millisecond)); w != time.Millisecond {
			t.Fatalf("wait %v, want 1ms", w)
		}
	})
}

// Counts outlive the process: a new handle on the database (a restart)
// sees them.
func TestLimitsSurviveRestart(t *testing.T) {
	instances(t, func(t *testing.T, a, b *store.DB) {
		now := time.Unix(1000, 0)
		reserve(t, NewLimiter(a, "test", 1, time.Minute), "k", now)
		a.Close()
		if _, w := reserve(t, NewLimiter(b, "test", 1, time.Minute), "k", now); w != time.Minute {
			t.Fatalf("after a restart: wait %v, want 1m", w)
		}
	})
}

// A database error is returned, not taken as a pass.
func TestReserveFailsWithTheDatabase(t *testing.T) {
	db := storetest.Open(t)
	l := NewLimiter(db, "test", 1, time.Minute)
	db.Close()
	if _, _, err := l.Reserve(ctx, "k", time.Now()); err == nil {
		t.Fatal("no error from a closed database")
	}
}

// BenchmarkLimiterReserve is one check of a limit: a short transaction on
// the key's row. Keys cycle through 1000, each reserved and given back, as
// a right password is.
func BenchmarkLimiterReserve(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.Open}, {"postgres", storetest.OpenPostgres}} {
		b.Run(backend.name, func(b *testing.B) {
			l := NewLimiter(backend.open(b), "bench", 30, 15*time.Minute)
			now := time.Unix(1000, 0)
			i := 0
			for b.Loop() {
				i++
				r, _, err := l.Reserve(ctx, string(rune('a'+i%1000)), now)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Cancel(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
