package main

import (
	"context"
	"fmt"
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
func previewServer(t *testing.T, cfg previewConfig) (baseURL string, q linkedQueue, logs *syncBuffer) {
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
	return srv.URL, linkedQueue{t: t, db: db, Queue: pv.Queue}, logs
}

// linkedQueue asks for previews of URLs a link goes to: previews are
// served only while one does. The links are written straight to the
// database, as the local test pages (on 127.0.0.1) are no targets the
// link form would take.
type linkedQueue struct {
	t  *testing.T
	db *store.DB
	*previews.Queue
}

func (q linkedQueue) Enqueue(ctx context.Context, target string) (previews.Preview, error) {
	q.t.Helper()
	now := store.FormatTime(time.Now())
	var owner int64
	err := q.db.Write.QueryRowContext(ctx, `SELECT id FROM users WHERE email = 'links@example.org'`).Scan(&owner)
	if err != nil {
		err = q.db.Write.QueryRowContext(ctx, `INSERT INTO users (email, password_hash, created_at, confirmed_at)
			VALUES ('links@example.org', 'x', $1, $1) RETURNING id`, now).Scan(&owner)
	}
	if err != nil {
		q.t.Fatal(err)
	}
	id := fmt.Sprintf("t%d", time.Now().UnixNano())
	if _, err := q.db.Write.ExecContext(ctx, `INSERT INTO links (folded, id, owner_id, target, external, created_at)
		VALUES ($1, $1, $2, $3, 1, $4)`, id, owner, target, now); err != nil {
		q.t.Fatal(err)
	}
	return q.Queue.Enqueue(ctx, target)
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
