package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"shelf/store"
	"shelf/store/links"
)

// Clicks on short links are counted in memory and written every few
// seconds; stopping the server writes those not written yet.
func TestShortLinkClicksSurviveShutdown(t *testing.T) {
	s := startShelfServer(t)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", "clicks@example.org", "--password-stdin"}, nil,
		strings.NewReader("violet tractor humming\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	ctx := context.Background()
	db, err := store.Open(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var owner int64
	if err := db.Read.QueryRow(`SELECT id FROM users WHERE email = 'clicks@example.org'`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(s.URL)
	ls := links.New(db, base, nil)
	if _, err := ls.Create(ctx, owner, "/books/1", "counted"); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 3 {
		resp, err := client.Get(s.URL + "/s/counted")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != s.URL+"/books/1" {
			t.Fatalf("short link: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	s.stop() // well within links.FlushEvery of the clicks
	l, ok, err := ls.Get(ctx, "counted")
	if err != nil || !ok || l.Clicks != 3 {
		t.Fatalf("after shutdown: %d clicks, %v, %v; want 3", l.Clicks, ok, err)
	}
}
