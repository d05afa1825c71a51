package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A running server on a SQLite file shows the books that `shelf import`,
// another process, adds to that file within 2 s, without a restart: in
// search pages and their HTMX fragments (both cached before the import),
// in counts and on the book's page.
func TestSQLiteImportIsVisibleOnRunningServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary: skipped under -short")
	}
	db := filepath.Join(t.TempDir(), "shelf.db")
	srv := startShelfProcess(t, "server", "SHELF_DB="+db, "SHELF_BASE_URL=http://localhost:8080")
	checkImportVisible(t, srv, db, "zyxwvut")
}

// The same on a database of one's own, a large one say, once the server's
// in-memory index is built. It adds two books to the file each run. (The
// server refuses unknown SHELF_ settings, which it would inherit.)
//
//	go run ./cmd/shelf import -db /tmp/shelf-1m.db --synthetic 1000000
//	FRESHNESS_DB=/tmp/shelf-1m.db go test ./cmd/shelf -run TestSQLiteFreshnessOnRunningServer -v
func TestSQLiteFreshnessOnRunningServer(t *testing.T) {
	db := os.Getenv("FRESHNESS_DB")
	if db == "" {
		t.Skip("set FRESHNESS_DB to a SQLite database file to measure")
	}
	srv := startShelfProcess(t, "server", "SHELF_DB="+db, "SHELF_BASE_URL=http://localhost:8080")
	deadline := time.Now().Add(2 * time.Minute)
	for srv.logs.Count("search index ready") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the search index was not built within 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Log(srv.logs.Lines("search index ready")[0])
	// A word no run used before, so each run starts from no match.
	word := "zq" + strings.Map(func(r rune) rune { return 'a' + (r-'0')*2 }, strconv.FormatInt(time.Now().UnixNano()%1e9, 10))
	checkImportVisible(t, srv, db, word)
	deadline = time.Now().Add(time.Minute)
	for srv.logs.Count("search index rebuilt") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the search index was not rebuilt within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Log(srv.logs.Lines("search index rebuilt")[0])
}

// checkImportVisible asks srv, serving db, for a search of word (which no
// book has), its HTMX fragment and the next book's page, then imports two
// books with word in their titles with the shelf binary and waits for
// srv to show them all, 2 s at most.
func checkImportVisible(t *testing.T, srv *shelfProcess, db, word string) {
	t.Helper()
	before := catalogSize(t, db)
	if before == 0 {
		t.Fatal("the server imported no catalog")
	}
	newID := strconv.FormatInt(before+1, 10)

	search, fragment, bookPage := srv.URL+"/search?q="+word, srv.URL+"/search?q="+word+"&page=1", srv.URL+"/books/"+newID
	check := func(u string, htmx bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if htmx {
			req.Header.Set("HX-Request", "true")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		if _, err := io.Copy(&b, resp.Body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b.String()
	}
	// Asked before the import, so any cache holds the old answers.
	for range 2 {
		if status, body := check(search, false); status != http.StatusOK || !strings.Contains(body, "No books match") {
			t.Fatalf("search before the import: %d\n%s", status, body)
		}
		if status, body := check(fragment, true); status != http.StatusOK || !strings.Contains(body, "No books match") {
			t.Fatalf("search fragment before the import: %d\n%s", status, body)
		}
		if status, _ := check(bookPage, false); status != http.StatusNotFound {
			t.Fatalf("book %s before the import: %d", newID, status)
		}
	}

	csv := filepath.Join(t.TempDir(), "new.csv")
	if err := os.WriteFile(csv, []byte("title,authors,original_publication_year,isbn13,language_code,average_rating,ratings_count\n"+
		word+" Quarterly Almanac,Imogen Vantablack,2026,,eng,4.1,12\n"+
		"The "+word+" Companion,Imogen Vantablack,2026,,eng,3.9,7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(shelfBinary(t), "import", "-db", db, csv).CombinedOutput()
	if err != nil {
		t.Fatalf("shelf import: %v\n%s", err, out)
	}
	imported := time.Now()

	for _, c := range []struct {
		name string
		url  string
		htmx bool
		want []string
	}{
		{"search page", search, false, []string{"Quarterly Almanac", "Companion", "2 books match"}},
		{"search fragment", fragment, true, []string{"Quarterly Almanac", "Companion", "2 books match"}},
		{"book page", bookPage, false, []string{"Quarterly Almanac", "Imogen Vantablack"}},
	} {
		for {
			status, body := check(c.url, c.htmx)
			if status == http.StatusOK && containsAll(body, c.want) {
				t.Logf("%s shows the import %v after it ended", c.name, time.Since(imported).Round(time.Millisecond))
				break
			}
			if time.Since(imported) > 2*time.Second {
				t.Fatalf("%s does not show the import 2 s after it ended: %d\n%s", c.name, status, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
