package search

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/storetest"
)

// bundledQueries are searches of every kind over the bundled catalog:
// whole titles, prefixes, several words, authors, typos, no match, pages.
func bundledQueries(t *testing.T, s *Searcher) []string {
	t.Helper()
	// The 20 most popular books, whatever a page holds.
	var popular []Hit
	for page := 1; len(popular) < 20; page++ {
		r, err := s.Search(context.Background(), "", page)
		if err != nil {
			t.Fatal(err)
		}
		popular = append(popular, r.Hits...)
		if !r.HasMore {
			break
		}
	}
	qs := []string{"", "harry", "harry p", "hary poter", "tolkien", "the", "love", "garcia marquez", "xyzzy",
		"lord of the", "hunger gam", "grey", "gray", "café", "ø", "1984", "a", "zzzz qqqq", "shades of gre"}
	for _, h := range popular[:min(20, len(popular))] {
		w := foldWords(h.Title)
		qs = append(qs, h.Title, w[0][:min(3, len(w[0]))], strings.Join(w[:min(2, len(w))], " "), h.Authors)
		if len(w[0]) > 4 {
			qs = append(qs, w[0][1:]+" "+foldWords(h.Authors)[0]) // a typo, then an author
		}
	}
	return qs
}

// The same catalog gives the same answers on both backends: SQLite's
// vocabulary comes from FTS5, PostgreSQL's from Go's tokenizer.
func TestSearchAgreesAcrossBackends(t *testing.T) {
	type answer struct {
		Terms   []string
		Docs    []int32
		Results []*Results
	}
	var mu sync.Mutex
	got := map[store.Backend]answer{}
	var queries []string
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := catalog.New(db).ImportBundled(ctx); err != nil {
			t.Fatal(err)
		}
		s, err := New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.BuildIndex(ctx); err != nil {
			t.Fatal(err)
		}
		v, ix := s.searchState()
		if ix == nil {
			t.Fatal("no index in use")
		}
		mu.Lock()
		if queries == nil {
			queries = bundledQueries(t, s)
		}
		mu.Unlock()
		a := answer{Terms: v.terms, Docs: v.docs}
		for _, q := range queries {
			for _, page := range []int{1, 2} {
				r, err := s.Search(ctx, q, page)
				if err != nil {
					t.Fatalf("search %q: %v", q, err)
				}
				a.Results = append(a.Results, r)
			}
		}
		mu.Lock()
		got[db.Backend] = a
		mu.Unlock()
	})
	lite, ok1 := got[store.SQLite]
	pg, ok2 := got[store.Postgres]
	if !ok1 || !ok2 {
		return
	}
	if !reflect.DeepEqual(lite.Terms, pg.Terms) || !reflect.DeepEqual(lite.Docs, pg.Docs) {
		for i := range min(len(lite.Terms), len(pg.Terms)) {
			if lite.Terms[i] != pg.Terms[i] || lite.Docs[i] != pg.Docs[i] {
				t.Fatalf("vocabularies differ at %d: sqlite %q (%d books), postgres %q (%d books)",
					i, lite.Terms[i], lite.Docs[i], pg.Terms[i], pg.Docs[i])
			}
		}
		t.Fatalf("vocabularies differ: %d terms on sqlite, %d on postgres", len(lite.Terms), len(pg.Terms))
	}
	for i, r := range lite.Results {
		if !reflect.DeepEqual(r, pg.Results[i]) {
			t.Errorf("search %q page %d: sqlite %v (total %d), postgres %v (total %d)",
				r.Query, r.Page, ids(r), r.Total, ids(pg.Results[i]), pg.Results[i].Total)
		}
	}
	if len(lite.Results) < 200 {
		t.Errorf("only %d searches compared", len(lite.Results))
	}
}

// On PostgreSQL nothing answers before the index is built: Search says so
// rather than find nothing.
func TestPostgresSearchWaitsForIndex(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	if _, err := catalog.New(db).Import(ctx, strings.NewReader("title,author\nDune,Frank Herbert\n"), catalog.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if s.Ready() {
		t.Error("ready before the index is built")
	}
	if _, err := s.Search(ctx, "dune", 1); !errors.Is(err, ErrNotReady) {
		t.Fatalf("search before the index: %v, want ErrNotReady", err)
	}
	if _, err := s.BuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := s.Search(ctx, "dune", 1)
	if err != nil || !s.Ready() || !reflect.DeepEqual(ids(r), []int64{1}) {
		t.Fatalf("after the index: %v, %v (ready %v)", r, err, s.Ready())
	}
}

// follower is a second instance: its own database handle and Searcher,
// following the catalog's changes.
type follower struct {
	s        *Searcher
	mu       sync.Mutex
	rebuilds int
}

func startFollower(t *testing.T, url string) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	f := &follower{s: s}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Follow(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), func(_ IndexStats, err error) {
			if err != nil {
				t.Errorf("rebuild: %v", err)
			}
			f.mu.Lock()
			f.rebuilds++
			f.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close()
	})
	return f
}

// waitFor searches q on f until it finds want, failing after limit.
func (f *follower) waitFor(t *testing.T, q string, want int64, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r, err := f.s.Search(context.Background(), q, 1)
		if err != nil {
			t.Fatal(err)
		}
		if r.Total == 1 && len(r.Hits) == 1 && r.Hits[0].ID == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%q not found within %v: %+v", q, limit, r)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitListening waits until f's listener is connected.
func waitListening(t *testing.T, db *store.DB) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var pid int
		err := db.Read.QueryRow(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() AND query ILIKE 'listen%'`,
			FollowApplication).Scan(&pid)
		if err == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("the listener did not connect: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func importTitle(t *testing.T, db *store.DB, title string) {
	t.Helper()
	rep, err := catalog.New(db).Import(context.Background(), strings.NewReader("title,author\n"+title+",Someone New\n"), catalog.ImportOptions{})
	if err != nil || rep.Added != 1 {
		t.Fatalf("import %q: %+v, %v", title, rep, err)
	}
}

// An import through one database handle (another instance, or shelf
// import) is searchable through a second Searcher within 2 s, caches
// included, without a restart.
func TestPostgresImportReachesOtherInstance(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	writer, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if _, err := catalog.New(writer).ImportBundled(ctx); err != nil {
		t.Fatal(err)
	}
	f := startFollower(t, url)
	waitListening(t, writer)
	// Cached: nothing matches yet.
	if r, err := f.s.Search(ctx, "zanzibar quokka", 1); err != nil || r.Total != 0 {
		t.Fatalf("before the import: %+v, %v", r, err)
	}
	importTitle(t, writer, "Zanzibar Quokka")
	took := f.waitFor(t, "zanzibar quokka", 10001, 2*time.Second)
	t.Logf("visible on the other instance %v after the import committed (10k books)", took)
	if r, _ := f.s.Search(ctx, "", 1); r.Total != MaxCount || !r.TotalCapped {
		t.Errorf("popular total after the import: %d", r.Total)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rebuilds != 1 {
		t.Errorf("%d rebuilds for one import, want 1", f.rebuilds)
	}
}

// A dropped LISTEN connection is reopened, and a change made while it was
// down is picked up once it is back.
func TestPostgresFollowSurvivesDroppedConnection(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	writer, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	importTitle(t, writer, "First Book")
	f := startFollower(t, url)
	for i := range 2 {
		pid := waitListening(t, writer)
		var ok bool
		if err := writer.Read.QueryRow(`SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("terminate the listener: %v, %v", ok, err)
		}
		// Committed while nobody listens: its notification is lost.
		title := fmt.Sprintf("Missed %s", []string{"Quince", "Rhubarb"}[i])
		importTitle(t, writer, title)
		took := f.waitFor(t, title, int64(2+i), reconnectDelay+3*time.Second)
		t.Logf("a change made while disconnected visible after %v", took)
	}
	// And notifications work again on the new connection.
	waitListening(t, writer)
	importTitle(t, writer, "Heard Book")
	f.waitFor(t, "heard book", 4, 2*time.Second)
}

// How long a change takes to reach another instance on a large catalog:
// SHELF_FRESHNESS_BOOKS=1000000 go test ./store/search -run TestPostgresFreshnessAtScale -v
func TestPostgresFreshnessAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SHELF_FRESHNESS_BOOKS"))
	if n <= 0 {
		t.Skip("set SHELF_FRESHNESS_BOOKS to the catalog size to measure")
	}
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	writer, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	start := time.Now()
	if _, err := catalog.New(writer).ImportSynthetic(ctx, n, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d synthetic books in %v", n, time.Since(start).Round(time.Millisecond))
	f := startFollower(t, url)
	waitListening(t, writer)
	for i, title := range []string{"Zanzibar Quokka", "Yodelling Wombat", "Xylophone Narwhal"} {
		importTitle(t, writer, title)
		took := f.waitFor(t, title, int64(n+1+i), time.Minute)
		t.Logf("change %d visible on the other instance %v after it committed (%d books)", i+1, took.Round(time.Millisecond), n)
	}
}
