package links

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/storetest"
)

type cryptoReader struct{}

func (cryptoReader) Read(p []byte) (int, error) { return rand.Read(p) }

// clock is a test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const ann, bob = 1, 2

// fixture returns the links of db, with two readers, ann (1) and bob (2).
func fixture(t *testing.T, db *store.DB) (*Store, *clock) {
	t.Helper()
	for _, email := range []string{"ann@example.org", "bob@example.org"} {
		if _, err := db.Write.Exec(`INSERT INTO users (email, email_key, password_hash, created_at, confirmed_at) VALUES ($1, $1, 'x', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')`, email); err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	return New(db, testBase, c.now), c
}

func fieldMessage(err error, field string) string {
	var ve *ValidationError
	if errors.As(err, &ve) && ve.Field == field {
		return ve.Message
	}
	return ""
}

func TestCreateAndGet(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s, _ := fixture(t, db)
		ctx := context.Background()
		l, err := s.Create(ctx, ann, "https://Example.com/review", "Hobbit-Review")
		if err != nil {
			t.Fatal(err)
		}
		if l.ID != "Hobbit-Review" || l.Target != "https://example.com/review" || !l.External || l.OwnerID != ann {
			t.Fatalf("created %+v", l)
		}
		for _, id := range []string{"Hobbit-Review", "hobbit-review", "HOBBIT-REVIEW"} {
			got, ok, err := s.Get(ctx, id)
			if err != nil || !ok || got.ID != "Hobbit-Review" || got.Target != l.Target || !got.CreatedAt.Equal(l.CreatedAt) {
				t.Fatalf("Get(%q) = %+v, %v, %v", id, got, ok, err)
			}
		}
		if _, ok, err := s.Get(ctx, "nope-nope"); ok || err != nil {
			t.Fatalf("Get(unknown) = %v, %v", ok, err)
		}

		in, err := s.Create(ctx, ann, "/books/12", "")
		if err != nil {
			t.Fatal(err)
		}
		if in.External || in.Target != "https://shelf.example.org/books/12" || len(in.ID) != GeneratedIDLen {
			t.Fatalf("internal link %+v", in)
		}
	})
}

func TestCreateRefuses(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s, _ := fixture(t, db)
		s.Reserve("books", "search")
		ctx := context.Background()
		if _, err := s.Create(ctx, ann, "https://example.com/", "taken"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			target, id, field, message string
		}{
			{"javascript:alert(1)", "", "target", "Only web addresses"},
			{"javascript:alert(1)", "fine-id", "target", "Only web addresses"},
			{"https://example.com/", "TAKEN", "id", "taken"},
			{"https://example.com/", "taken", "id", "taken"},
			{"https://example.com/", "login", "id", "reserved"},
			{"https://example.com/", "Books", "id", "reserved"},
			{"https://example.com/", "a", "id", "at least"},
			{"https://example.com/", "a/b/c", "id", "Use only"},
		}
		for _, tt := range tests {
			_, err := s.Create(ctx, ann, tt.target, tt.id)
			if msg := fieldMessage(err, tt.field); !strings.Contains(msg, tt.message) {
				t.Errorf("Create(%q, %q) = %v; want a %s error saying %q", tt.target, tt.id, err, tt.field, tt.message)
			}
		}
		if _, err := s.Create(ctx, bob, "https://example.com/", "TaKeN"); !errors.Is(err, ErrTaken) {
			t.Errorf("Create of a taken id in other case = %v; want ErrTaken", err)
		}
		var n int
		if err := db.Read.QueryRow(`SELECT count(*) FROM links`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d links, %v; want 1", n, err)
		}
	})
}

func TestCreateRace(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s, _ := fixture(t, db)
		ctx := context.Background()
		const racers = 8
		var wg sync.WaitGroup
		errs := make([]error, racers)
		start := make(chan struct{})
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				owner := int64(ann)
				if i%2 == 1 {
					owner = bob
				}
				_, errs[i] = s.Create(ctx, owner, "https://example.com/", fmt.Sprintf("Race-%sid", strings.Repeat("x", i%3)))
			}()
		}
		close(start)
		wg.Wait()
		created, taken := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			case errors.Is(err, ErrTaken):
				taken++
			default:
				t.Errorf("racing create: %v", err)
			}
		}
		// Three ids (race-id, race-xid, race-xxid), each won once.
		if created != 3 || taken != racers-3 {
			t.Fatalf("%d created, %d taken; want 3 and %d", created, taken, racers-3)
		}
	})
}

// collidingReader returns the same bytes twice, then random ones.
type collidingReader struct {
	reads int
	fixed []byte
}

func (r *collidingReader) Read(p []byte) (int, error) {
	r.reads++
	if r.reads <= 2 {
		return copy(p, bytes.Repeat(r.fixed, len(p)/len(r.fixed)+1)), nil
	}
	return rand.Read(p)
}

func TestGeneratedIDCollision(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s, _ := fixture(t, db)
		ctx := context.Background()
		r := &collidingReader{fixed: []byte{5}}
		s.random = r
		first, err := s.Create(ctx, ann, "https://example.com/1", "")
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.Create(ctx, ann, "https://example.com/2", "")
		if err != nil {
			t.Fatal(err)
		}
		if first.ID == second.ID || r.reads != 3 {
			t.Fatalf("ids %q and %q after %d reads; want a retry after the collision", first.ID, second.ID, r.reads)
		}
		s.random = &collidingReader{reads: -100, fixed: []byte{5}}
		if _, err := s.Create(ctx, ann, "https://example.com/3", ""); err == nil || errors.Is(err, ErrTaken) {
			t.Fatalf("endless collisions: %v; want an error that is not ErrTaken", err)
		}
		s.random = io.LimitReader(rand.Reader, 0)
		if _, err := s.Create(ctx, ann, "https://example.com/4", ""); err == nil {
			t.Fatal("a failing random source made an id")
		}
	})
}

func TestAvailable(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s, _ := fixture(t, db)
		s.Reserve("books")
		ctx := context.Background()
		for _, id := range []string{"tolkien", "Tolkien-2", "gone"} {
			if _, err := s.Create(ctx, ann, "https://example.com/", id); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx, ann, "gone"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			id   string
			free bool
			alts []string
		}{
			{"fresh", true, nil},
			{"TOLKIEN", false, []string{"TOLKIEN-books", "TOLKIEN-3"}},
			{"gone", false, []string{"gone-2", "gone-books"}},
			{"login", false, []string{"login-2", "login-books"}},
			{"books", false, []string{"books-2", "books-books"}},
			{"a", false, nil},
			{"bad id", false, nil},
		}
		for _, tt := range tests {
			free, alts, err := s.Available(ctx, tt.id)
			if err != nil || free != tt.free || fmt.Sprint(alts) != fmt.Sprint(tt.alts) {
				t.Errorf("Available(%q) = %v, %q, %v; want %v, %q", tt.id, free, alts, err, tt.free, tt.alts)
			}
			for _, a := range alts {
				if _, err := s.Create(ctx, bob, "https://example.com/", a); err != nil {
					t.Errorf("alternative %q: %v", a, err)
				}
			}
		}
	})
}

func TestDisableDeleteAndOwnership(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s, _ := fixture(t, db)
		ctx := context.Background()
		if _, err := s.Create(ctx, ann, "https://example.com/", "anns"); err != nil {
			t.Fatal(err)
		}
		// Bob can neither disable nor delete Ann's link.
		if err := s.SetDisabled(ctx, bob, "anns", true); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob disabling: %v", err)
		}
		if err := s.Delete(ctx, bob, "ANNS"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob deleting: %v", err)
		}
		if l, ok, _ := s.Resolve(ctx, "anns"); !ok || l.Disabled || l.Deleted {
			t.Fatalf("after bob: %+v", l)
		}
		// Ann's changes show at once through the cache.
		if err := s.SetDisabled(ctx, ann, "ANNS", true); err != nil {
			t.Fatal(err)
		}
		if l, ok, _ := s.Resolve(ctx, "anns"); !ok || !l.Disabled {
			t.Fatalf("disabled: %+v", l)
		}
		if err := s.SetDisabled(ctx, ann, "anns", false); err != nil {
			t.Fatal(err)
		}
		if l, _, _ := s.Resolve(ctx, "anns"); l.Disabled {
			t.Fatal("still disabled")
		}
		if err := s.Delete(ctx, ann, "anns"); err != nil {
			t.Fatal(err)
		}
		if l, ok, _ := s.Resolve(ctx, "anns"); !ok || !l.Deleted {
			t.Fatalf("deleted: %+v, %v", l, ok)
		}
		if err := s.Delete(ctx, ann, "anns"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
		if err := s.SetDisabled(ctx, ann, "anns", false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("enabling a deleted link: %v", err)
		}
		if list, err := s.List(ctx, ann); err != nil || len(list) != 0 {
			t.Fatalf("list after delete: %v, %v", list, err)
		}
		// Never given out again, to anyone.
		if _, err := s.Create(ctx, ann, "https://example.org/", "anns"); !errors.Is(err, ErrTaken) {
			t.Fatalf("reusing a deleted id: %v", err)
		}
	})
}

func TestList(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s, c := fixture(t, db)
		ctx := context.Background()
		for _, id := range []string{"first", "second", "third"} {
			if _, err := s.Create(ctx, ann, "https://example.com/"+id, id); err != nil {
				t.Fatal(err)
			}
			c.add(time.Minute)
		}
		if _, err := s.Create(ctx, bob, "https://example.com/", "bobs"); err != nil {
			t.Fatal(err)
		}
		list, err := s.List(ctx, ann)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, l := range list {
			ids = append(ids, l.ID)
		}
		if fmt.Sprint(ids) != "[third second first]" {
			t.Fatalf("list %v", ids)
		}
		n, err := s.CountCreatedSince(ctx, ann, c.now().Add(-2*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("created since: %d, %v", n, err)
		}
	})
}

func TestClicks(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s, c := fixture(t, db)
		ctx := context.Background()
		if _, err := s.Create(ctx, ann, "https://example.com/", "clicky"); err != nil {
			t.Fatal(err)
		}
		// A second process on the same database adds its own clicks.
		other := New(db, testBase, c.now)
		for range 3 {
			s.CountClick("clicky")
		}
		other.CountClick("CLICKY")
		c.add(24 * time.Hour)
		s.CountClick("Clicky")
		if l, _, _ := s.Get(ctx, "clicky"); l.Clicks != 0 {
			t.Fatalf("%d clicks before a flush; want none written", l.Clicks)
		}
		if s.Pending() != 4 {
			t.Fatalf("pending %d", s.Pending())
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := other.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		s.CountClick("clicky")
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil { // nothing to add
			t.Fatal(err)
		}
		l, _, _ := s.Get(ctx, "clicky")
		if l.Clicks != 6 {
			t.Fatalf("%d clicks; want 6", l.Clicks)
		}
		day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		days, err := s.ClicksByDay(ctx, "clicky", day.AddDate(0, 0, -1), day.AddDate(0, 0, 2).Add(5*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := "[2026-02-28:0 2026-03-01:4 2026-03-02:2 2026-03-03:0]"
		var got []string
		for _, d := range days {
			got = append(got, fmt.Sprintf("%s:%d", d.Day.Format("2006-01-02"), d.Clicks))
		}
		if fmt.Sprint(got) != want {
			t.Fatalf("clicks by day %v; want %v", got, want)
		}
	})
}

func TestFlushFailureKeepsClicks(t *testing.T) {
	db := storetest.Open(t)
	s, _ := fixture(t, db)
	ctx := context.Background()
	if _, err := s.Create(ctx, ann, "https://example.com/", "kept"); err != nil {
		t.Fatal(err)
	}
	s.CountClick("kept")
	s.CountClick("kept")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Flush(cctx); err == nil {
		t.Fatal("a flush on a cancelled context succeeded")
	}
	if s.Pending() != 2 {
		t.Fatalf("pending %d after a failed flush; want 2", s.Pending())
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if l, _, _ := s.Get(ctx, "kept"); l.Clicks != 2 {
		t.Fatalf("%d clicks", l.Clicks)
	}
}

func TestRunFlusherFlushesOnStop(t *testing.T) {
	db := storetest.Open(t)
	s, _ := fixture(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := s.Create(ctx, ann, "https://example.com/", "stop"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.RunFlusher(ctx, time.Hour, func(err error) { t.Error(err) }); close(done) }()
	s.CountClick("stop")
	cancel()
	<-done
	if l, _, _ := s.Get(context.Background(), "stop"); l.Clicks != 1 {
		t.Fatalf("%d clicks after stopping; want 1", l.Clicks)
	}
}

func TestResolveCache(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s, c := fixture(t, db)
		ctx := context.Background()
		if _, err := s.Create(ctx, ann, "https://example.com/", "cached"); err != nil {
			t.Fatal(err)
		}
		other := New(db, testBase, c.now) // another process
		if l, ok, err := other.Resolve(ctx, "cached"); !ok || err != nil || l.Disabled {
			t.Fatalf("resolve: %+v, %v, %v", l, ok, err)
		}
		if _, ok, _ := other.Resolve(ctx, "later"); ok {
			t.Fatal("unknown id resolved")
		}
		if err := s.SetDisabled(ctx, ann, "cached", true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, ann, "https://example.com/", "later"); err != nil {
			t.Fatal(err)
		}
		// The other process serves what it cached until the TTL is up ...
		if l, _, _ := other.Resolve(ctx, "cached"); l.Disabled {
			t.Fatal("cache not used")
		}
		if _, ok, _ := other.Resolve(ctx, "later"); ok {
			t.Fatal("unknown id not cached")
		}
		// ... and not a moment longer.
		c.add(DefaultCacheTTL)
		if l, _, _ := other.Resolve(ctx, "cached"); !l.Disabled {
			t.Fatal("stale after the TTL")
		}
		if _, ok, _ := other.Resolve(ctx, "later"); !ok {
			t.Fatal("unknown id cached past the TTL")
		}
		// Ids no link could have are never looked up, nor cached.
		for _, id := range []string{"", "x", strings.Repeat("y", 33), "a/b", "ü-ber"} {
			if _, ok, err := other.Resolve(ctx, id); ok || err != nil {
				t.Fatalf("Resolve(%q) = %v, %v", id, ok, err)
			}
		}
		if n := other.cache.len(); n != 2 {
			t.Fatalf("%d cache entries; want 2", n)
		}
	})
}

func TestResolveCacheBounded(t *testing.T) {
	var c resolveCache
	c.init(100, time.Minute)
	now := time.Now()
	for i := range 1000 {
		c.putUnchangedSince(c.generation(), fmt.Sprint("id-", i), cacheEntry{at: now})
		if c.len() > 100 {
			t.Fatalf("%d entries", c.len())
		}
	}
	if _, ok := c.get("id-999", now); !ok {
		t.Fatal("the newest entry was dropped")
	}
}

// A read-only database still resolves: the hot path writes nothing.
func TestResolveWritesNothing(t *testing.T) {
	db := storetest.Open(t)
	s, _ := fixture(t, db)
	ctx := context.Background()
	if _, err := s.Create(ctx, ann, "https://example.com/", "readonly"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	defer db.Write.Exec(`PRAGMA query_only = 0`)
	s2 := New(db, testBase, time.Now)
	for range 10 {
		if _, ok, err := s2.Resolve(ctx, "readonly"); !ok || err != nil {
			t.Fatalf("resolve on a read-only database: %v, %v", ok, err)
		}
		s2.CountClick("readonly")
	}
	if err := s2.Flush(ctx); err == nil {
		t.Fatal("the flush wrote to a read-only database")
	}
}

// A link disabled while a Resolve is reading it from the database is not
// cached in its old state: the next Resolve sees it disabled, not for the
// cache's whole TTL after the owner turned it off.
func TestResolveDoesNotCacheAReadOlderThanAChange(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := fixture(t, db)
		const owner = ann
		if _, err := s.Create(ctx, owner, "https://example.com/", "racy"); err != nil {
			t.Fatal(err)
		}
		// The owner disables the link just after Resolve has read it.
		s.lookup = func(ctx context.Context, id string) (Link, bool, error) {
			l, ok, err := s.Get(ctx, id)
			if err == nil {
				if err := s.SetDisabled(ctx, owner, id, true); err != nil {
					t.Fatal(err)
				}
			}
			return l, ok, err
		}
		if l, _, err := s.Resolve(ctx, "racy"); err != nil || l.Disabled {
			t.Fatalf("first resolve: %+v %v", l, err)
		}
		s.lookup = s.Get
		if l, _, err := s.Resolve(ctx, "racy"); err != nil || !l.Disabled {
			t.Fatalf("resolve after the change: %+v %v; the stale link was cached", l, err)
		}
	})
}

// Processes sharing a database flush at the same moment, on the same
// rows: every click is added, none is lost to a deadlock or a
// serialization failure.
func TestConcurrentFlushesAddUp(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s, c := fixture(t, db)
		ctx := context.Background()
		for _, id := range []string{"one", "two", "three"} {
			if _, err := s.Create(ctx, ann, "https://example.com/"+id, id); err != nil {
				t.Fatal(err)
			}
		}
		const procs, rounds = 6, 5
		var wg sync.WaitGroup
		errs := make(chan error, procs*rounds)
		for p := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				proc := New(db, testBase, c.now)
				for range rounds {
					// Each process counts the links in another order.
					for i := range 3 {
						proc.CountClick([]string{"one", "two", "three"}[(i+p)%3])
					}
					proc.CountClick("ONE")
					errs <- proc.Flush(ctx)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for id, want := range map[string]int64{"one": 2 * procs * rounds, "two": procs * rounds, "three": procs * rounds} {
			if l, _, err := s.Get(ctx, id); err != nil || l.Clicks != want {
				t.Errorf("%s: %d clicks, want %d (%v)", id, l.Clicks, want, err)
			}
		}
	})
}
