package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"shelf/components/paths"
	"shelf/store"
	"shelf/store/previews"
)

// TestPreviewsWithoutChromium: a server without Chromium runs as ever, and
// its previews say that previews are off, at once and for good.
func TestPreviewsWithoutChromium(t *testing.T) {
	s := startShelfServer(t, "SHELF_CHROMIUM=/nonexistent/chromium")
	if s.Logs.Count("page previews are off") != 1 {
		t.Errorf("no word that previews are off:\n%s", tailLines(s.Logs.String(), 20))
	}
	db, err := store.Open(context.Background(), s.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := previews.NewQueue(db, nil).Enqueue(context.Background(), "https://example.com/")
	if err != nil {
		t.Fatal(err)
	}
	client := newClient(t, s.URL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body, _ := client.get(paths.PreviewFragmentLink(p.Key))
		if status == http.StatusOK && strings.Contains(body, previews.OffReason) && !strings.Contains(body, "hx-get") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the preview does not say previews are off: %d\n%s", status, body)
		}
		time.Sleep(200 * time.Millisecond)
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
