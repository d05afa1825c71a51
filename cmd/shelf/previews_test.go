package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shelf/components/paths"
	"shelf/handlers"
	"shelf/store"
	"shelf/store/previews"
)

// previewServer serves the previews routes of an App over a fresh database,
// with the preview worker that serve starts: no catalog, no search, for
// speed.
func previewServer(t *testing.T, cfg previewConfig) (baseURL string, q *previews.Queue, logs *syncBuffer) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logs = &syncBuffer{}
	log := newLogger(logs)
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 2
	}
	pv := startPreviews(cfg, db, log)
	t.Cleanup(pv.Stop)
	base, _ := url.Parse("http://shelf.test")
	app, err := handlers.New(handlers.Deps{DB: db, Logger: log, Previews: pv.Queue},
		handlers.Settings{BaseURL: base, SecretKey: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return srv.URL, pv.Queue, logs
}

// TestPreviewsWithoutChromium: a server without Chromium runs as ever, and
// its previews say that previews are off, at once and for good.
func TestPreviewsWithoutChromium(t *testing.T) {
	base, q, logs := previewServer(t, previewConfig{Chromium: "/nonexistent/chromium"})
	if logs.Count("page previews are off") != 1 {
		t.Errorf("no word that previews are off:\n%s", logs.String())
	}
	p, err := q.Enqueue(context.Background(), "https://example.com/")
	if err != nil {
		t.Fatal(err)
	}
	client := newClient(t, base)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body, _ := client.get(paths.PreviewFragmentLink(p.Key))
		if status == http.StatusOK && strings.Contains(body, previews.OffReason) && !strings.Contains(body, "hx-get") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the preview does not say previews are off: %d\n%s", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPreviewSettings(t *testing.T) {
	for _, bad := range [][]string{
		{"SHELF_PREVIEW_ALLOW=localhost"},
		{"SHELF_PREVIEW_CONCURRENCY=0"},
		{"SHELF_PREVIEW_CONCURRENCY=x"},
		{"SHELF_PREVIEW_TIMEOUT=1h"},
	} {
		if _, _, err := loadConfig("shelf serve", nil, bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	cfg, _, err := loadConfig("shelf serve", nil, []string{"SHELF_PREVIEW_ALLOW=127.0.0.1:8089", "SHELF_PREVIEW_CONCURRENCY=3", "SHELF_PREVIEW_TIMEOUT=2s"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Previews.Concurrency != 3 || cfg.Previews.Timeout != 2*time.Second || cfg.Previews.Allow.Empty() {
		t.Errorf("%+v", cfg.Previews)
	}
	cfg, _, _ = loadConfig("shelf serve", nil, nil)
	if !cfg.Previews.Allow.Empty() || cfg.Previews.Concurrency != 2 || cfg.Previews.Timeout != 10*time.Second {
		t.Errorf("defaults: %+v", cfg.Previews)
	}
}
