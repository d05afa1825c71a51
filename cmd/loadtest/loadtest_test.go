package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store"
)

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("10k, 1M,2500")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{10_000, 1_000_000, 2500}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"", "x", "-5", "10q"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) succeeded", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	m, err := parseStatus(strings.NewReader("Name:\tshelf\nVmHWM:\t  123456 kB\nVmRSS:\t   98765 kB\n"))
	if err != nil || m.HWM != 123456 || m.RSS != 98765 {
		t.Fatalf("got %+v, %v", m, err)
	}
}

func TestQueryPathsAreEncoded(t *testing.T) {
	for _, p := range queryPaths() {
		if strings.ContainsAny(p, " \"\\í") {
			t.Errorf("path %q is not URL-encoded", p)
		}
	}
	if len(queryPaths()) < 40 {
		t.Errorf("only %d queries in the mix", len(queryPaths()))
	}
}

// TestWrkScript runs the generated Lua script in the real wrk against a
// stub server: it must parse, send the HTMX header, cycle through the mix
// and print the summary line the Go side reads.
func TestWrkScript(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk not installed")
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var noHX int
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.RequestURI()]++
		if r.Header.Get("HX-Request") != "true" {
			noHX++
		}
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer ts.Close()

	script := filepath.Join(t.TempDir(), "search.lua")
	if err := os.WriteFile(script, []byte(searchScript(queryPaths())), 0o644); err != nil {
		t.Fatal(err)
	}
	w := wrkRunner{exe: "wrk", threads: 2, connections: 4}
	r, err := w.run(context.Background(), ts.URL+"/", script, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.rps() <= 0 || r.P99 <= 0 || r.P50 > r.P99 {
		t.Errorf("implausible summary %+v", r)
	}
	if r.errors() != 0 {
		t.Errorf("errors against a stub server: %+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if noHX > 0 {
		t.Errorf("%d requests without HX-Request: true", noHX)
	}
	for _, p := range queryPaths() {
		if seen[p] == 0 {
			t.Errorf("path %s never requested", p)
		}
	}
}

func TestParseWrkRejectsMissingSummary(t *testing.T) {
	if _, err := parseWrk([]byte("Running 1s test @ http://x\n")); err == nil {
		t.Fatal("no error without a WRKJSON line")
	}
	r, err := parseWrk([]byte("stuff\nWRKJSON {\"requests\":10,\"duration_us\":1000000,\"status\":2,\"p99\":1500}\n"))
	if err != nil || r.rps() != 10 || r.errors() != 2 || ms(r.P99) != "1.50 ms" {
		t.Fatalf("got %+v, %v", r, err)
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestShortAsset(t *testing.T) {
	for in, want := range map[string]string{
		"/":                              "GET /",
		"/static/app.1a2b3c4d5e.css":     "app.css",
		"/static/htmx.min.d6fdc75f20.js": "htmx.min.js",
		"/static/plain.js":               "plain.js",
	} {
		if got := shortAsset(in); got != want {
			t.Errorf("shortAsset(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	stat := "4242 (shelf serve) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 100 2000000 5000 18446744073709551615"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3250*time.Millisecond {
		t.Fatalf("got %v, %v; want 3.25s", got, err)
	}
	if _, err := processCPU(os.Getpid()); err != nil {
		t.Fatalf("own /proc stat: %v", err)
	}
}

func TestColdQueries(t *testing.T) {
	db := filepath.Join(t.TempDir(), "books.db")
	h, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Exec(`CREATE TABLE books (title TEXT, authors TEXT, ratings_count INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if _, err := h.Exec(`INSERT INTO books VALUES ($1, $2, $3)`,
			fmt.Sprintf("The Garden of Forking Paths %d, Volume %c", i, 'a'+i%26), "Jorge Luis Borges", i); err != nil {
			t.Fatal(err)
		}
	}
	paths, err := coldQueries(context.Background(), db, 300)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 100 || len(paths) > 302 {
		t.Fatalf("got %d queries from 500 books, want about 300", len(paths))
	}
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] || !strings.HasPrefix(p, "/search?q=") || strings.Contains(p, " ") {
			t.Fatalf("bad or repeated path %q", p)
		}
		seen[p] = true
	}
	again, _ := coldQueries(context.Background(), db, 300)
	if strings.Join(again, "\n") != strings.Join(paths, "\n") {
		t.Error("the cold mix differs between runs")
	}
}

func TestCombineRuns(t *testing.T) {
	c := combine([]wrkResult{
		{Requests: 100, DurationUS: 1e6, P50: 1, P99: 5, Mean: 2, Status: 1, ServerCPU: time.Second},
		{Requests: 300, DurationUS: 2e6, P50: 3, P99: 4, Mean: 4, Timeout: 2, ServerCPU: 2 * time.Second},
	})
	if c.Requests != 400 || c.DurationUS != 2e6 || c.P50 != 3 || c.P99 != 5 || c.Mean != 3.5 || c.errors() != 3 || c.ServerCPU != 3*time.Second {
		t.Errorf("combined = %+v", c)
	}
	if c.rps() != 200 {
		t.Errorf("rps = %v, want 200", c.rps())
	}
}

func TestDatabaseFor(t *testing.T) {
	o := &options{dir: "/tmp/lt", postgres: "postgres://u:secret@127.0.0.1:5432/postgres?sslmode=disable"}
	db, err := databaseFor(o, 1000)
	if err != nil || db != "postgres://u:secret@127.0.0.1:5432/shelf_loadtest_1000?sslmode=disable" || !store.IsPostgresURL(db) {
		t.Errorf("postgres database = %q, %v", db, err)
	}
	if s := stampFor(o, db); s != "/tmp/lt/postgres-shelf_loadtest_1000.stamp" {
		t.Errorf("stamp = %q", s)
	}
	if r := redactURL(db); strings.Contains(r, "secret") {
		t.Errorf("redacted %q", r)
	}
	o.postgres = ""
	if db, _ := databaseFor(o, 1000); db != "/tmp/lt/shelf-1000.db" || store.IsPostgresURL(db) {
		t.Errorf("sqlite database = %q", db)
	}
}

// The API mix is the same queries as JSON API searches, without the HTMX
// header.
func TestAPIScript(t *testing.T) {
	api, frag := apiQueryPaths(), queryPaths()
	if len(api) != len(frag) {
		t.Fatalf("%d API paths, %d fragment paths", len(api), len(frag))
	}
	for i := range api {
		if strings.TrimPrefix(api[i], "/api/v1/books?") != strings.TrimPrefix(frag[i], "/search?") || !strings.HasPrefix(api[i], "/api/v1/books?") {
			t.Errorf("%s against %s", api[i], frag[i])
		}
	}
	script := apiScript(api)
	if strings.Contains(script, "HX-Request") || !strings.Contains(script, `wrk.headers["Accept-Encoding"] = "gzip"`) {
		t.Errorf("API script:\n%s", script)
	}
	if !strings.Contains(searchScript(frag), `wrk.headers["HX-Request"] = "true"`) {
		t.Error("the fragment script lost its HTMX header")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return
	}
	// In the real wrk: it parses, sends no HTMX header, asks for gzip.
	var mu sync.Mutex
	var hx, plain, n int
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		if r.Header.Get("HX-Request") != "" {
			hx++
		}
		if r.Header.Get("Accept-Encoding") != "gzip" || !strings.HasPrefix(r.URL.Path, "/api/v1/books") {
			plain++
		}
		mu.Unlock()
		io.WriteString(w, "{}")
	}))
	defer ts.Close()
	path := filepath.Join(t.TempDir(), "api.lua")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	w := wrkRunner{exe: "wrk", threads: 1, connections: 2}
	if _, err := w.run(context.Background(), ts.URL+"/", path, time.Second); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n == 0 || hx > 0 || plain > 0 {
		t.Errorf("%d requests, %d with HX-Request, %d without gzip or off the API", n, hx, plain)
	}
}
