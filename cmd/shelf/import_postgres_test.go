package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"shelf/store/storetest"
)

// Two servers on one PostgreSQL database both show a book that `shelf
// import` (a third process's worth of code, its own connections) added,
// within 2 s of the import's end, without a restart.
func TestImportReachesEveryServerOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	db := storetest.PostgresURL(t)
	logs := &syncBuffer{}
	// Servers on PostgreSQL share one secret key, given to each.
	env := []string{"SHELF_SECRET_KEY=" + strings.Repeat("ab", 32)}
	a := launchShelf(t, db, logs, env)
	b := launchShelf(t, db, logs, env)
	if n := catalogSize(t, db); n < 9000 {
		t.Fatalf("%d books after the first start, want the bundled catalog", n)
	}
	const query = "/search?q=zanzibar+quokka"
	for _, s := range []*shelfServer{a, b} {
		if body := get(t, s.URL+query); strings.Contains(body, `data-book-id="10001"`) {
			t.Fatal("found before the import")
		}
	}
	csv := writeImportFile(t, "books.csv", "title,author\nZanzibar Quokka Tales,Someone New\n")
	var out bytes.Buffer
	if code := run(context.Background(), []string{"import", "-db", db, csv}, nil, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("shelf import: exit %d\n%s", code, out.String())
	}
	imported := time.Now()
	for _, s := range []*shelfServer{a, b} {
		for !strings.Contains(get(t, s.URL+query), `data-book-id="10001"`) {
			if time.Since(imported) > 2*time.Second {
				t.Fatalf("%s does not show the imported book 2 s after the import\n%s", s.URL, strings.Join(logs.Lines("msg="), "\n"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("both servers show the imported book %v after the import", time.Since(imported).Round(time.Millisecond))
	if n := logs.Count("search index rebuilt after a catalog change"); n != 2 {
		t.Errorf("%d rebuilds logged, want one per server", n)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(body)
}
